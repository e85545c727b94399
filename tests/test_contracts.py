"""Every family against its Protocol in core/contracts.py: the members exist (runtime_checkable), their signatures
match, and on tiny random models the calls return what the contract says (shapes, value ranges)."""
import pytest
import torch

import teachers.diffuseq
from core.contracts import (CandidateSampler, DiffuSeqFunctions, DiffuSeqNetworkContract, DiffuSeqProcessContract,
                            DiscreteProcess, FamilySampler, MaskedX0Process, RegistrySampler, X0Denoiser,
                            contract_violations)
from core.networks.diffuseq_net import DiffuSeqNet, diffuseq_config
from core.networks.dit import DiT, dit_config
from teachers import duo, mdlm, registry, sedd

V, L, B = 7, 5, 3
FAMILIES = sorted(registry.process_families())   # mdlm, sedd, duo and duo_distilled, each a discrete process


def conforms(obj, protocol) -> None:
    assert isinstance(obj, protocol), protocol.__name__
    assert contract_violations(obj, protocol) == []


def tiny(family: str):
    torch.manual_seed(0)
    process = registry.build_process(family, {"vocab_size": V})
    return process, DiT(dit_config("tiny", process.network_vocab_size)).eval()


def test_the_families_are_the_four_discrete_ones():
    assert FAMILIES == ["duo", "duo_distilled", "mdlm", "sedd"]


@pytest.mark.parametrize("family", FAMILIES)
def test_every_discrete_family_meets_the_discrete_process_contract(family):
    process, network = tiny(family)
    conforms(process, DiscreteProcess)
    x0, t = torch.randint(V, (B, L)), torch.tensor([0.2, 0.5, 0.9])
    net_in, zt = process.forward_relaxed(x0, t)
    log_p = process.x0_log_probs(network, net_in, zt, t)
    assert log_p.shape == (B, L, V)
    assert torch.allclose(log_p.exp().sum(-1), torch.ones(B, L), atol=1e-5)
    soft = torch.softmax(torch.randn(B, L, V), -1)                 # IDLM's student output: probabilities
    assert process.token_loss(network, soft, *process.forward_relaxed(soft, t), t).shape == (B, L)
    loss, metrics = process.loss(network, x0)
    assert loss.dim() == 0 and "nelbo" in metrics
    assert process.forward_sample(x0, t).shape == (B, L)
    assert process.prior_sample(B, L).shape == (B, L)


@pytest.mark.parametrize("family, denoises", [("mdlm", True), ("duo", True), ("duo_distilled", True),
                                               ("sedd", False)])
def test_the_x0_denoiser_takes_the_signal_level_alpha(family, denoises):
    """MDLM and Duo (SDTT's and DCD's processes) share one convention: α_t, not t. SEDD predicts a score instead."""
    process, network = tiny(family)
    assert isinstance(process, X0Denoiser) == denoises
    if not denoises:
        return
    conforms(process, X0Denoiser)
    seen = []
    network.register_forward_hook(lambda module, args, out: seen.append(args[1]))
    t = torch.tensor([0.2, 0.5, 0.9], dtype=torch.float64)
    alpha = process.schedule.alpha(t)
    log_p = process.denoiser_log_probs(network, torch.randint(V, (B, L)), alpha)
    assert log_p.shape == (B, L, process.network_vocab_size)
    # what the network is told: σ = −log α (zero for MDLM without time conditioning, as its published model)
    expected = torch.zeros(B, dtype=torch.float64) if family == "mdlm" else -torch.log(alpha)
    assert torch.allclose(seen[0], expected)


def test_a_time_conditioned_mdlm_is_told_its_schedule_sigma():
    process = mdlm.MaskedDiffusion(V, time_conditioning=True)
    seen = []
    network = DiT(dit_config("tiny", process.network_vocab_size)).eval()
    network.register_forward_hook(lambda module, args, out: seen.append(args[1]))
    t = torch.tensor([0.01, 0.5, 1.0], dtype=torch.float64)
    process.x0_log_probs(network, torch.full((B, L), process.mask_id), torch.full((B, L), process.mask_id), t)
    assert torch.allclose(seen[0], process.schedule.sigma(t), rtol=1e-12)


