"""DiffuSeq's distillation contract: the forward process with explicit (t, ε) and its gradient, the denoiser and its
x0-MSE, the hidden-state read-out, and that validation never touches the loss-aware t history."""
import math

import pytest
import torch

from core.errors import ConfigError, DataError
from core.networks.diffuseq_net import DiffuSeqNet, diffuseq_config
from teachers.diffuseq import DiffuSeqProcess, x0_mse
from tests.test_diffuseq_toy import ExactDenoiser, toy_batch


def test_forward_sample_gradient_is_alpha_on_targets_and_one_on_sources():
    p = DiffuSeqProcess(100)
    x0 = torch.randn(2, 3, 4, requires_grad=True)
    mask = torch.tensor([[0, 1, 1], [0, 0, 1]])
    t = torch.tensor([10, 70])
    p.forward_sample(x0, t, torch.randn(2, 3, 4), mask).sum().backward()
    alpha = p.alpha_bars[t].sqrt().float()
    expect = torch.where(mask[..., None] == 0, torch.ones(1), alpha.view(2, 1, 1)).expand(2, 3, 4)
    assert torch.allclose(x0.grad, expect)
    a, s = p.signal_and_noise(t, x0)
    assert torch.allclose(a ** 2 + s ** 2, torch.ones(2, 1, 1))


def test_denoise_and_its_x0_mse_on_the_exact_denoiser():
    p = DiffuSeqProcess(100)
    model = ExactDenoiser(p)
    ids, mask = toy_batch(3)
    x0 = model.get_embeds(ids)
    t = torch.tensor([0, 40, 99])
    zt = p.forward_sample(x0, t, torch.randn(x0.shape, generator=torch.Generator().manual_seed(0)), mask)
    pred = p.denoise(model, zt, t)
    assert torch.equal(pred, model(zt, p.model_time(t)))
    loss = x0_mse(p.denoise(model, zt, t), x0)
    assert loss.shape == (3, 3)
    assert torch.allclose(loss, ((x0 - pred) ** 2).sum(-1) / 4)
    assert loss[:, 0].abs().max() == 0.0                  # the exact denoiser returns the clean source


def test_training_loss_is_the_weighted_mean_of_training_losses():
    p = DiffuSeqProcess(100)
    model = ExactDenoiser(p)
    ids, mask = toy_batch(4)
    t, w = torch.tensor([1, 5, 50, 99]), torch.tensor([0.5, 1.0, 2.0, 0.5])
    per_example, _ = p.training_losses(model, ids, mask, t, torch.Generator().manual_seed(3))
    loss, m = p.training_loss(model, ids, mask, t=t, weights=w, rng=torch.Generator().manual_seed(3))
    assert loss.item() == pytest.approx((per_example * w).mean().item(), rel=1e-6)
    assert m["loss"] == pytest.approx(loss.item())


def test_hidden_states_read_out_is_the_forward_pass():
    torch.manual_seed(0)
    net = DiffuSeqNet(diffuseq_config("tiny", 11)).eval()
    x, t = torch.randn(2, 5, 16), torch.tensor([3.0, 700.0])
    h = net.hidden_states(x, t)
    assert h.shape == (2, 5, 32)
    assert torch.equal(net.read_out(h), net(x, t))


@pytest.fixture(scope="module")
def diffuseq_recipe_tiny(tmp_path_factory):
    from experiments.config import load_config
    from experiments.pretrain_diffuseq import diffuseq_recipe

    cfg = load_config(["teacher=diffuseq", "task=qqp", "preset=tiny", "data.seq_len=32", "train.batch_size=4",
                       "train.eval_batches=1", "diffuseq.val_sources=2", "diffuseq.val_steps=1",
                       "diffuseq.timestep_sampler=lossaware"])
    torch.manual_seed(0)
    recipe = diffuseq_recipe(cfg, torch.device("cpu"), {}, str(tmp_path_factory.mktemp("export")))
    return cfg, recipe


def test_training_updates_the_loss_aware_history_and_validation_does_not(diffuseq_recipe_tiny):
    from experiments.recipe import recipe_eval_fn

    cfg, r = diffuseq_recipe_tiny
    sampler = r.stateful["timestep_sampler"]
    batch = (r.train_rows[:4], 0)
    r.loss_fn(r.model.train(), batch)
    assert sampler.loss_counts.sum() == 4                  # one loss per example, at its own t
    before = {k: v.clone() for k, v in sampler.state_dict().items()}
    r.model.eval()
    with torch.no_grad():
        metrics = recipe_eval_fn(r, cfg, torch.device("cpu"))(r.model)
    assert math.isfinite(metrics["loss"]) and "bleu_1steps" in metrics
    after = sampler.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)


def test_init_from_loads_every_weight_and_refuses_another_tokenizer(diffuseq_recipe_tiny, tmp_path):
    from experiments.config import load_config
    from core.networks.hub import load_folder_weights
    from experiments.pretrain_diffuseq import diffuseq_recipe
    from experiments.seq2seq import build_tokenizer, train_pairs_and_examples
    from teachers.diffuseq_checkpoint import save_pretrained

    cfg, r = diffuseq_recipe_tiny
    _, spec = build_tokenizer(cfg, train_pairs_and_examples(cfg)[0])   # the spec the recipe exports
    torch.manual_seed(1)
    other = DiffuSeqNet(r.model.config)
    save_pretrained(other, DiffuSeqProcess(), tmp_path / "same", extra={"tokenizer": spec})
    fresh = DiffuSeqNet(r.model.config)
    load_folder_weights(fresh, tmp_path / "same")
    assert all(torch.equal(a, b) for a, b in zip(fresh.state_dict().values(), other.state_dict().values()))
    assert fresh.lm_head.weight is fresh.word_embedding.weight   # still tied after loading

    wider = DiffuSeqNet(diffuseq_config("tiny", r.model.config.vocab_size + 1))
    save_pretrained(wider, DiffuSeqProcess(), tmp_path / "wider", extra={"tokenizer": spec})
    with pytest.raises(DataError, match=r"init_from=.*wider: weights do not match .*shape mismatches \['lm_head"):
        load_folder_weights(fresh, tmp_path / "wider", source=f"train.init_from={tmp_path / 'wider'}")

    save_pretrained(other, DiffuSeqProcess(), tmp_path / "other-ids",
                    extra={"tokenizer": {**spec, "kept_ids": list(reversed(spec["kept_ids"]))}})
    def recipe_from(folder):
        args = ["teacher=diffuseq", "task=qqp", "preset=tiny", "data.seq_len=32", f"train.init_from={folder}"]
        return diffuseq_recipe(load_config(args), torch.device("cpu"), {}, str(tmp_path / "export"))

    recipe_from(tmp_path / "same")   # its own tokenizer passes
    with pytest.raises(ConfigError, match="other-ids: its tokenizer differs from the one task=qqp builds"):
        recipe_from(tmp_path / "other-ids")

