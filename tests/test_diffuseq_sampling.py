"""DiffuSeq samplers on a toy with a known answer: with the exact x0-denoiser of a known pmf over 2-token targets,
the samplers must reproduce the pmf; source positions must stay bit-identical; respacing must follow its plan.

Measured at 50k samples (seed 0), TV to the pmf: ancestral T=100 ≈ 0.005, DDIM K=T=100 ≈ 0.005, DDIM T=2000 K=10
"kept" ≈ 0.012 vs "diffuseq" ≈ 0.41. With DiffuSeq's clamping (x̂0 rounded to the nearest embedding at every step):
ancestral ≈ 0.17, DDIM ≈ 0.39 — it sharpens towards likely tokens (p(0,0): 0.30 → 0.47 ancestral, 0.69 DDIM), and
impossible outcomes stay impossible.
"""

import pytest
import torch

from core.networks.diffuseq_net import DiffuSeqNet, diffuseq_config
from teachers.diffuseq import (DiffuSeqProcess, nearest_token, sample_ancestral, sample_seq2seq,
                               sample_ddim)
from tests.test_diffuseq_toy import EMB, PMF, ExactDenoiser, empirical_tv, toy_batch

N = 50_000


def joint(z):
    tokens = nearest_token(z[:, 1:], EMB)
    return tokens, torch.bincount(tokens[:, 0] * 4 + tokens[:, 1], minlength=16).double().div(len(tokens)).view(4, 4)


@pytest.fixture(scope="module")
def toy():
    torch.set_num_threads(1)
    process = DiffuSeqProcess(100)
    model = ExactDenoiser(process)
    ids, mask = toy_batch(N)
    return process, model, model.get_embeds(ids), mask


def test_ancestral_reproduces_pmf_and_clamping_sharpens(toy):
    process, model, x_src, mask = toy
    z = sample_ancestral(process, model, x_src, mask, clamp=False, rng=torch.Generator().manual_seed(0))
    tokens, _ = joint(z)
    assert empirical_tv(tokens) <= 0.03
    n = 20_000   # enough to see a 0.17 TV; keeps the test fast
    z = sample_ancestral(process, model, x_src[:n], mask[:n], clamp=True, rng=torch.Generator().manual_seed(0))
    tokens, p = joint(z)
    tv = empirical_tv(tokens)
    print(f"ancestral with clamping: TV = {tv:.3f}, p(0,0) = {p[0, 0]:.3f} (true {PMF[0, 0]:.2f})")
    assert tv > 0.1 and p[0, 0] > PMF[0, 0] + 0.1                      # favours the likely outcome
    assert p[PMF == 0].sum() < 1e-3                                     # impossible outcomes stay impossible


def test_fixedsmall_variance_also_reproduces_pmf(toy):
    process, model, x_src, mask = toy
    z = sample_ancestral(process, model, x_src[:20000], mask[:20000], clamp=False, variance="fixedsmall",
                         rng=torch.Generator().manual_seed(1))
    assert empirical_tv(joint(z)[0]) <= 0.03
    with pytest.raises(ValueError, match="unknown variance"):
        sample_ancestral(process, model, x_src[:2], mask[:2], variance="learned")


def test_ddim_reproduces_pmf(toy):
    process, model, x_src, mask = toy
    z = sample_ddim(process, model, x_src, mask, steps=100, clamp=False, rng=torch.Generator().manual_seed(0))
    assert empirical_tv(joint(z)[0]) <= 0.03


def test_ddim_respaced_kept_vs_diffuseq():
    """T = 2000, K = 10: jumping to the previous kept level keeps the pmf; DiffuSeq's ᾱ_{t−1} jump does not."""
    process = DiffuSeqProcess(2000)
    model = ExactDenoiser(process)
    ids, mask = toy_batch(N)
    x_src = model.get_embeds(ids)
    tv = {r: empirical_tv(joint(sample_ddim(process, model, x_src, mask, steps=10, respace=r, clamp=False,
                                            rng=torch.Generator().manual_seed(0)))[0])
          for r in ("kept", "diffuseq")}
    assert tv["kept"] <= 0.03
    assert tv["diffuseq"] > 0.2


