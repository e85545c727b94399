"""MDLM against ground truth: the exact denoiser of a toy pmf must reproduce it and make the NELBO equal H."""
import math

import torch

from core.discrete_toy import exact_denoiser, pmf_entropy, sample_pmf, toy_pmf, total_variation
from core.networks.dit import DiT, dit_config
from teachers.mdlm import MaskedDiffusion, sample

V, L = 3, 3


def setup_toy(seed=0):
    pmf = toy_pmf(V, L, seed=seed)
    return pmf, MaskedDiffusion(V), exact_denoiser(pmf, mask_id=V)


def test_cached_and_uncached_samplers_reproduce_pmf():
    pmf, process, network = setup_toy()
    for cache in (True, False):
        torch.manual_seed(1)
        x, nfe = sample(process, network, batch_size=100_000, length=L, steps=128, cache=cache)
        assert x.max() < V, "no mask token may survive the final noise-removal step"
        assert total_variation(x, pmf) <= 0.02, (cache, total_variation(x, pmf))


def test_few_steps_show_factorization_error():
    """One step unmasks all positions independently: the samples follow the product of marginals, not the pmf."""
    pmf, process, network = setup_toy()
    torch.manual_seed(2)
    x, _ = sample(process, network, batch_size=100_000, length=L, steps=1)
    assert total_variation(x, pmf) > 0.05


def test_cache_skips_forward_passes_when_nothing_changes():
    pmf, process, network = setup_toy()
    calls = []

    def counting(x, sigma):
        calls.append(1)
        return network(x, sigma)
    torch.manual_seed(3)
    _, nfe = sample(process, counting, batch_size=1, length=L, steps=200, cache=True)
    assert nfe == len(calls) <= L + 1  # at most one recomputation per unmasked token, plus noise removal


def test_per_sequence_cache_matches_uncached_samples():
    """Same RNG stream, same samples: caching only skips forward passes whose inputs did not change."""
    pmf, process, network = setup_toy()
    out = {}
    for cache in (True, False):
        torch.manual_seed(7)
        out[cache] = sample(process, network, batch_size=64, length=L, steps=50, cache=cache)
    assert torch.equal(out[True][0], out[False][0])
    assert out[True][1] < out[False][1] == 50


def nelbo_chunks(process, network, x0, n_chunks):
    values = []
    for chunk in x0.chunk(n_chunks):
        loss, _ = process.loss(network, chunk)
        values.append(loss.item() * L)  # per-sequence NELBO
    return torch.tensor(values, dtype=torch.float64)


def test_nelbo_with_exact_denoiser_equals_entropy():
    pmf, process, network = setup_toy()
    torch.manual_seed(4)
    x0 = sample_pmf(pmf, 200_000)
    values = nelbo_chunks(process, network, x0, 200)
    mean, stderr = values.mean().item(), values.std().item() / math.sqrt(len(values))
    entropy = pmf_entropy(pmf)
    # eps = 1e-3 and t_min = 1e-3 each drop an O(1e-3) share of the integral.
    assert abs(mean - entropy) < 4 * stderr + 5e-3 * entropy, (mean, entropy, stderr)


def test_perturbed_denoiser_gives_larger_nelbo():
    pmf, process, network = setup_toy()

    def blurred(x, sigma):  # mix the exact x_θ with the uniform distribution
        probs = network(x, sigma).exp()
        probs[..., :V] = 0.6 * probs[..., :V] + 0.4 / V
        return probs.clamp_min(1e-30).log()
    torch.manual_seed(5)
    x0 = sample_pmf(pmf, 100_000)
    torch.manual_seed(6)
    exact = nelbo_chunks(process, network, x0, 100).mean()
    torch.manual_seed(6)  # same t and masks: the difference is the denoiser alone
    worse = nelbo_chunks(process, blurred, x0, 100).mean()
    assert worse > exact + 0.05


def test_subs_parameterization():
    process = MaskedDiffusion(V)
    xt = torch.tensor([[0, V, 2]])
    log_p = process.subs_logits(torch.randn(1, L, V + 1), xt)
    probs = log_p.exp()
    assert probs[0, 0, 0] == 1 and probs[0, 2, 2] == 1          # carry-over unmasking
    assert probs[0, 1, V] < 1e-12                                # zero masking probability
    torch.testing.assert_close(probs.sum(-1), torch.ones(1, L))


def test_float64_flag_changes_dtype_path_but_not_support():
    torch.manual_seed(0)
    net = DiT(dit_config("tiny", V + 1)).eval()
    process = MaskedDiffusion(V)
    for f64 in (True, False):
        x, nfe = sample(process, net, batch_size=4, length=8, steps=4, float64=f64)
        assert x.shape == (4, 8) and x.max() < V and 1 <= nfe <= 5


def test_forward_sample_masks_at_rate():
    process = MaskedDiffusion(5)
    x0 = torch.zeros(1, 200_000, dtype=torch.long)
    xt = process.forward_sample(x0, torch.tensor([0.4]))
    assert abs((xt == 5).float().mean().item() - 0.4 * (1 - 1e-3)) < 0.005
