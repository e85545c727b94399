"""SEDD-absorbing teacher against ground truth on a toy pmf (issue 4), plus a tiny-DiT smoke test."""
import math

import pytest
import torch

from core.discrete_toy import all_sequences, exact_denoiser, pmf_entropy, sample_pmf, total_variation, toy_pmf
from core.errors import ConfigError
from core.networks.dit import DiT, dit_config
from teachers.sedd import AbsorbingScoreProcess, sample

V, L = 3, 3


def exact_sedd_network(pmf, mask_id, *, blend_uniform: float = 0.0):
    """The exact denoiser in SEDD's output convention: o_v = log p(v | x_t) + log V (teachers/sedd.py docstring).
    blend_uniform > 0 gives a perturbed denoiser (1 − λ) p + λ / V."""
    exact = exact_denoiser(pmf, mask_id)

    def network(x, sigma):
        log_p = exact(x, sigma)
        if blend_uniform:
            clean = ((1 - blend_uniform) * log_p[..., :mask_id].exp() + blend_uniform / mask_id).log()
            log_p = torch.cat([clean, log_p[..., mask_id:]], dim=-1)
        return log_p + math.log(mask_id)
    return network


def brute_force_marginal(pmf, xt, t, schedule):
    """p_t(x_t) = Σ_x0 p(x0) Π_l q(x_t^l | x0^l) by enumeration. xt: [L] ids in [0, V]."""
    alpha = float(schedule.alpha(torch.tensor(t, dtype=torch.float64)))
    total = 0.0
    for x0, p in zip(all_sequences(V, L), pmf.reshape(-1)):
        q = 1.0
        for z, x in zip(xt.tolist(), x0.tolist()):
            q *= (1 - alpha) if z == V else (alpha if z == x else 0.0)
        total += float(p) * q
    return total


def test_log_score_of_exact_network_is_the_true_ratio():
    # ground truth: p_t(x_t with x^l ← v) / p_t(x_t) for every partially masked x_t, by enumerating the forward process
    pmf = toy_pmf(V, L, seed=1)
    process = AbsorbingScoreProcess(V)
    network = exact_sedd_network(pmf, process.mask_id)
    states = all_sequences(V + 1, L)                                         # every x_t in [0, V]^L
    states = states[(states == V).any(-1)]                                   # at least one mask
    for t in (0.05, 0.5, 0.97):
        log_score = process.log_score(network, states, torch.full((len(states),), t, dtype=torch.float64))
        for xt, row in zip(states, log_score):
            p_xt = brute_force_marginal(pmf, xt, t, process.schedule)
            for l in (xt == V).nonzero().flatten().tolist():
                for v in range(V):
                    y = xt.clone()
                    y[l] = v
                    ratio = brute_force_marginal(pmf, y, t, process.schedule) / p_xt
                    assert math.log(ratio) == pytest.approx(float(row[l, v]), abs=1e-9)
                assert float(row[l, V]) == 0.0                               # current token: ratio 1


