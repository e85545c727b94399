"""SDTT against ground truth: the round schedule, the teacher's time grids, the divergences' closed forms, and the
two-step teacher's targets on a toy pmf with an exact MDLM teacher, where the composite is computed by enumeration."""
import itertools
import math

import pytest
import torch

from baselines.rounds import round_starts
from baselines.sdtt import (EPS, SDTTSettings, sdtt_divergence, sdtt_loss, sdtt_step_size, teacher_targets,
                            teacher_times)
from core.discrete_toy import exact_denoiser, exact_masked_posterior, toy_pmf
from teachers.mdlm import MaskedDiffusion

V, L = 3, 3


def test_rounds_halve_the_steps_from_base_to_k_and_refresh_the_teacher_at_each_start():
    s = SDTTSettings(base_steps=1024, final_steps=8, steps_per_round=10)
    assert (s.rounds, s.total_steps) == (7, 70)
    unit = (1 - EPS) / 1024
    assert [sdtt_step_size(k, s) / unit for k in (0, 9, 10, 25, 69)] == [1, 1, 2, 4, 64]
    assert 2 * sdtt_step_size(69, s) == pytest.approx((1 - EPS) / 8)     # the last round's student step is 1/K
    with pytest.raises(ValueError, match="step 70 is past the last round"):
        sdtt_step_size(70, s)
    assert [k for k in range(70) if round_starts(k, s.steps_per_round)] == [0, 10, 20, 30, 40, 50, 60]
    for k in (12, 1024, 2048):
        with pytest.raises(ValueError, match="base_steps / K must be a power of two >= 2"):
            SDTTSettings(base_steps=1024, final_steps=k)
    with pytest.raises(ValueError, match="unknown SDTT loss 'l1'"):
        SDTTSettings(loss="l1")


def test_teacher_time_grids():
    t = torch.tensor([0.5, 1e-5])
    even, public = teacher_times(t, 1 / 16, "even"), teacher_times(t, 1 / 16, "public")
    torch.testing.assert_close(even, torch.tensor([[0.5, EPS], [0.4375, EPS]], dtype=torch.float64))
    # the public code's t + (1 - t)(t - 2dt) and (1 - t)(t - 2dt), clamped to >= eps
    torch.testing.assert_close(public, torch.tensor([[0.6875, EPS], [0.1875, EPS]], dtype=torch.float64))
    with pytest.raises(ValueError, match="teacher_grid 'odd'"):
        teacher_times(t, 0.1, "odd")


def test_divergences_closed_forms():
    s, q = [0.7, 0.2, 0.1], [0.2, 0.5, 0.3]
    log_s, log_q = torch.tensor([[s]]).log(), torch.tensor([[q]]).log()
    bwd = sum(a * math.log(a / b) for a, b in zip(s, q))
    fwd = sum(b * math.log(b / a) for a, b in zip(s, q))
    mse = sum(math.log(a / b) ** 2 for a, b in zip(s, q)) / 3
    for name, expected in (("kl-bwd", bwd), ("kl-fwd", fwd), ("mse", mse)):
        assert sdtt_divergence(log_s, log_q, name).item() == pytest.approx(expected, rel=1e-5)
    assert sdtt_divergence(log_s, log_s, "mse").item() == 0.0


def unmask_fraction(process, start: float, dt: float) -> float:
    a = process.schedule.alpha
    return float((a(torch.tensor(start - dt)) - a(torch.tensor(start))) / (1 - a(torch.tensor(start))))


