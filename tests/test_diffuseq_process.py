"""DiffuSeqProcess: sqrt schedule values, timestep scaling, partial noising, the loss and its terms, the loss-aware
timestep sampler, and the respacing plans."""
import math

import pytest
import torch

from teachers.diffuseq import (DiffuSeqProcess, LossSecondMomentResampler, make_timestep_sampler, sqrt_alpha_bars,
                               step_plan, target_recovery, token_nll)
from tests.test_diffuseq_toy import MASK, PMF, SOURCE_TOKEN, ExactDenoiser, toy_batch


def test_sqrt_schedule_values():
    T = 2000
    ab = sqrt_alpha_bars(T)
    f = lambda s: 1 - math.sqrt(s + 1e-4)   # noqa: E731  DiffuSeq's ᾱ(s)
    # betas_for_alpha_bar telescopes: ᾱ_t = ᾱ((t+1)/T) / ᾱ(0) until the last β is clipped to 0.999 (ᾱ(1) < 0)
    for t in (0, 1, 999, T - 2):
        assert ab[t].item() == pytest.approx(f((t + 1) / T) / f(0), rel=1e-10)
    assert ab[0].item() == pytest.approx(0.985359, abs=1e-6)
    assert ab[T - 1].item() == pytest.approx(ab[T - 2].item() * (1 - 0.999), rel=1e-10)
    assert bool((ab[1:] < ab[:-1]).all())


def test_model_time_rescaling():
    t = torch.tensor([0, 1000, 1999])
    assert torch.equal(DiffuSeqProcess(2000).model_time(t), torch.tensor([0.0, 500.0, 999.5]))
    assert torch.equal(DiffuSeqProcess(2000, rescale_timesteps=False).model_time(t), t)


def test_forward_sample_partial_noising():
    p = DiffuSeqProcess(100)
    x0, noise = torch.randn(2, 5, 3), torch.randn(2, 5, 3)
    mask = torch.tensor([[0, 0, 1, 1, 1], [0, 1, 1, 1, 1]])
    t = torch.tensor([10, 99])
    xt = p.forward_sample(x0, t, noise, mask)
    keep = mask == 0
    assert torch.equal(xt[keep], x0[keep])
    ab = p.alpha_bars[t].float().view(2, 1, 1)
    expect = ab.sqrt() * x0 + (1 - ab).sqrt() * noise
    assert torch.allclose(xt[~keep], expect.expand_as(xt)[~keep])


def test_loss_terms_match_their_definitions():
    torch.manual_seed(0)
    p = DiffuSeqProcess(100)
    model = ExactDenoiser(p)
    ids, mask = toy_batch(4)
    t = torch.tensor([0, 5, 50, 99])
    loss, m = p.training_loss(model, ids, mask, t=t, rng=torch.Generator().manual_seed(1))
    # replay the same draws to check each term independently
    g = torch.Generator().manual_seed(1)
    x_emb = model.get_embeds(ids)
    x0 = x_emb + math.sqrt(1 - p.alpha_bars[0].item()) * torch.randn(x_emb.shape, generator=g)
    xt = p.forward_sample(x0, t, torch.randn(x0.shape, generator=g), mask)
    out = model(xt, p.model_time(t))
    mse = ((x0 - out) ** 2).mean(dim=(1, 2))
    mse[0] = ((x_emb[0] - out[0]) ** 2).mean()                 # t = 0 regresses onto the clean embedding
    tT = p.alpha_bars[-1].item() * (x0 ** 2).mean(dim=(1, 2))
    nll = torch.nn.functional.cross_entropy(model.get_logits(x0).flatten(0, 1), ids.flatten(), reduction="none")
    expect = mse + nll.view(4, 3).mean(-1) + tT
    assert loss.item() == pytest.approx(expect.mean().item(), rel=1e-5)
    assert m["mse"] == pytest.approx(mse.mean().item(), rel=1e-5)
    assert m["tT"] == pytest.approx(tT.mean().item(), rel=1e-5)
    assert m["nll"] == pytest.approx(token_nll(model.get_logits(out), ids, mask).mean().item(), rel=1e-5)
    assert set(m) == {"loss", "mse", "decoder_nll", "tT", "nll"}


def test_exact_denoiser_has_lower_loss_than_perturbed():
    """Averaged over t ≥ 1, E[x0 | z_t] (with x0's own √(1−ᾱ_0) smoothing) minimises the x0-regression term."""
    p = DiffuSeqProcess(100)
    exact = ExactDenoiser(p, x0_noise_var=1 - p.alpha_bars[0].item())
    ids, mask = toy_batch(4000)
    t = torch.randint(1, 100, (4000,), generator=torch.Generator().manual_seed(0))

    class Perturbed(ExactDenoiser):
        def forward(self, x, t_model):
            return super().forward(x, t_model) * 1.05 + 0.02

    losses = {}
    for name, model in (("exact", exact), ("perturbed", Perturbed(p, exact.s2)),
                        ("clean-target", ExactDenoiser(p, 0.0))):
        _, m = p.training_loss(model, ids, mask, t=t, rng=torch.Generator().manual_seed(1))
        losses[name] = m["mse"]
    assert losses["exact"] < losses["perturbed"]
    assert losses["exact"] < losses["clean-target"]


