"""Published-checkpoint loaders: synthetic files with the exact published key names and layouts (tiny sizes)."""
import json
from collections import OrderedDict

import pytest
import torch
from safetensors.torch import save_file

from core.errors import ConfigError, DataError
from core.networks.dit import DiT, DiTConfig
from teachers.duo import UniformDiffusion
from teachers.mdlm import MaskedDiffusion
from teachers.published import convert_published, load_published
from teachers.registry import load_teacher
from teachers.sedd import AbsorbingScoreProcess

torch.set_num_threads(1)
V, HIDDEN, COND, HEADS, BLOCKS, LENGTH = 11, 32, 16, 2, 2, 8
MDLM_CONFIG = {"model_type": "mdlm", "vocab_size": V, "model_length": LENGTH, "hidden_dim": HIDDEN,
               "cond_dim": COND, "n_blocks": BLOCKS, "n_heads": HEADS, "dropout": 0.1, "time_conditioning": False}


def random_state(seed: int) -> OrderedDict:
    """A DiT state dict (registration order, as torch saves it) with every parameter random and non-zero."""
    torch.manual_seed(seed)
    net = DiT(DiTConfig(vocab_size=V, hidden_size=HIDDEN, cond_dim=COND, n_heads=HEADS, n_blocks=BLOCKS))
    with torch.no_grad():
        for p in net.parameters():
            p.copy_(torch.randn_like(p) * 0.3)
    return net.state_dict()


def reference_logits(state: dict, sigma: float = 0.7) -> torch.Tensor:
    net = DiT(DiTConfig(vocab_size=V, hidden_size=HIDDEN, cond_dim=COND, n_heads=HEADS, n_blocks=BLOCKS)).eval()
    net.load_state_dict(state)
    return net(INPUT, torch.full((2,), sigma))


INPUT = torch.randint(0, V, (2, LENGTH), generator=torch.Generator().manual_seed(0))


def logits(teacher, sigma: float = 0.7) -> torch.Tensor:
    return teacher.network(INPUT, torch.full((2,), sigma))


def write_hub_folder(folder, state: dict, config: dict, *, prefix: str = "backbone.", bin_file: bool = False):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.json").write_text(json.dumps(config))
    prefixed = {prefix + k: v.contiguous() for k, v in state.items()}
    if bin_file:
        torch.save(prefixed, folder / "pytorch_model.bin")
    else:
        save_file(prefixed, str(folder / "model.safetensors"))
    return folder


def write_lightning_ckpt(path, state: dict, shadow: list) -> None:
    """What the MDLM/Duo Lightning module saves, minus `hyper_parameters` (pickled OmegaConf: not weights-only)."""
    torch.save({"epoch": 3, "global_step": 1000, "pytorch-lightning_version": "2.2.1",
                "state_dict": OrderedDict(("backbone." + k, v) for k, v in state.items()),
                "loops": {"fit_loop": {"epoch_progress": {"current": {"completed": 3}}}},
                "optimizer_states": [], "lr_schedulers": [], "sampler": {"random_state": None},
                "ema": {"decay": 0.9999, "num_updates": 1000, "shadow_params": shadow, "collected_params": None}},
               path)


# --- each published layout -------------------------------------------------------------------------------------------
def test_mdlm_owt_layout_loads_every_key(tmp_path):
    state = random_state(1)
    folder = write_hub_folder(tmp_path / "mdlm-owt", state, MDLM_CONFIG)
    teacher = load_published(str(folder))
    assert teacher.family == "mdlm" and teacher.tokenizer_name == "gpt2" and teacher.seq_len == LENGTH
    loaded = teacher.network.state_dict()
    assert set(loaded) == set(state)
    assert all(torch.equal(loaded[k], state[k]) for k in state)
    assert teacher.network.config == DiTConfig(vocab_size=V, hidden_size=HIDDEN, cond_dim=COND, n_heads=HEADS,
                                               n_blocks=BLOCKS, dropout=0.1)
    assert isinstance(teacher.process, MaskedDiffusion)
    assert (teacher.process.vocab_size, teacher.process.mask_id, teacher.process.time_conditioning) == (V - 1, V - 1,
                                                                                                       False)
    assert not teacher.network.training and not any(p.requires_grad for p in teacher.network.parameters())
    assert torch.equal(logits(teacher), reference_logits(state))
    assert teacher.config["provenance"]["ignored_keys"] == []


