"""DiffuSeqNet: DiffuSeq's module names/shapes, tied LM head, presets, forward/backward on the tiny preset."""
import pytest
import torch

from core.networks.diffuseq_net import DIFFUSEQ_PRESETS, DiffuSeqNet, diffuseq_config, timestep_embedding


def diffuseq_keys(layers: int, with_projections: bool = True) -> set[str]:
    """The state-dict keys of Shark-NLP/DiffuSeq's TransformerNetModel (BERT encoder), minus its position_ids buffer."""
    keys = {"word_embedding.weight", "lm_head.weight", "lm_head.bias", "position_embeddings.weight",
            "LayerNorm.weight", "LayerNorm.bias"}
    keys |= {f"time_embed.{i}.{p}" for i in (0, 2) for p in ("weight", "bias")}
    if with_projections:
        keys |= {f"{m}.{i}.{p}" for m in ("input_up_proj", "output_down_proj") for i in (0, 2)
                 for p in ("weight", "bias")}
    per_layer = ["attention.self.query", "attention.self.key", "attention.self.value", "attention.output.dense",
                 "attention.output.LayerNorm", "intermediate.dense", "output.dense", "output.LayerNorm"]
    keys |= {f"input_transformers.layer.{n}.{m}.{p}" for n in range(layers) for m in per_layer
             for p in ("weight", "bias")}
    return keys


def test_tiny_keys_shapes_and_tied_head():
    cfg = diffuseq_config("tiny", vocab_size=11)
    net = DiffuSeqNet(cfg)
    state = net.state_dict()
    assert set(state) == diffuseq_keys(cfg.num_layers)
    assert net.lm_head.weight is net.word_embedding.weight
    assert state["input_up_proj.0.weight"].shape == (cfg.hidden_size, cfg.emb_dim)
    assert state["output_down_proj.2.weight"].shape == (cfg.emb_dim, cfg.hidden_size)
    assert state["time_embed.0.weight"].shape == (4 * cfg.hidden_t_dim, cfg.hidden_t_dim)
    assert state["time_embed.2.weight"].shape == (cfg.hidden_size, 4 * cfg.hidden_t_dim)
    assert state["position_embeddings.weight"].shape == (cfg.max_position_embeddings, cfg.hidden_size)
    assert state["input_transformers.layer.0.intermediate.dense.weight"].shape == (cfg.intermediate_size,
                                                                                   cfg.hidden_size)


def test_no_projections_when_embedding_equals_hidden():
    # DiffuSeq only builds input_up_proj / output_down_proj when input_dims != hidden_size
    net = DiffuSeqNet(diffuseq_config("tiny", vocab_size=7, emb_dim=32))
    assert set(net.state_dict()) == diffuseq_keys(1, with_projections=False)
    out = net(torch.randn(2, 5, 32), torch.tensor([0.0, 500.0]))
    assert out.shape == (2, 5, 32)


def test_forward_backward_tiny():
    torch.manual_seed(0)
    net = DiffuSeqNet(diffuseq_config("tiny", vocab_size=13))
    x = torch.randn(3, 7, 16)
    out = net(x, torch.tensor([0.0, 10.5, 999.5]))
    assert out.shape == (3, 7, 16) and out.dtype == x.dtype
    logits = net.get_logits(out)
    assert logits.shape == (3, 7, 13)
    logits.logsumexp(-1).mean().backward()
    assert net.word_embedding.weight.grad.abs().sum() > 0
    assert net.input_transformers.layer[0].output.dense.weight.grad.abs().sum() > 0
    assert torch.equal(net.get_embeds(torch.tensor([[4]])), net.word_embedding.weight[4][None, None])


def test_time_changes_output_and_bad_inputs_raise():
    torch.manual_seed(0)
    net = DiffuSeqNet(diffuseq_config("tiny", vocab_size=5)).eval()
    x = torch.randn(1, 4, 16)
    assert not torch.allclose(net(x, torch.tensor([0.0])), net(x, torch.tensor([900.0])))
    with pytest.raises(ValueError, match="max_position_embeddings"):
        net(torch.randn(1, 65, 16), torch.zeros(1))
    with pytest.raises(ValueError, match="t must have shape"):
        net(x, torch.zeros(2))
    with pytest.raises(ValueError, match="unknown DiffuSeq preset"):
        diffuseq_config("huge", vocab_size=5)


def test_timestep_embedding_values():
    emb = timestep_embedding(torch.tensor([0.0, 2.0]), 6)
    freqs = torch.tensor([1.0, 10_000 ** (-1 / 3), 10_000 ** (-2 / 3)])
    assert torch.allclose(emb[0], torch.tensor([1.0, 1, 1, 0, 0, 0]))
    assert torch.allclose(emb[1], torch.cat([torch.cos(2 * freqs), torch.sin(2 * freqs)]))


def test_presets_match_the_paper_and_base_key_layout():
    base = diffuseq_config("base", vocab_size=30522)
    assert (base.hidden_size, base.num_layers, base.num_heads, base.emb_dim, base.intermediate_size) == \
        (768, 12, 12, 128, 3072)
    assert set(DIFFUSEQ_PRESETS) == {"tiny", "small", "base"}
    with torch.device("meta"):   # no memory: only names and shapes
        net = DiffuSeqNet(base)
    assert set(net.state_dict()) == diffuseq_keys(12)
    assert sum(p.numel() for p in net.parameters()) > 90_000_000