def test_ddim_with_all_steps_equals_unrespaced_reference():
    process = DiffuSeqProcess(30)
    model = ExactDenoiser(process)
    ids, mask = toy_batch(64)
    x_src = model.get_embeds(ids).double()   # float64 end to end: the comparison is then exact to ~1e-14
    # reference: plain DDIM over every original step with ᾱ_{t−1} (ᾱ_{−1} = 1), no respacing code involved
    noise = torch.randn(x_src.shape, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    x = torch.where(mask[..., None] == 0, x_src, noise)
    ab = process.alpha_bars
    for t in range(29, -1, -1):
        a, a_prev = ab[t], (ab[t - 1] if t > 0 else torch.tensor(1.0, dtype=torch.float64))
        x0 = model(x, process.model_time(torch.full((64,), t)))
        eps = (x - a.sqrt() * x0) / (1 - a).sqrt()
        x = torch.where(mask[..., None] == 0, x_src, a_prev.sqrt() * x0 + (1 - a_prev).sqrt() * eps)
    for respace in ("kept", "diffuseq"):
        z = sample_ddim(process, model, x_src, mask, steps=30, respace=respace, clamp=False,
                        rng=torch.Generator().manual_seed(3))
        assert torch.allclose(z, x, rtol=0, atol=1e-10), respace


@pytest.mark.parametrize("sampler, kwargs", [("ancestral", {}), ("ancestral", {"steps": 7}),
                                             ("ddim", {"steps": 5, "respace": "kept"}),
                                             ("ddim", {"steps": 5, "respace": "diffuseq"})])
@pytest.mark.parametrize("clamp", [False, True])
def test_source_positions_are_bit_identical(sampler, kwargs, clamp):
    torch.manual_seed(0)
    process = DiffuSeqProcess(20)
    model = DiffuSeqNet(diffuseq_config("tiny", vocab_size=9)).eval()
    ids = torch.randint(0, 9, (3, 6))
    mask = torch.tensor([[0, 0, 1, 1, 1, 1], [0, 0, 0, 1, 1, 1], [0, 1, 1, 1, 1, 1]])
    x_src = model.get_embeds(ids)
    fn = sample_ancestral if sampler == "ancestral" else sample_ddim
    z = fn(process, model, x_src, mask, clamp=clamp, rng=torch.Generator().manual_seed(0), **kwargs)
    src = mask == 0
    assert torch.equal(z[src], x_src[src])
    assert not torch.equal(z[~src], x_src[~src])
    if clamp and sampler == "ancestral":   # last ancestral step returns the rounded x̂0: exact embedding rows
        rows = model.word_embedding.weight[nearest_token(z, model.word_embedding.weight)]
        assert torch.equal(z[~src], rows[~src])


def test_generate_candidates_shapes_seeds_and_errors():
    process = DiffuSeqProcess(50)
    model = ExactDenoiser(process)
    ids, mask = toy_batch(200)
    batch = {"input_ids": ids, "input_mask": mask}
    out = sample_seq2seq(process, model, batch, steps=10, k_candidates=3, seeds=[5, 6, 7], clamp=False)
    assert out.shape == (200, 3, 3) and out.dtype == torch.long
    assert (out[:, :, 0] == ids[:, None, 0]).all()                      # source ids returned as given
    again = sample_seq2seq(process, model, batch, steps=10, k_candidates=3, seeds=[5, 6, 7], clamp=False)
    assert torch.equal(out, again)
    assert not torch.equal(out[:, 0], out[:, 1])                        # different seeds, different candidates
    anc = sample_seq2seq(process, model, batch, steps=50, k_candidates=1, sampler="ancestral")
    assert anc.shape == (200, 1, 3) and int(anc[:, :, 1:].max()) < 4
    with pytest.raises(ValueError, match="seeds"):
        sample_seq2seq(process, model, batch, steps=10, k_candidates=2, seeds=[1])
    with pytest.raises(ValueError, match="DDIM behaviour"):
        sample_seq2seq(process, model, batch, steps=10, sampler="ancestral", respace="diffuseq")
    with pytest.raises(ValueError, match="unknown sampler"):
        sample_seq2seq(process, model, batch, steps=10, sampler="dpm")


def test_prior_noise_is_not_the_initial_embedding_table():
    """Regression: with the sampler seeded like the model init, z_T at (row b, position p) was exactly the initial
    embedding of token b·L + p (same stream), and trained teachers copied those tokens into their outputs."""
    torch.manual_seed(0)
    model = DiffuSeqNet(diffuseq_config("tiny", vocab_size=64)).eval()
    table = model.word_embedding.weight.detach().clone()                # still the initial N(0, 1) draw
    assert torch.equal(torch.randn(table.shape, generator=torch.Generator().manual_seed(0)), table)  # the hazard
    process = DiffuSeqProcess(20)
    priors = []
    prior_sample = process.prior_sample
    process.prior_sample = lambda *a, **k: priors.append(prior_sample(*a, **k)) or priors[-1]
    ids = torch.zeros(2, 8, dtype=torch.long)
    mask = torch.tensor([[0, 0, 1, 1, 1, 1, 1, 1]] * 2)
    sample_seq2seq(process, model, {"input_ids": ids, "input_mask": mask}, steps=2, seeds=[0])
    noise = priors[0][mask.bool()]                                      # [target positions, E]
    aliased = table[:16].view(2, 8, -1)[mask.bool()]
    assert not torch.allclose(noise, aliased)
    # and it is still independent standard normal noise
    assert abs(noise.mean().item()) < 0.2 and abs(noise.std().item() - 1.0) < 0.2


def test_derived_seeds_depend_on_purpose_and_are_reproducible():
    from core.seeding import derived_rng, derived_seed

    assert derived_seed(0, "a") == derived_seed(0, "a")
    assert len({derived_seed(0, "a"), derived_seed(1, "a"), derived_seed(0, "b"), 0}) == 4
    assert 0 <= derived_seed(123, "a") < 2 ** 63
    draws = [torch.rand(3, generator=derived_rng(7, "a")) for _ in range(2)]
    assert torch.equal(*draws)