def test_missing_rotary_buffer_is_recomputed(tmp_path):
    state = random_state(2)
    del state["rotary_emb.inv_freq"]
    teacher = load_published(str(write_hub_folder(tmp_path / "m", state, MDLM_CONFIG)), family="mdlm")
    head_dim = HIDDEN // HEADS
    expected = 1.0 / 10_000 ** (torch.arange(0, head_dim, 2).float() / head_dim)
    assert torch.allclose(teacher.network.rotary_emb.inv_freq, expected)


def test_sedd_small_layout(tmp_path):
    state = random_state(3)
    config = {"tokens": V - 1, "graph": {"type": "absorb"}, "noise": {"type": "loglinear", "eps": 1e-3},
              "model": {"name": "small", "type": "ddit", "hidden_size": HIDDEN, "cond_dim": COND, "length": LENGTH,
                        "n_blocks": BLOCKS, "n_heads": HEADS, "scale_by_sigma": True, "dropout": 0.1}}
    folder = write_hub_folder(tmp_path / "sedd-small", state, config, prefix="", bin_file=True)
    teacher = load_published(str(folder))  # family from the hydra config's `graph`
    assert teacher.family == "sedd" and teacher.seq_len == LENGTH
    assert isinstance(teacher.process, AbsorbingScoreProcess) and teacher.process.mask_id == V - 1
    assert torch.equal(logits(teacher, 0.3), reference_logits(state, 0.3))  # σ-conditioned network
    assert not torch.allclose(logits(teacher, 0.3), logits(teacher, 2.0))


def test_sedd_uniform_graph_is_refused(tmp_path):
    config = {"tokens": V, "graph": {"type": "uniform"},
              "model": {"hidden_size": HIDDEN, "cond_dim": COND, "n_blocks": BLOCKS, "n_heads": HEADS}}
    with pytest.raises(ConfigError, match="graph 'uniform'"):
        load_published(str(write_hub_folder(tmp_path / "s", random_state(3), config, prefix="")))


def test_duo_layout_from_hub_cache(tmp_path, monkeypatch):
    """`s-sahoo/duo-distilled` found in the HF cache (offline): family duo_distilled, uniform process over all
    outputs."""
    from huggingface_hub import constants
    cache = tmp_path / "hub"
    repo = cache / "models--s-sahoo--duo-distilled"
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text("abc123")
    state = random_state(4)
    write_hub_folder(repo / "snapshots" / "abc123", state, {**MDLM_CONFIG, "time_conditioning": True})
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(cache))
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    teacher = load_published("s-sahoo/duo-distilled")
    assert teacher.family == "duo_distilled"
    assert isinstance(teacher.process, UniformDiffusion) and teacher.process.vocab_size == V
    assert torch.equal(logits(teacher), reference_logits(state))


def test_lightning_ckpt_uses_ema_weights(tmp_path):
    raw, ema = random_state(5), random_state(6)
    shadow = [ema[name] for name, _ in DiT(DiTConfig(vocab_size=V, hidden_size=HIDDEN, cond_dim=COND,
                                                     n_heads=HEADS, n_blocks=BLOCKS)).named_parameters()]
    path = tmp_path / "duo.ckpt"  # Duo's Google-Drive file name -> family duo
    write_lightning_ckpt(path, raw, shadow)
    with_ema = load_published(str(path))
    without = load_published(str(path), use_ema=False)
    assert with_ema.family == "duo" and with_ema.seq_len == 1024  # no config: OWT default
    assert with_ema.network.config.n_heads == HEADS  # read off rotary_emb.inv_freq
    assert torch.equal(logits(with_ema), reference_logits(ema))
    assert torch.equal(logits(without), reference_logits(raw))
    assert with_ema.config["provenance"]["ema_used"] and not without.config["provenance"]["ema_used"]


