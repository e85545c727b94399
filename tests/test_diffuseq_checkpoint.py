"""Published DiffuSeq checkpoint loader (synthetic file with the exact DiffuSeq key names, small shapes) and the
round trip through the project's own format."""
import json
from pathlib import Path

import pytest
import torch

from core.errors import ConfigError, DataError
from core.networks.diffuseq_net import DiffuSeqNet
from teachers.diffuseq_checkpoint import (configs_from_training_args, from_pretrained,
                                          load_published_checkpoint, save_pretrained)
from tests.test_diffuseq_net import diffuseq_keys

SIZES = dict(hidden_size=24, num_layers=2, num_heads=2, intermediate_size=48, max_position_embeddings=40,
             attention_dropout=0.1, layer_norm_eps=1e-12, hidden_act="gelu")
ARGS = {"hidden_dim": 8, "hidden_t_dim": 12, "seq_len": 32, "vocab_size": 17, "config_name": "bert-base-uncased",
        "dropout": 0.1, "diffusion_steps": 2000, "noise_schedule": "sqrt", "rescale_timesteps": True,
        "predict_xstart": True, "learn_sigma": False, "use_plm_init": "no", "checkpoint_path": "diffusion_models/x"}


def synthetic_diffuseq_state(ema_differs: bool = True) -> dict:
    """A state dict laid out exactly as DiffuSeq's TransformerNetModel saves it, shapes from SIZES/ARGS."""
    H, E, Dt, V, I = SIZES["hidden_size"], ARGS["hidden_dim"], ARGS["hidden_t_dim"], ARGS["vocab_size"], 48
    g = torch.Generator().manual_seed(0)
    shape = {"word_embedding.weight": (V, E), "lm_head.weight": (V, E), "lm_head.bias": (V,),
             "position_embeddings.weight": (40, H), "LayerNorm.weight": (H,), "LayerNorm.bias": (H,),
             "time_embed.0.weight": (4 * Dt, Dt), "time_embed.0.bias": (4 * Dt,), "time_embed.2.weight": (H, 4 * Dt),
             "time_embed.2.bias": (H,), "input_up_proj.0.weight": (H, E), "input_up_proj.0.bias": (H,),
             "input_up_proj.2.weight": (H, H), "input_up_proj.2.bias": (H,), "output_down_proj.0.weight": (H, H),
             "output_down_proj.0.bias": (H,), "output_down_proj.2.weight": (E, H), "output_down_proj.2.bias": (E,)}
    for n in range(2):
        for m in ("attention.self.query", "attention.self.key", "attention.self.value", "attention.output.dense"):
            shape[f"input_transformers.layer.{n}.{m}.weight"], shape[f"input_transformers.layer.{n}.{m}.bias"] = \
                (H, H), (H,)
        for m in ("attention.output.LayerNorm", "output.LayerNorm"):
            shape[f"input_transformers.layer.{n}.{m}.weight"] = shape[f"input_transformers.layer.{n}.{m}.bias"] = (H,)
        shape[f"input_transformers.layer.{n}.intermediate.dense.weight"] = (I, H)
        shape[f"input_transformers.layer.{n}.intermediate.dense.bias"] = (I,)
        shape[f"input_transformers.layer.{n}.output.dense.weight"] = (H, I)
        shape[f"input_transformers.layer.{n}.output.dense.bias"] = (H,)
    assert set(shape) == diffuseq_keys(2)
    state = {k: torch.randn(s, generator=g) for k, s in shape.items()}
    if not ema_differs:
        state["lm_head.weight"] = state["word_embedding.weight"].clone()
    state["position_ids"] = torch.arange(40).expand(1, -1)
    return state


def write_release(folder: Path, state: dict, args: dict = ARGS) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "training_args.json").write_text(json.dumps(args))
    path = folder / "ema_0.9999_050000.pt"
    torch.save(state, path)
    return path


