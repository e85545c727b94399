"""IDLM against ground truth: exact zeros at initialisation, the relaxed losses against their closed forms, and a toy
pmf on which the distilled student's few-step samples are closer to the data than the exact teacher's."""
import math

import pytest
import torch

from core.discrete_toy import _flat_index, all_sequences, exact_denoiser, sample_pmf, toy_pmf, total_variation
from core.distill import DistillSettings, RoleSettings, distill
from core.networks import copy_for_training
from core.networks.dit import DiT, dit_config
from idlm.losses import fake_loss, generator_loss, loss_times, stratified_times, student_probs, student_times
from idlm.method import IDLMSettings, idlm_method
from teachers.duo import UniformDiffusion
from teachers.mdlm import MaskedDiffusion
from teachers.mdlm import sample as mdlm_sample
from teachers.sedd import AbsorbingScoreProcess

V, L, B = 5, 6, 4
PROCESSES = {"mdlm": lambda: MaskedDiffusion(V), "sedd": lambda: AbsorbingScoreProcess(V),
             "duo": lambda: UniformDiffusion(V)}


def tiny_teacher(family: str, seed: int = 0):
    torch.manual_seed(seed)
    process = PROCESSES[family]()
    network = DiT(dit_config("tiny", process.network_vocab_size)).eval().requires_grad_(False)
    return process, network


@pytest.mark.parametrize("family", sorted(PROCESSES))
def test_generator_loss_and_gradient_vanish_when_fake_equals_teacher(family):
    process, teacher = tiny_teacher(family)
    student, fake = copy_for_training(teacher), copy_for_training(teacher).requires_grad_(False)
    x0 = torch.randint(V, (B, L))
    torch.manual_seed(1)
    t = stratified_times(B, t_min=1e-3)
    p = student_probs(process, student, x0, t)
    loss, metrics = generator_loss(process, teacher, fake, p, t)
    loss.backward()
    assert loss.item() == 0.0 and metrics["teacher_term"].item() != 0  # the terms are not trivially zero
    grads = [q.grad for q in student.parameters() if q.grad is not None]
    assert grads and all(torch.count_nonzero(g) == 0 for g in grads)


@pytest.mark.parametrize("family", sorted(PROCESSES))
def test_relaxed_loss_on_one_hot_is_the_teachers_nelbo_term(family):
    process, network = tiny_teacher(family)
    x0 = torch.randint(V, (B, L))
    t = torch.tensor([0.2, 0.5, 0.7, 0.95])
    torch.manual_seed(2)
    net_in, zt = process.forward_relaxed(x0, t)
    ids_loss = process.token_loss(network, x0, net_in, zt, t)
    soft_loss = process.token_loss(network, torch.nn.functional.one_hot(x0, V).double(), net_in, zt, t)
    assert ids_loss.abs().sum() > 0
    torch.testing.assert_close(soft_loss.float(), ids_loss.float(), rtol=1e-5, atol=1e-5)
    # and the fake loss on a one-hot student output is that NELBO term (on the same draw), summed over positions
    onehot = torch.nn.functional.one_hot(x0, V).float()
    torch.manual_seed(3)
    expected = process.token_loss(network, x0, *process.forward_relaxed(onehot, t), t).sum(-1).mean()
    torch.manual_seed(3)
    fake, _ = fake_loss(process, network, onehot, t)
    torch.testing.assert_close(fake, expected, rtol=1e-5, atol=1e-5)


def test_mdlm_soft_loss_closed_form():
    """ℓ = (1/t) Σ_v p_v (−log q_v) at masked positions (log-linear: −α'/(1 − α) = 1/t), 0 where unmasked."""
    process = MaskedDiffusion(2)
    log_q = torch.log(torch.tensor([[[0.25, 0.75, 0.0]] * 2]))          # the network's x_θ at both positions
    network = lambda x, sigma: log_q.expand(x.shape[0], -1, -1).clone()  # noqa: E731
    p = torch.tensor([[[0.6, 0.4], [0.1, 0.9]]])
    zt = torch.tensor([[2, 1]])                                          # position 0 masked, 1 clean
    t = torch.tensor([0.5])
    loss = process.token_loss(network, p, zt, zt, t)
    expected = (1 / 0.5) * -(0.6 * math.log(0.25) + 0.4 * math.log(0.75))
    torch.testing.assert_close(loss, torch.tensor([[expected, 0.0]]), rtol=1e-5, atol=1e-6)