def test_score_entropy_is_zero_at_true_ratio_and_positive_elsewhere():
    process = AbsorbingScoreProcess(V)
    sigma = torch.tensor([0.3, 2.0])
    x0 = torch.tensor([[0, 2], [1, 1]])
    xt = torch.tensor([[V, 2], [V, V]])
    ratio = 1.0 / torch.expm1(sigma)
    true = torch.full((2, 2, V + 1), -1e4, dtype=torch.float64)
    true.scatter_(-1, x0[..., None], ratio.log().double()[:, None, None].expand(2, 2, 1))
    true.scatter_(-1, xt[..., None], 0.0)
    entropy = process.score_entropy(true, sigma, xt, x0)
    assert entropy.abs().max() < 1e-12
    wrong = true + 0.5 * torch.randn(true.shape, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    wrong_entropy = process.score_entropy(wrong, sigma, xt, x0)
    masked = xt == V
    assert (wrong_entropy[masked] > 1e-4).all() and (wrong_entropy[~masked] == 0).all()


def test_analytic_step_at_one_position_is_the_exact_posterior():
    # L = 1: no factorisation error, so one analytic step is exactly the true reverse transition
    # q(x_s | x_t = m) = [(α_s − α_t) p(v) for v < V, 1 − α_s] / (1 − α_t)
    pmf = toy_pmf(V, 1, seed=2)
    process = AbsorbingScoreProcess(V)
    network = exact_sedd_network(pmf, process.mask_id)
    t, s = torch.tensor([0.7], dtype=torch.float64), torch.tensor([0.4], dtype=torch.float64)
    xt = process.prior_sample(1, 1)
    score = process.log_score(network, xt, t).exp()
    dsigma = process.schedule.sigma(t) - process.schedule.sigma(s)
    probs = (process.staggered_score(score, dsigma) * process.transp_transition(xt, dsigma, torch.float64))[0, 0]
    a_t, a_s = float(process.schedule.alpha(t)), float(process.schedule.alpha(s))
    expected = torch.cat([(a_s - a_t) * pmf, torch.tensor([1 - a_s], dtype=torch.float64)]) / (1 - a_t)
    torch.testing.assert_close(probs, expected, atol=1e-12, rtol=0)


@pytest.mark.parametrize("predictor", ["analytic", "euler"])
def test_samplers_reproduce_the_toy_pmf(predictor):
    pmf = toy_pmf(V, L, seed=0)
    process = AbsorbingScoreProcess(V)
    tokens, nfe = sample(process, exact_sedd_network(pmf, process.mask_id), batch_size=100_000, length=L, steps=50,
                         predictor=predictor, rng=torch.Generator().manual_seed(0))
    assert nfe == 51
    # sampling noise alone is ≈ ½ Σ_x sqrt(2 p(x) / (π n)) ≈ 0.006 here; 0.02 leaves room for the O(L²/K) leap error
    # (measured: 0.013 at K = 50, 0.007 at K = 100)
    assert total_variation(tokens, pmf) <= 0.02


def test_analytic_and_euler_steps_coincide_for_the_loglinear_schedule():
    # e^{Δσ} − 1 = (t − s) σ'(t) for σ = −log(1 − (1 − eps) t), so the two predictors' step distributions are equal
    pmf = toy_pmf(V, L, seed=4)
    process = AbsorbingScoreProcess(V)
    xt = torch.tensor([[V, 1, V], [V, V, V], [0, 2, 1]])
    t, s = torch.full((1,), 0.6, dtype=torch.float64), torch.full((1,), 0.55, dtype=torch.float64)
    score = process.log_score(exact_sedd_network(pmf, V), xt, t.expand(3)).exp()
    dsigma = process.schedule.sigma(t) - process.schedule.sigma(s)
    analytic = process.staggered_score(score, dsigma) * process.transp_transition(xt, dsigma, torch.float64)
    euler = torch.nn.functional.one_hot(xt, V + 1).double() + (t - s) * process.schedule.dsigma(t) * \
        process.reverse_rate(xt, score)
    torch.testing.assert_close(analytic, euler, atol=1e-12, rtol=0)
    torch.testing.assert_close(analytic.sum(-1), torch.ones(3, L, dtype=torch.float64))


def test_dse_nelbo_of_exact_denoiser_is_the_entropy():
    # E_x E_t E_{x_t} Σ_l σ' SE = E_x[−log p(x)] = H at the exact score (DSE bound is tight), up to O(eps, t_min)
    pmf = toy_pmf(V, L, seed=0)
    process = AbsorbingScoreProcess(V)
    n = 400_000
    x0 = sample_pmf(pmf, n, rng=torch.Generator().manual_seed(1))
    t = (1 - process.t_min) * torch.rand(n, dtype=torch.float64, generator=torch.Generator().manual_seed(2))
    t = t + process.t_min
    entropy = pmf_entropy(pmf)

    def nelbo_draws(network):  # [n] whole-sequence nats; the same masks for every network (common random numbers)
        xt = process.forward_sample(x0, t, rng=torch.Generator().manual_seed(3))
        return process.token_loss(network, x0, xt, xt, t).sum(-1)

    exact = nelbo_draws(exact_sedd_network(pmf, process.mask_id))
    stderr = float(exact.std()) / math.sqrt(n)
    # bias allowance: the dropped t < t_min slice and the unmasked eps mass at t = 1 each cost ≲ (t_min + eps)·L·log V
    bias = (process.t_min + process.schedule.eps) * L * math.log(V)
    assert abs(float(exact.mean()) - entropy) < 4 * stderr + bias, (float(exact.mean()), entropy, stderr)
    # a perturbed denoiser (30% uniform blend) pays clearly more: paired difference ≫ its standard error
    gap = nelbo_draws(exact_sedd_network(pmf, process.mask_id, blend_uniform=0.3)) - exact
    gap_stderr = float(gap.std()) / math.sqrt(n)
    assert float(gap.mean()) > max(10 * gap_stderr, 0.05), (float(gap.mean()), gap_stderr)


def test_tiny_dit_loss_backward_and_samplers():
    torch.manual_seed(0)
    vocab = 5
    process = AbsorbingScoreProcess(vocab, eps=1e-3)
    network = DiT(dit_config("tiny", vocab + 1))
    x0 = torch.randint(0, vocab, (4, 8))
    loss, metrics = process.loss(network, x0, attention_mask=torch.ones(4, 8))
    assert set(metrics) == {"nelbo", "bpt"} and loss.ndim == 0 and loss.item() >= 0
    loss.backward()
    iid_loss, _ = process.loss(network, x0, antithetic=False)
    assert torch.isfinite(iid_loss) and iid_loss.item() >= 0
    grads = [p.grad for p in network.parameters() if p.grad is not None]
    assert grads and all(torch.isfinite(g).all() for g in grads)
    assert sum(g.abs().sum() for g in grads) > 0
    network.eval()
    for predictor in ("analytic", "euler"):
        tokens, nfe = sample(process, network, batch_size=3, length=8, steps=4, predictor=predictor)
        assert tokens.shape == (3, 8) and nfe == 5
        assert tokens.min() >= 0 and tokens.max() < vocab
        tokens, nfe = sample(process, network, batch_size=3, length=8, steps=4, predictor=predictor, denoise=False)
        assert nfe == 4 and tokens.max() <= vocab
        tokens, _ = sample(process, network, batch_size=3, length=8, steps=4, predictor=predictor, float64=False)
        assert tokens.shape == (3, 8) and tokens.max() < vocab


def test_unknown_predictor_is_a_config_error():
    with pytest.raises(ConfigError, match="'heun'.*analytic"):
        sample(AbsorbingScoreProcess(V), exact_denoiser(toy_pmf(V, L), V), batch_size=1, length=L, steps=1,
               predictor="heun")


def test_tempered_score_keeps_the_mass_and_sharpens_masked_positions_only():
    from teachers.sedd import temper_score
    log_score = torch.log(torch.tensor([[[0.1, 0.3, 0.6, 1.0], [0.2, 1.0, 0.5, 0.7]]], dtype=torch.float64))
    xt = torch.tensor([[3, 1]])                                  # position 0 masked (mask id 3), position 1 clean
    assert torch.equal(temper_score(log_score, xt, 3, 1.0), log_score.exp())
    cold = temper_score(log_score, xt, 3, 0.5)
    expected = torch.tensor([0.01, 0.09, 0.36]) / 0.46 * 1.0      # p^(1/T) renormalised, times the mass 1.0
    torch.testing.assert_close(cold[0, 0, :3], expected.double())
    assert cold[0, 0, 3] == 1.0 and torch.equal(cold[0, 1], log_score[0, 1].exp())
    with pytest.raises(ValueError, match="temperature"):
        temper_score(log_score, xt, 3, 0.0)