def test_token_nll_masked_mean():
    logits = torch.log(torch.tensor([[[0.5, 0.5], [0.9, 0.1], [0.2, 0.8]]]))
    ids, mask = torch.tensor([[0, 1, 1]]), torch.tensor([[0, 1, 1]])
    assert token_nll(logits, ids, mask).item() == pytest.approx(-(math.log(0.1) + math.log(0.8)) / 2, rel=1e-6)
    assert token_nll(logits, ids).item() == pytest.approx(-(math.log(0.5 * 0.1 * 0.8)) / 3, rel=1e-6)


def test_loss_aware_resampler():
    s = LossSecondMomentResampler(num_steps=3, history=2, uniform_prob=0.0)
    assert s.probabilities() == pytest.approx([1 / 3] * 3)     # uniform until every t has a full history
    s.update(torch.tensor([0, 0, 1, 1, 2]), torch.tensor([1.0, 1.0, 2.0, 2.0, 3.0]))
    assert s.probabilities() == pytest.approx([1 / 3] * 3)
    s.update(torch.tensor([2, 2]), torch.tensor([3.0, 5.0]))   # t = 2 history shifts to [3, 5]
    rms = [1.0, 2.0, math.sqrt(17)]
    assert s.probabilities() == pytest.approx([r / sum(rms) for r in rms])
    t, w = s.sample(20000, "cpu", torch.Generator().manual_seed(0))
    assert torch.bincount(t, minlength=3).float().div(20000).tolist() == pytest.approx(s.probabilities(), abs=0.015)
    assert torch.allclose(w, 1 / (3 * torch.tensor(s.probabilities())[t]).float())
    restored = LossSecondMomentResampler(num_steps=3, history=2, uniform_prob=0.0)
    restored.load_state_dict(s.state_dict())
    assert restored.probabilities() == pytest.approx(s.probabilities())


def test_process_rejects_unknown_sampler():
    with pytest.raises(ValueError, match="unknown timestep_sampler"):
        make_timestep_sampler("importance", 10)


def test_step_plan_kept_uses_previous_kept_level():
    p = DiffuSeqProcess(2000)
    ab = p.alpha_bars
    t, a, a_prev = step_plan(p, 10, "kept")
    assert t.tolist() == list(range(1999, 0, -200))
    assert a_prev[0].item() == ab[1799].item()                 # jump 1999 → 1799 lands on ᾱ of the next kept step
    assert a_prev[-1].item() == 1.0 and t[-1].item() == 199
    t_d, a_d, a_prev_d = step_plan(p, 10, "diffuseq")
    assert torch.equal(t_d, t) and torch.equal(a_d, a)
    assert a_prev_d[0].item() == ab[1998].item()               # DiffuSeq's ddim_sample: alphas_cumprod_prev[t]
    assert a_prev_d[-1].item() == ab[198].item()
    # K ∤ T: "kept" takes exactly K steps, DiffuSeq's gap list one more
    assert len(step_plan(p, 3, "kept")[0]) == 3 and step_plan(p, 3, "kept")[0].tolist() == [1999, 1332, 665]
    assert step_plan(p, 3, "diffuseq")[0].tolist() == [1999, 1333, 667, 1]


def test_step_plan_full_is_unrespaced_and_errors():
    p = DiffuSeqProcess(50)
    for mode in ("kept", "diffuseq"):
        t, a, a_prev = step_plan(p, 50, mode)
        assert t.tolist() == list(range(49, -1, -1))
        assert torch.equal(a, p.alpha_bars.flip(0))
        assert torch.equal(a_prev, torch.cat([p.alpha_bars[:-1].flip(0), torch.ones(1, dtype=torch.float64)]))
    with pytest.raises(ValueError, match="unknown respace"):
        step_plan(p, 10, "uniform")
    with pytest.raises(ValueError, match="steps must be in"):
        step_plan(p, 51, "kept")


def test_target_recovery_at_the_ends_of_the_schedule():
    """With the exact denoiser: at t = 0 rounding recovers (almost) every target token; at t = T−1 z_t carries no
    signal, f_θ is the prior mean of the embeddings, which rounds to token 0 (the most likely first AND second
    token of the PMF), so the recovery is exactly the fraction of target tokens equal to 0."""
    p = DiffuSeqProcess(100)
    model = ExactDenoiser(p, x0_noise_var=1 - p.alpha_bars[0].item())
    pairs = torch.multinomial(PMF.flatten(), 4000, replacement=True, generator=torch.Generator().manual_seed(0))
    ids = torch.stack([torch.full_like(pairs, SOURCE_TOKEN), pairs // 4, pairs % 4], dim=1)
    mask = MASK.repeat(len(ids), 1)
    rng = torch.Generator().manual_seed(1)
    assert target_recovery(p, model, ids, mask, 0, rng=rng) > 0.99
    assert target_recovery(p, model, ids, mask, 99, rng=rng) == pytest.approx(
        (ids[:, 1:] == 0).float().mean().item(), abs=1e-9)
    assert target_recovery(p, model, ids, mask, 99, ignore_id=0, rng=rng) == 0.0