def test_sedd_soft_score_entropy_is_the_expected_score_entropy_over_p():
    """Linearity: SE(s; p) = Σ_v p_v SE(s; x0 = v), checked against the id version at every v."""
    process = AbsorbingScoreProcess(3)
    log_score = torch.log(torch.tensor([[[0.2, 1.1, 0.4, 1.0]]], dtype=torch.float64))
    xt, sigma = torch.tensor([[3]]), torch.tensor([0.8], dtype=torch.float64)
    p = torch.tensor([[[0.5, 0.3, 0.2]]], dtype=torch.float64)
    soft = process.score_entropy(log_score, sigma, xt, p)
    by_id = sum(p[0, 0, v] * process.score_entropy(log_score, sigma, xt, torch.tensor([[v]])) for v in range(3))
    torch.testing.assert_close(soft, by_id)
    # closed form: Σ s − r Σ p log s + r (log r − 1), r = 1/(e^σ − 1)
    r = 1 / math.expm1(0.8)
    s = [0.2, 1.1, 0.4]
    expected = sum(s) - r * sum(pv * math.log(sv) for pv, sv in zip([0.5, 0.3, 0.2], s)) + r * (math.log(r) - 1)
    assert abs(soft.item() - expected) < 1e-12


def test_duo_soft_nelbo_closed_form():
    """The UDLM bracket with x̄ = Vα p + (1 − α), written out term by term for V = 3 at one position."""
    process = UniformDiffusion(3)
    a, da = 0.4, -0.999
    p = [0.6, 0.3, 0.1]
    q = [0.5, 0.2, 0.3]
    z = 1
    xbar = [3 * a * pv + (1 - a) for pv in p]
    xbar_q = [3 * a * qv + (1 - a) for qv in q]
    inner = sum(xbar[j] / xbar[z] * (math.log(xbar_q[z]) - math.log(xbar_q[j]) + math.log(xbar[j]) - math.log(xbar[z]))
                for j in range(3))
    expected = da / (3 * a) * (3 / xbar[z] - 3 / xbar_q[z] - inner)
    got = process.nelbo_per_token(torch.tensor([[q]], dtype=torch.float64).log(), torch.tensor([[z]]),
                                  torch.tensor([[p]], dtype=torch.float64), torch.tensor([a], dtype=torch.float64),
                                  torch.tensor([da], dtype=torch.float64))
    assert abs(got.item() - expected) < 1e-12
    # zero when the denoiser equals p (the fake model's optimum)
    same = process.nelbo_per_token(torch.tensor([[p]], dtype=torch.float64).log(), torch.tensor([[z]]),
                                   torch.tensor([[p]], dtype=torch.float64), torch.tensor([a], dtype=torch.float64),
                                   torch.tensor([da], dtype=torch.float64))
    assert abs(same.item()) < 1e-12


def test_duo_generator_gradient_flows_through_the_soft_inputs():
    """IDLM keeps the path p → w' = α̃ p + σ̃ ε' → teacher and fake inputs; the soft input must carry a gradient."""
    process, _ = tiny_teacher("duo")
    p = torch.softmax(torch.randn(B, L, V), -1).requires_grad_(True)
    net_in, zt = process.forward_relaxed(p, torch.full((B,), 0.5))
    assert torch.equal(zt, net_in.argmax(-1))
    (net_in * torch.randn_like(net_in)).sum().backward()
    assert p.grad is not None and p.grad.abs().sum() > 0


def test_loss_times():
    t = stratified_times(512, t_min=1e-3)
    assert torch.equal(loss_times(t, "same", t_min=1e-3), t)
    coupled = loss_times(t, "coupled", t_min=1e-3)
    assert (coupled - t).abs().max() < 1 / 512 and not torch.equal(coupled, t)
    with pytest.raises(ValueError, match="loss_time"):
        loss_times(t, "bogus", t_min=1e-3)


def test_student_times_on_a_samplers_grid():
    """grid_steps = K: the K network times of the K-step sampler (linspace(1, 1e-5, K + 1) without its end), in equal
    shares of the batch; 0 keeps IDLM's stratified continuous t."""
    assert torch.equal(student_times(6, t_min=1e-3, grid_steps=1), torch.ones(6))
    two = student_times(8, t_min=1e-3, grid_steps=2)
    assert sorted(two.tolist()) == [pytest.approx(0.5 + 0.5e-5)] * 4 + [1.0] * 4
    four = student_times(8, t_min=1e-3, grid_steps=4)
    assert torch.allclose(four.sort().values, torch.tensor([0.2500075, 0.500005, 0.7500025, 1.0]).repeat_interleave(2))
    continuous = student_times(512, t_min=1e-3)
    assert len(continuous.unique()) == 512 and continuous.min() >= 1e-3
    with pytest.raises(ValueError, match="grid_steps > 0 needs loss_time coupled or independent"):
        IDLMSettings(loss_time="same", grid_steps=1)


