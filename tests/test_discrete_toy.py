"""The toy-distribution helpers every discrete teacher's ground-truth test relies on (core/discrete_toy.py)."""
import math

import pytest
import torch

from core.discrete_toy import (all_sequences, exact_denoiser, exact_masked_posterior, pmf_entropy, sample_pmf,
                               total_variation, toy_pmf)

V, L = 3, 3


def test_toy_pmf_is_normalised_positive_and_not_a_product():
    pmf = toy_pmf(V, L, seed=0)
    assert pmf.shape == (V,) * L and pmf.dtype == torch.float64
    assert pmf.min() > 0 and abs(float(pmf.sum()) - 1) < 1e-12
    marginals = [pmf.sum(dim=tuple(d for d in range(L) if d != l)) for l in range(L)]
    product = torch.einsum("i,j,k->ijk", *marginals)
    assert (pmf - product).abs().max() > 1e-2
    torch.testing.assert_close(toy_pmf(V, L, seed=0), pmf)


def test_all_sequences_order_matches_the_pmf_layout():
    pmf = toy_pmf(V, L, seed=1)
    seqs = all_sequences(V, L)
    assert seqs.shape == (V ** L, L)
    for n in (0, 5, 26):
        assert pmf.reshape(-1)[n] == pmf[tuple(seqs[n].tolist())]


def test_entropy_and_total_variation_known_values():
    uniform = torch.full((V,) * L, 1.0 / V ** L, dtype=torch.float64)
    assert pmf_entropy(uniform) == pytest.approx(L * math.log(V))
    all_zero = torch.zeros(10, L, dtype=torch.long)                         # a point mass on (0, 0, 0)
    assert total_variation(all_zero, uniform) == pytest.approx(1 - 1 / V ** L)
    pmf = toy_pmf(V, L, seed=2)
    assert total_variation(sample_pmf(pmf, 200_000, rng=torch.Generator().manual_seed(0)), pmf) < 0.01


def test_exact_posterior_conditions_on_unmasked_tokens():
    pmf = toy_pmf(V, L, seed=3)
    z = torch.tensor([[1, V, V], [V, V, V], [V, 0, 2]])
    probs = exact_masked_posterior(pmf, z, V)
    torch.testing.assert_close(probs[0, 1], pmf[1].sum(-1) / pmf[1].sum())
    torch.testing.assert_close(probs[0, 0], torch.tensor([0.0, 1.0, 0.0], dtype=torch.float64))
    torch.testing.assert_close(probs[1, 2], pmf.sum((0, 1)))
    torch.testing.assert_close(probs[2, 0], pmf[:, 0, 2] / pmf[:, 0, 2].sum())
    log_p = exact_denoiser(pmf, V)(z, torch.zeros(3))
    assert log_p.shape == (3, L, V + 1)
    torch.testing.assert_close(log_p[..., :V].exp(), probs)
    assert (log_p[..., V].exp() == 0).all()


def test_bad_inputs_are_rejected():
    pmf = toy_pmf(V, L)
    with pytest.raises(ValueError, match=r"ids in \[0, 3\)"):
        total_variation(torch.tensor([[0, V, 1]]), pmf)
    with pytest.raises(ValueError, match=r"shape \[n, 3\]"):
        total_variation(torch.zeros(4, 2, dtype=torch.long), pmf)
    with pytest.raises(ValueError, match="appended"):
        exact_denoiser(pmf, 0)