def test_mdlm_is_sdtt_s_masked_process():
    process, _ = tiny("mdlm")
    conforms(process, MaskedX0Process)
    for other in ("sedd", "duo"):
        assert not isinstance(tiny(other)[0], MaskedX0Process)


def test_diffuseq_meets_the_contract_dlm_one_uses():
    process = teachers.diffuseq.DiffuSeqProcess(100)
    torch.manual_seed(0)
    network = DiffuSeqNet(diffuseq_config("tiny", 11)).eval()
    conforms(process, DiffuSeqProcessContract)
    conforms(network, DiffuSeqNetworkContract)
    conforms(teachers.diffuseq, DiffuSeqFunctions)
    ids, mask = torch.randint(11, (2, 6)), torch.tensor([[0, 0, 1, 1, 1, 1], [0, 1, 1, 1, 1, 1]])
    x0, t = network.get_embeds(ids), torch.tensor([5, 90])
    zt = process.forward_sample(x0, t, torch.randn(x0.shape), mask)
    assert torch.equal(zt[mask == 0], x0[mask == 0])                 # the source stays clean
    assert process.denoise(network, zt, t).shape == x0.shape
    assert network.hidden_states(zt, process.model_time(t)).shape == (2, 6, network.config.hidden_size)


@pytest.mark.parametrize("sampler", [mdlm.sample, sedd.sample, duo.sample], ids=["mdlm", "sedd", "duo"])
def test_every_family_sampler_has_the_sampler_surface(sampler):
    conforms(sampler, FamilySampler)


@pytest.mark.parametrize("family", sorted(registry.SAMPLERS))
def test_every_registry_sampler_has_the_registry_surface_and_samples(family):
    conforms(registry.SAMPLERS[family], RegistrySampler)
    if family == "ar_lm":
        return                                                        # needs a GPT-2 network; tests/test_ar_baseline.py
    process, network = tiny(family)
    ids, nfe = registry.sample_model(family, process, network, batch_size=2, length=L, steps=2, device="cpu",
                                     float64=True)
    assert ids.shape == (2, L) and 0 <= int(ids.min()) and int(ids.max()) < V and nfe > 0


def test_contract_violations_name_the_missing_member_and_the_renamed_parameter():
    class Wrong:
        vocab_size = 3

        def denoiser_log_probs(self, network, x_in, t):
            return x_in

    assert not isinstance(object(), X0Denoiser)
    assert contract_violations(Wrong(), X0Denoiser) == [
        "X0Denoiser.denoiser_log_probs: positional parameter 3 should be 'alpha', got 't'"]

    def two_seeds(batch, seeds, extra):
        return batch

    assert contract_violations(two_seeds, CandidateSampler) == [
        "CandidateSampler.__call__: extra parameter 'extra' has no default"]
    assert contract_violations(Wrong(), DiscreteProcess)[0] == "DiscreteProcess.network_vocab_size: missing"


def test_the_teacher_and_the_student_candidate_samplers_share_one_layout():
    from dlm_one.generator import student_generate
    from teachers.diffuseq_decode import teacher_candidates

    process = teachers.diffuseq.DiffuSeqProcess(20)
    torch.manual_seed(0)
    network = DiffuSeqNet(diffuseq_config("tiny", 11)).eval()
    batch = {"input_ids": torch.randint(11, (2, 6)), "input_mask": torch.tensor([[0, 0, 1, 1, 1, 1]] * 2)}
    teacher = teacher_candidates(process, network, steps=2, candidates=3, sampler="ddim", respace="kept", clamp=True)

    def student(batch, seeds):
        return student_generate(process, network, batch, t_init=19, k_candidates=len(seeds), seeds=seeds)

    for sample_ids in (teacher, student):
        conforms(sample_ids, CandidateSampler)
        ids = sample_ids(batch, [0, 1, 2])
        assert ids.shape == (2, 3, 6)
        assert torch.equal(ids[:, :, :2], batch["input_ids"][:, None, :2].expand(-1, 3, -1))   # the source, kept