class Table(torch.nn.Module):
    """A network that is a lookup table over every input state: the student can represent any denoiser."""

    def __init__(self, table: torch.Tensor, vocab_size: int):
        super().__init__()
        self.table = torch.nn.Parameter(table.clone().float())
        self.vocab_size = vocab_size

    def forward(self, x, sigma):
        return self.table[_flat_index(x, self.vocab_size + 1)]


def test_idlm_student_beats_the_exact_teacher_at_few_steps(tmp_path):
    """Toy pmf over 3 symbols × 3 positions with correlated positions. The teacher is the *exact* MDLM denoiser, so
    its few-step error is pure factorisation error (tokens unmasked in one step are drawn independently). Distilled
    on the real loop and losses, the student's samples at K = 2 and K = 4 are closer to the data in total variation:
    measured 0.219 → 0.14 at K = 2 and 0.115 → 0.08 at K = 4; Monte-Carlo error of each TV is ≈ 0.003."""
    vocab, length = 3, 3
    pmf = toy_pmf(vocab, length, seed=0, spread=1.5)
    process = MaskedDiffusion(vocab)
    table = exact_denoiser(pmf, vocab)(all_sequences(vocab + 1, length), None)
    teacher = Table(table, vocab).requires_grad_(False)

    def tv(network, steps):
        torch.manual_seed(11)
        x, _ = mdlm_sample(process, network, batch_size=100_000, length=length, steps=steps, cache=False)
        return total_variation(x, pmf)

    torch.manual_seed(0)
    method = idlm_method(process, teacher, IDLMSettings(loss_time="coupled"))
    role = RoleSettings(lr=1e-2)
    settings = DistillSettings(max_steps=600, generator=role, fake=role, ema_decay=0.0, eval_every=10**6,
                               save_every=10**6, log_every=10**6)
    student = copy_for_training(teacher)
    distill(generator=student, fake=copy_for_training(teacher), method=method,
            get_batch=lambda step, k: sample_pmf(pmf, 512, rng=torch.Generator().manual_seed(2 * step + k)),
            run_dir=tmp_path, settings=settings, config={}, device=torch.device("cpu"))
    for steps, margin in ((2, 0.05), (4, 0.02)):
        teacher_tv, student_tv = tv(teacher, steps), tv(student, steps)
        assert student_tv < teacher_tv - margin, (steps, teacher_tv, student_tv)


def test_auto_evaluator_without_an_embedded_one_says_what_it_tried(monkeypatch):
    """eval.evaluator=auto on a corpus with no embedded reference AR model: gpt2-large is looked up first, and only
    when it is absent too does the run stop, naming what it tried (not a 'no pretrained model' for the fallback)."""
    from omegaconf import OmegaConf

    import core.evaluate.unconditional as unconditional
    from experiments.loading import evaluator_from

    monkeypatch.setattr(unconditional, "_hf_cached_causal_lm", lambda name, device: None)
    cfg = OmegaConf.create({"eval": {"evaluator": "auto"}, "corpus": "english", "data": {"path": None}})
    with pytest.raises(FileNotFoundError, match="no GenPPL evaluator available. Tried: gpt2-large"):
        evaluator_from(cfg, "cpu")
    sentinel = (torch.nn.Linear(1, 1), "tokenizer", "gpt2-large")
    monkeypatch.setattr(unconditional, "_hf_cached_causal_lm", lambda name, device: sentinel[:2])
    assert evaluator_from(cfg, "cpu")[2] == "gpt2-large"


@pytest.mark.parametrize("folder", ["mdlm", "sedd", "duo", "duo_distilled", "diffuseq-qqp"])
def test_one_load_teacher_for_every_family_and_always_frozen(folder):
    from core.paths import CHECKPOINTS_DIR
    from teachers.registry import load_teacher

    name = f"{folder}-small" if folder.startswith("diffuseq") else f"{folder}-shakespeare-small"
    teacher = load_teacher(CHECKPOINTS_DIR / name)
    assert teacher.family == folder.split("-")[0]
    assert not teacher.network.training and not any(p.requires_grad for p in teacher.network.parameters())