def test_lightning_ckpt_with_config_beside_it(tmp_path):
    state = random_state(7)
    del state["rotary_emb.inv_freq"]
    path = tmp_path / "mdlm.ckpt"
    write_lightning_ckpt(path, state, [v for k, v in state.items()])
    with pytest.raises(DataError, match="attention heads"):
        load_published(str(path))
    (tmp_path / "config.json").write_text(json.dumps(MDLM_CONFIG))
    teacher = load_published(str(path))
    assert teacher.family == "mdlm" and teacher.network.config.n_heads == HEADS and teacher.seq_len == LENGTH


def test_round_trip_through_project_format(tmp_path):
    state = random_state(8)
    src = write_hub_folder(tmp_path / "mdlm-owt", state, MDLM_CONFIG)
    out = convert_published(str(src), tmp_path / "converted")
    original, reloaded = load_published(str(src)), load_teacher(out)
    assert reloaded.family == "mdlm" and reloaded.seq_len == LENGTH and reloaded.tokenizer_name == "gpt2"
    assert reloaded.process.config() == original.process.config()
    assert torch.equal(logits(reloaded), logits(original))
    assert reloaded.config["provenance"]["resolved"] == str(src)


# --- bad inputs ------------------------------------------------------------------------------------------------------
def test_unknown_family(tmp_path):
    folder = write_hub_folder(tmp_path / "m", random_state(1), MDLM_CONFIG)
    with pytest.raises(ConfigError, match="unknown teacher family 'ar'"):
        load_published(str(folder), family="ar")


def test_family_cannot_be_inferred(tmp_path):
    config = {k: v for k, v in MDLM_CONFIG.items() if k != "model_type"}
    with pytest.raises(ConfigError, match="cannot infer the teacher family"):
        load_published(str(write_hub_folder(tmp_path / "m", random_state(1), config)))


def test_missing_folder(tmp_path):
    with pytest.raises(DataError, match="no such file or folder"):
        load_published(str(tmp_path / "nowhere" / "model"))


def test_folder_without_weights(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps(MDLM_CONFIG))
    with pytest.raises(DataError, match="no weights file"):
        load_published(str(tmp_path), family="mdlm")


def test_wrong_key_lists_missing_and_unexpected(tmp_path):
    state = random_state(1)
    state["blocks.0.attn_qkvx.weight"] = state.pop("blocks.0.attn_qkv.weight")
    with pytest.raises(DataError) as err:
        load_published(str(write_hub_folder(tmp_path / "m", state, MDLM_CONFIG)))
    assert "missing keys ['blocks.0.attn_qkv.weight']" in str(err.value)
    assert "unexpected keys ['blocks.0.attn_qkvx.weight']" in str(err.value)


def test_config_disagreeing_with_weights(tmp_path):
    with pytest.raises(DataError, match=r"shape mismatches \['blocks.0.adaLN_modulation.weight"):
        load_published(str(write_hub_folder(tmp_path / "m", random_state(1), {**MDLM_CONFIG, "cond_dim": 8})))


def test_ema_length_mismatch(tmp_path):
    state = random_state(1)
    path = tmp_path / "mdlm.ckpt"
    write_lightning_ckpt(path, state, [state["vocab_embed.embedding"]])
    with pytest.raises(DataError, match="EMA has 1 shadow params"):
        load_published(str(path))
    assert load_published(str(path), use_ema=False).family == "mdlm"


class NotATensor:  # stands in for the OmegaConf / tokenizer objects of a real Lightning checkpoint
    pass


def test_pickled_objects_are_refused_with_workaround(tmp_path):
    path = tmp_path / "mdlm.ckpt"
    torch.save({"state_dict": {}, "hyper_parameters": {"config": NotATensor()}}, path)
    with pytest.raises(DataError, match=r"weights_only=True(.|\n)*weights_only=False"):
        load_published(str(path))


def test_hub_name_offline_fails_fast_and_says_what_to_do(tmp_path, monkeypatch):
    from huggingface_hub import constants
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "empty-cache"))
    with pytest.raises(DataError) as err:
        load_published("kuleshov-group/mdlm-owt")
    message = str(err.value)
    assert "kuleshov-group/mdlm-owt" in message and "HF_HUB_OFFLINE is set" in message
    assert "--local-dir" in message and "load_published('DIR'" in message