def test_load_published_checkpoint_exact_keys(tmp_path):
    state = synthetic_diffuseq_state()
    model, process, info = load_published_checkpoint(write_release(tmp_path, state), bert_sizes=SIZES)
    assert info["tied_weights_differed"]
    assert model.lm_head.weight is model.word_embedding.weight
    # lm_head.weight wins, exactly as load_state_dict into DiffuSeq's tied model does
    assert torch.equal(model.word_embedding.weight, state["lm_head.weight"])
    for k, v in model.state_dict().items():
        if k not in ("word_embedding.weight", "lm_head.weight"):
            assert torch.equal(v, state[k]), k
    assert (model.config.emb_dim, model.config.hidden_t_dim, model.config.vocab_size) == (8, 12, 17)
    assert process.num_steps == 2000 and process.rescale_timesteps and not model.training
    out = model(torch.randn(2, 32, 8), process.model_time(torch.tensor([0, 1999])))
    assert out.shape == (2, 32, 8)


def test_published_loader_errors(tmp_path):
    state = synthetic_diffuseq_state()
    del state["LayerNorm.bias"]
    state["extra.weight"] = torch.zeros(1)
    with pytest.raises(DataError, match=r"missing keys \['LayerNorm.bias'\], unexpected keys \['extra.weight'\]"):
        load_published_checkpoint(write_release(tmp_path / "a", state), bert_sizes=SIZES)
    state = synthetic_diffuseq_state()
    state["lm_head.bias"] = torch.zeros(3)
    with pytest.raises(DataError, match=r"lm_head.bias: file \(3,\) vs model \(17,\)"):
        load_published_checkpoint(write_release(tmp_path / "b", state), bert_sizes=SIZES)
    with pytest.raises(DataError, match="checkpoint file not found"):
        load_published_checkpoint(tmp_path / "nope.pt")
    path = write_release(tmp_path / "c", synthetic_diffuseq_state())
    (path.parent / "training_args.json").unlink()
    with pytest.raises(DataError, match="training_args.json: not found"):
        load_published_checkpoint(path, bert_sizes=SIZES)
    path = write_release(tmp_path / "d", synthetic_diffuseq_state(), {**ARGS, "noise_schedule": "cosine"})
    with pytest.raises(ConfigError, match="noise_schedule='cosine' is not supported"):
        load_published_checkpoint(path, bert_sizes=SIZES)
    path = write_release(tmp_path / "e", synthetic_diffuseq_state(), {**ARGS, "config_name": "roberta-base"})
    with pytest.raises(ConfigError, match="config_name 'roberta-base' unknown"):
        load_published_checkpoint(path)
    path = write_release(tmp_path / "f", {})
    path.write_bytes(b"not a checkpoint")
    with pytest.raises(DataError, match="cannot read as a weights-only"):
        load_published_checkpoint(path, bert_sizes=SIZES)


def test_bert_base_config_without_download():
    net, process = configs_from_training_args({**ARGS, "hidden_dim": 128, "hidden_t_dim": 128, "vocab_size": 30522})
    assert (net.hidden_size, net.num_layers, net.num_heads, net.intermediate_size, net.max_position_embeddings,
            net.layer_norm_eps, net.emb_dim, net.vocab_size) == (768, 12, 12, 3072, 512, 1e-12, 128, 30522)
    assert process == {"num_steps": 2000, "rescale_timesteps": True}
    with pytest.raises(ConfigError, match="missing key 'vocab_size'"):
        configs_from_training_args({"hidden_dim": 128, "config_name": "bert-base-uncased"})


def test_round_trip_project_format(tmp_path):
    model, process, _ = load_published_checkpoint(write_release(tmp_path / "rel", synthetic_diffuseq_state()),
                                                  bert_sizes=SIZES)
    save_pretrained(model, process, tmp_path / "mine")
    assert sorted(p.name for p in (tmp_path / "mine").iterdir()) == ["config.json", "model.safetensors"]
    back, process_back = from_pretrained(tmp_path / "mine")
    assert isinstance(back, DiffuSeqNet) and back.config == model.config
    assert back.lm_head.weight is back.word_embedding.weight
    assert all(torch.equal(v, back.state_dict()[k]) for k, v in model.state_dict().items())
    assert (process_back.num_steps, process_back.rescale_timesteps) == (2000, True)
    x, t = torch.randn(1, 6, 8), torch.tensor([3.0])
    assert torch.equal(model(x, t), back(x, t))
    with pytest.raises(DataError, match="config.json: not found"):
        from_pretrained(tmp_path / "rel")