def exact_composite(pmf, process, first_fraction: float) -> torch.Tensor:
    """E[T] [L, V] from the all-masked z_t by enumeration: a position unmasked in step 1 (probability π) targets
    p(x^l | z_t); any other targets p(x^l | z') at the step-1 output z', whose other positions were each unmasked with
    probability π and drawn independently from p(x^m | z_t). Step 2 does not change a target."""
    mask = process.mask_id
    zt = torch.full((1, L), mask)
    first = exact_masked_posterior(pmf, zt, mask)[0]                              # [L, V]
    expected = torch.zeros(L, V, dtype=torch.float64)
    for l in range(L):
        others = [m for m in range(L) if m != l]
        later = torch.zeros(V, dtype=torch.float64)
        for states in itertools.product(range(V + 1), repeat=len(others)):        # value, or V = still masked
            z, weight = zt.clone(), 1.0
            for m, state in zip(others, states):
                weight *= (1 - first_fraction) if state == V else first_fraction * float(first[m, state])
                z[0, m] = mask if state == V else state
            later += weight * exact_masked_posterior(pmf, z, mask)[0, l]
        expected[l] = first_fraction * first[l] + (1 - first_fraction) * later
    return expected


@pytest.mark.parametrize("grid, start", [("even", 0.8), ("public", 0.72)])   # public: 0.8 + (1 - 0.8)(0.8 - 1.2)
def test_two_step_targets_match_the_exact_composite_and_its_optimum_has_zero_gradient(grid, start):
    pmf = toy_pmf(V, L, seed=2, spread=3.0)
    process, teacher = MaskedDiffusion(V), exact_denoiser(pmf, V)
    n, t, dt = 160_000, 0.8, 0.6
    zt = torch.full((n, L), process.mask_id)
    torch.manual_seed(0)
    targets = teacher_targets(process, teacher, zt, torch.full((n,), t), dt, grid=grid)
    expected = exact_composite(pmf, process, unmask_fraction(process, start, dt))
    torch.testing.assert_close(targets.exp().mean(0).double(), expected, atol=0.006, rtol=0)   # MC error ~0.0012
    # the composite is not the teacher's one-step prediction (the factorisation error the student absorbs), by more
    # than the tolerance above
    one_step = exact_masked_posterior(pmf, zt[:1], process.mask_id)[0]
    assert (expected - one_step).abs().max() > 0.015
    # over these targets, kl-fwd is minimised by their mean and kl-bwd by their normalised geometric mean
    for loss, optimum in (("kl-fwd", targets.exp().mean(0).log()), ("kl-bwd", targets.mean(0).log_softmax(-1))):
        logits = optimum.clone().requires_grad_(True)
        sdtt_divergence(logits.log_softmax(-1).expand(n, L, V), targets, loss).mean().backward()
        assert logits.grad.abs().max() < 1e-6, loss
        moved = (optimum + torch.tensor([0.3, 0.0, -0.3])).requires_grad_(True)
        sdtt_divergence(moved.log_softmax(-1).expand(n, L, V), targets, loss).mean().backward()
        assert moved.grad.abs().max() > 1e-3, loss


@pytest.mark.parametrize("loss", ["kl-bwd", "kl-fwd", "mse"])
def test_loss_is_zero_when_the_student_is_the_composite(loss):
    """Independent positions: unmasking others tells nothing, so the composite is the teacher's own prediction and
    the exact teacher as student has loss 0; on correlated positions the same student has a positive loss."""
    marginals = torch.tensor([[0.5, 0.3, 0.2], [0.1, 0.6, 0.3], [0.3, 0.3, 0.4]], dtype=torch.float64)
    product = torch.einsum("a,b,c->abc", *marginals)
    process, settings = MaskedDiffusion(V), SDTTSettings(base_steps=16, final_steps=8, loss=loss)
    x0 = torch.randint(V, (256, L), generator=torch.Generator().manual_seed(0))
    exact = exact_denoiser(product, V)
    zero, metrics = sdtt_loss(process, exact, exact, x0, dt=0.25, settings=settings)
    assert zero.item() == pytest.approx(0.0, abs=1e-6) and 0 < metrics["masked_fraction"] < 1
    correlated = exact_denoiser(toy_pmf(V, L, seed=0, spread=1.5), V)
    positive, _ = sdtt_loss(process, correlated, correlated, x0, dt=0.25, settings=settings)
    assert positive.item() > 1e-3
