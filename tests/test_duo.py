"""Duo / UDLM teacher and the Gaussian duality, against exact answers on a toy distribution.

The exact uniform-state denoiser is built here by enumerating the V^L clean sequences of a toy pmf:
    p(x | z_t) ∝ pmf(x) Π_l q(z_t^l | x^l),     q(z_t^l | x^l) = α δ(z_t^l, x^l) + (1 − α)/V.
Two versions:
    "elbo_optimal"   x_θ^l ∝ p(x^l | z_t) / q(z_t^l | x^l) = p(x^l | z_t^{−l}) — the denoiser for which Duo's
                     linear plug-in posterior (teachers/duo.py eq. 1) is the exact reverse process;
    "posterior_mean" x_θ^l = p(x^l | z_t) — the naive choice; a *wrong* denoiser under this parameterization, so it
                     serves as a principled "perturbed" denoiser in the NELBO test.
"""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from core.discrete_toy import all_sequences, pmf_entropy, sample_pmf, toy_pmf, total_variation
from core.gaussian_duality import GaussianDuality, duality_for_vocab, gaussian_coefficients
from core.networks.dit import DiT, dit_config
from teachers.duo import Curriculum, UniformDiffusion, sample

V, L = 3, 3


def exact_uniform_denoiser(pmf: torch.Tensor, kind: str = "elbo_optimal"):
    """The exact uniform-state denoiser as a "network": (x, sigma [B]) → log x_θ [B, L, V] (float64), α = e^{−σ}.

    x: ids [B, L], or probability vectors [B, L, V] (read through argmax, for the curriculum's soft input).
    When all σ are equal (the samplers) the answer is tabulated over the V^L possible z_t and gathered.
    """
    if kind not in ("elbo_optimal", "posterior_mean"):
        raise ValueError(kind)
    vocab_size, length = pmf.shape[0], pmf.dim()
    seqs = all_sequences(vocab_size, length)
    log_pmf = pmf.reshape(-1).log()
    onehot = torch.nn.functional.one_hot(seqs, vocab_size).double()                         # [N, L, V]
    powers = vocab_size ** torch.arange(length - 1, -1, -1)

    def log_x_theta(z: torch.Tensor, alpha: torch.Tensor) -> torch.Tensor:               # z [B, L], alpha [B]
        a = alpha.double()[:, None, None]
        log_keep, log_move = torch.log(a + (1 - a) / vocab_size), torch.log((1 - a) / vocab_size)
        same = z[:, None, :] == seqs[None]                                                   # [B, N, L]
        log_post = log_pmf + torch.where(same, log_keep, log_move).sum(-1)                   # [B, N]
        mean = torch.einsum("bn,nlv->blv", log_post.softmax(-1), onehot)                     # p(x^l = v | z)
        if kind == "posterior_mean":
            return mean.log()
        q_zt_given_v = a * torch.nn.functional.one_hot(z, vocab_size) + (1 - a) / vocab_size
        leave_one_out = mean / q_zt_given_v
        return (leave_one_out / leave_one_out.sum(-1, keepdim=True)).log()

    def network(x: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
        z = x if x.dim() == 2 else x.argmax(-1)
        alpha = torch.exp(-sigma.double())
        if torch.all(alpha == alpha[0]):
            table = log_x_theta(seqs, alpha[:1].expand(len(seqs)))                           # [N, L, V]
            return table[(z * powers).sum(-1)]
        return log_x_theta(z, alpha)
    return network


def expected_nelbo(process: UniformDiffusion, pmf: torch.Tensor, network, t: torch.Tensor) -> torch.Tensor:
    """E_{x ~ pmf, z_t ~ q} Σ_l (NELBO integrand) at each time in t [T], by exact enumeration of (x, z_t) → [T]."""
    seqs = all_sequences(V, L)
    n = len(seqs)
    x0 = seqs.repeat_interleave(n, 0).repeat(len(t), 1)                                  # [T·N·N, L]
    xt = seqs.repeat(n, 1).repeat(len(t), 1)
    tt = t.double().repeat_interleave(n * n)
    alpha, dalpha = process.schedule.alpha(tt), process.schedule.alpha_prime(tt)
    a = alpha[:, None]
    q_zt_given_x = torch.where(xt == x0, a + (1 - a) / V, (1 - a) / V).prod(-1)
    weight = pmf.reshape(-1).repeat_interleave(n).repeat(len(t)) * q_zt_given_x
    log_x_theta = process.denoiser_log_probs(network, xt, alpha).double()
    per_seq = process.nelbo_per_token(log_x_theta, xt, x0, alpha, dalpha).sum(-1)
    return (weight * per_seq).reshape(len(t), -1).sum(-1)


def integrate_over_t(process, pmf, network, t_lo: float, t_hi: float, nodes: int = 48) -> float:
    """∫_{t_lo}^{t_hi} E[NELBO integrand] dt by Gauss–Legendre in s with t = t_lo + (t_hi − t_lo) s³ (the integrand
    has a log singularity at t → 0, which the cube substitution smooths)."""
    s, w = np.polynomial.legendre.leggauss(nodes)
    s, w = torch.tensor((s + 1) / 2), torch.tensor(w / 2)
    t = t_lo + (t_hi - t_lo) * s ** 3
    jacobian = (t_hi - t_lo) * 3 * s ** 2
    return float((w * jacobian * expected_nelbo(process, pmf, network, t)).sum())


@pytest.fixture(scope="module")
def pmf():
    return toy_pmf(V, L, seed=3)


# --- Gaussian duality ------------------------------------------------------------------------------------------------
def test_duality_closed_form_for_two_tokens():
    # V = 2: P(argmax = x) = P(α̃ + σ̃ ε₁ > σ̃ ε₂) = Φ(μ/√2), μ = α̃/σ̃, so α_t = 2Φ(μ/√2) − 1.
    gamma = torch.linspace(-6, 6, 25, dtype=torch.float64)
    mu = torch.exp(-gamma / 2)
    expected = 2 * torch.special.ndtr(mu / math.sqrt(2)) - 1
    assert torch.allclose(GaussianDuality(2).alpha(gamma), expected, atol=1e-7)


def gamma_from_alpha_tilde(alpha_tilde: torch.Tensor) -> torch.Tensor:
    """Inverse of α̃(γ) = sqrt(sigmoid(−γ)): γ = log(σ̃² / α̃²) = log((1 − α̃²) / α̃²)."""
    a2 = alpha_tilde ** 2
    return torch.log1p(-a2) - torch.log(a2)


@pytest.mark.parametrize("vocab_size", [5, 66])
def test_argmax_of_gaussian_latent_is_uniform_state_sample(vocab_size):
    torch.manual_seed(0)
    duality = duality_for_vocab(vocab_size)
    n = 400_000
    for alpha_tilde in (0.15, 0.35, 0.6):
        gamma = gamma_from_alpha_tilde(torch.tensor(alpha_tilde, dtype=torch.float64))
        a_t, s_t = gaussian_coefficients(gamma)
        assert abs(float(a_t) - alpha_tilde) < 1e-12 and abs(float(a_t ** 2 + s_t ** 2) - 1) < 1e-12
        x0 = torch.zeros(n, 1, dtype=torch.long)
        xt = duality.latent(x0, gamma.float().expand(n)).argmax(-1).squeeze(-1)
        p_hat = (xt == 0).double().mean()
        p_theory = float(duality.alpha(gamma)) + (1 - float(duality.alpha(gamma))) / vocab_size
        se = math.sqrt(p_theory * (1 - p_theory) / n)
        assert se < 8e-4 and abs(float(p_hat) - p_theory) < max(4 * se, 1e-3)
        # given a move, every other token is equally likely (the "uniform" in uniform-state)
        moved = torch.bincount(xt[xt != 0], minlength=vocab_size)[1:].double()
        if vocab_size == 5:
            expected = moved.sum() / (vocab_size - 1)
            assert ((moved - expected).abs() < 5 * expected.sqrt()).all()


def test_duality_inverse_and_derivative():
    duality = duality_for_vocab(66)
    gamma = torch.linspace(-4.5, 3.0, 31, dtype=torch.float64)
    alpha = duality.alpha(gamma)
    assert (alpha.diff() < 0).all()                                   # T decreases with the noise level
    assert torch.allclose(duality.gamma(alpha), gamma, atol=1e-4)
    h = 1e-4
    finite_diff = (duality.alpha(gamma + h) - duality.alpha(gamma - h)) / (2 * h)
    assert torch.allclose(duality.dalpha_dgamma(gamma), finite_diff, atol=1e-4, rtol=1e-3)


# --- process, loss, sampler ------------------------------------------------------------------------------------------
def test_posterior_with_clean_x_matches_bayes_rule():
    process = UniformDiffusion(V)
    torch.manual_seed(1)
    x0, xt = torch.randint(0, V, (64, L)), torch.randint(0, V, (64, L))
    a_t, a_s = torch.full((64,), 0.3, dtype=torch.float64), torch.full((64,), 0.7, dtype=torch.float64)
    post = process.posterior_probs(torch.nn.functional.one_hot(x0, V).double(), xt, a_t, a_s)
    # brute force: q(z_s = j | x) q(z_t | z_s = j) / q(z_t | x)
    onehot = torch.eye(V, dtype=torch.float64)
    q_s = 0.7 * onehot[x0] + 0.3 / V                                          # [B, L, V] over j
    q_t_given_s = (0.3 / 0.7) * onehot[xt] + (1 - 0.3 / 0.7) / V              # as a function of j
    brute = q_s * q_t_given_s
    assert torch.allclose(post, brute / brute.sum(-1, keepdim=True), atol=1e-12)
    assert torch.allclose(post.sum(-1), torch.ones(64, L, dtype=torch.float64), atol=1e-12)


def test_nelbo_with_exact_denoiser_equals_entropy(pmf):
    process = UniformDiffusion(V)
    entropy = pmf_entropy(pmf)
    exact = exact_uniform_denoiser(pmf, "elbo_optimal")
    # 1. deterministic: enumerate (x, z_t), integrate t by quadrature. The bound is tight up to the prior terms
    #    KL(q(z_1 | x) ‖ uniform) = O(α_1²) with α_1 = 1e-3 (measured: NELBO − H = −2.8e-6 nats).
    full = integrate_over_t(process, pmf, exact, 0.0, 1.0)
    assert abs(full - entropy) < 2e-5, (full, entropy)
    # 2. a wrong denoiser gives a strictly larger bound
    naive = integrate_over_t(process, pmf, exact_uniform_denoiser(pmf, "posterior_mean"), 0.0, 1.0)
    assert naive > entropy + 0.01, (naive, entropy)

    def noisy(x, sigma):
        logits = exact(x, sigma)
        return logits + 0.3 * torch.sin(7.0 * torch.arange(logits.numel()).reshape(logits.shape))
    assert integrate_over_t(process, pmf, noisy, 0.0, 1.0) > entropy + 0.01
    # 3. Monte Carlo through the training path (forward_sample, antithetic t ∈ [t_min, 1]): agrees with the exact
    #    expectation over [t_min, 1] within the standard error, and with H up to the dropped [0, t_min] piece.
    torch.manual_seed(0)
    n = 100_000
    x0 = sample_pmf(pmf, n)
    t = torch.rand(n, dtype=torch.float64) * (1 - process.t_min) + process.t_min
    xt = process.forward_sample(x0, t)
    alpha = process.schedule.alpha(t)
    log_x_theta = process.denoiser_log_probs(exact, xt, alpha).double()
    per_seq = process.nelbo_per_token(log_x_theta, xt, x0, alpha, process.schedule.alpha_prime(t)).sum(-1)
    mc, se = float(per_seq.mean()), float(per_seq.std() / math.sqrt(n))
    truncated = integrate_over_t(process, pmf, exact, process.t_min, 1.0) / (1 - process.t_min)
    assert se < 0.05 and abs(mc - truncated) < 4 * se, (mc, truncated, se)
    assert 0 < entropy - truncated < 0.02        # the [0, t_min] piece Duo's training skips (measured 0.013 nats)
    loss, metrics = process.loss(exact, x0[:4096])                     # the batch entry point runs and is per token
    assert loss.ndim == 0 and abs(float(loss) * L - entropy) < 0.5 and set(metrics) == {"nelbo", "bpt"}


def test_ancestral_sampler_reproduces_pmf(pmf):
    process = UniformDiffusion(V)
    rng = torch.Generator().manual_seed(0)
    tokens, nfe = sample(process, exact_uniform_denoiser(pmf), batch_size=100_000, length=L, steps=64,
                         rng=rng)
    assert nfe == 65 and tokens.shape == (100_000, L)
    tv = total_variation(tokens, pmf)
    assert tv < 0.02, tv                                   # measured 0.011 (0.007 at 128 steps, 0.038 at 16)
    # few steps: the per-position factorisation error is visible
    few, _ = sample(process, exact_uniform_denoiser(pmf), batch_size=20_000, length=L, steps=2,
                    rng=rng)
    assert total_variation(few, pmf) > tv + 0.02


def test_sampler_variants(pmf):
    process = UniformDiffusion(V)
    net = exact_uniform_denoiser(pmf)
    greedy, nfe = sample(process, net, batch_size=64, length=L, steps=4, noise_removal="greedy")
    assert nfe == 5 and greedy.shape == (64, L)
    _, nfe_none = sample(process, net, batch_size=8, length=L, steps=4, noise_removal="none")
    assert nfe_none == 4
    # temperature < 1 and nucleus both sharpen x_θ, so the output distribution moves away from the pmf
    rng = torch.Generator().manual_seed(0)
    exact_tv = total_variation(sample(process, net, batch_size=5000, length=L, steps=16, rng=rng)[0], pmf)
    for knobs in ({"temperature": 0.5}, {"top_p": 0.5}):
        sharp, _ = sample(process, net, batch_size=5000, length=L, steps=16, rng=rng, **knobs)
        assert total_variation(sharp, pmf) > exact_tv + 0.05, knobs
    with pytest.raises(ValueError, match="noise_removal"):
        sample(process, net, batch_size=2, length=L, steps=2, noise_removal="argmax")


# --- curriculum ------------------------------------------------------------------------------------------------------
def test_curriculum_tau_schedule():
    c = Curriculum(tau_log10_start=-1.0, tau_log10_end=-2.0, start=100, end=200)
    assert c.tau(0) == pytest.approx(0.1) and c.tau(100) == pytest.approx(0.1)
    assert c.tau(150) == pytest.approx(10 ** -1.5) and c.tau(200) == pytest.approx(0.01)
    assert c.active(200) and not c.active(201)
    with pytest.raises(ValueError, match="start <= end"):
        Curriculum(start=10, end=5)


def test_curriculum_loss_matches_exact_nelbo_over_its_alpha_range(pmf):
    """The curriculum draws z_t = argmax(α̃ x + σ̃ ε) and uses α_t = T(γ_t), α'_t = T'(γ_t)(γ_max − γ_min). If T,
    T' and the argmax sampling are consistent, the MC loss with the exact denoiser equals the exact NELBO integral
    over the same α range (the integrand is α' g(α), so reparametrising time leaves it unchanged)."""
    curriculum = Curriculum(start=0, end=10, gamma_min=-4.0, gamma_max=2.0)
    process = UniformDiffusion(V, t_min=1e-3, curriculum=curriculum)
    duality = duality_for_vocab(V)
    torch.manual_seed(0)
    n = 100_000
    x0 = sample_pmf(pmf, n)
    t = torch.rand(n) * (1 - process.t_min) + process.t_min
    exact = exact_uniform_denoiser(pmf)
    loss, metrics = process.loss(exact, x0, step=5, t=t)                # the network sees softmax(w/τ) → argmax
    assert float(metrics["tau"]) == pytest.approx(10 ** -1.5)
    # same α range on the log-linear schedule: t_ll = (1 − α) / (1 − eps)
    g_lo = curriculum.gamma_min + process.t_min * (curriculum.gamma_max - curriculum.gamma_min)
    a_hi, a_lo = (float(duality.alpha(torch.tensor(g, dtype=torch.float64))) for g in (g_lo, curriculum.gamma_max))
    eps = process.schedule.eps
    reference = integrate_over_t(process, pmf, exact, (1 - a_hi) / (1 - eps), (1 - a_lo) / (1 - eps))
    reference /= (1 - process.t_min) * L                                 # E over t ~ U[t_min, 1], per token
    assert abs(float(loss) - reference) < 0.02 * reference + 0.005, (float(loss), reference)


def test_curriculum_step_trains_a_dit():
    torch.manual_seed(0)
    net = DiT(dit_config("tiny", 11))
    torch.nn.init.normal_(net.output_layer.linear.weight, std=0.5)      # zero-init would block the gradient
    process = UniformDiffusion(11, curriculum=Curriculum(start=0, end=5))
    x0 = torch.randint(0, 11, (4, 6))
    loss, _ = process.loss(net, x0, step=0)
    loss.backward()
    assert torch.isfinite(loss) and net.vocab_embed.embedding.grad.abs().sum() > 0   # gradient reaches the soft lookup
    plain, metrics = process.loss(net, x0, step=6)                      # after the curriculum: plain UDLM
    assert torch.isfinite(plain) and "tau" not in metrics


# --- backbone soft input ---------------------------------------------------------------------------------------------
def test_dit_soft_onehot_input_matches_ids():
    torch.manual_seed(0)
    net = DiT(dit_config("tiny", 7)).eval()
    torch.nn.init.normal_(net.output_layer.linear.weight, std=0.5)      # zero-init would make any check trivial
    torch.nn.init.normal_(net.output_layer.adaLN_modulation.weight, std=0.5)
    for block in net.blocks:
        torch.nn.init.normal_(block.adaLN_modulation.weight, std=0.1)
    ids = torch.randint(0, 7, (3, 5))
    sigma = torch.tensor([0.1, 1.0, 3.0])
    hard = net(ids, sigma)
    soft = net(torch.nn.functional.one_hot(ids, 7).float(), sigma)
    assert hard.std() > 0.1
    assert torch.allclose(hard, soft, atol=1e-5)
