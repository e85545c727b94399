"""IDLM's adversarial term (idlm/adversarial.py): exact values at initialisation for every process family, the
generator's differentiable path to the logits, the discriminator on a separable toy, and the term on the core loop."""
import math

import pytest
import torch
import torch.nn.functional as F

from core.discriminator import FakeScoreNetwork
from core.distill import DistillSettings, RoleSettings, distill
from idlm.adversarial import adversarial_fake_loss, adversarial_generator_loss, straight_through
from idlm.losses import stratified_times, student_probs
from core.networks import copy_for_training
from idlm.method import IDLMSettings, fake_network, idlm_method
from tests.test_idlm import B, L, PROCESSES, V, tiny_teacher

ADVERSARIAL = IDLMSettings(adversarial=True)   # Table 5's weights: (0.5, 0.5) for both roles


def student_output(process, student, seed: int = 1):
    x0 = torch.randint(V, (B, L), generator=torch.Generator().manual_seed(seed))
    torch.manual_seed(seed)
    t = stratified_times(B, t_min=1e-3)
    return x0, student_probs(process, student, x0, t), t


@pytest.mark.parametrize("family", sorted(PROCESSES))   # DCD students run Duo's process and code path
def test_generator_loss_at_initialisation_is_the_adversarial_constant_and_its_gradient_vanishes(family):
    """student = fake = teacher, zero head: L_G = 0.5 · (ℓ_T − ℓ_F) + 0.5 · Σ_l softplus(0), with ℓ_T − ℓ_F exactly
    0 and the adversarial sum exactly L log 2, and every parameter gradient of the student exactly 0."""
    process, teacher = tiny_teacher(family)
    student = copy_for_training(teacher)
    fake = fake_network(teacher, ADVERSARIAL).eval().requires_grad_(False)
    _, p, t = student_output(process, student)
    loss, metrics = adversarial_generator_loss(process, teacher, fake, p, t, ADVERSARIAL.generator_weights)
    loss.backward()
    assert metrics["idlm"].item() == 0.0 and metrics["teacher_term"].item() != 0
    assert metrics["adv"].item() == F.softplus(torch.zeros(B, L)).sum(-1).mean().item()
    assert metrics["adv"].item() == pytest.approx(L * math.log(2), rel=1e-6)
    assert loss.item() == 0.5 * metrics["adv"].item()
    grads = [q.grad for q in student.parameters() if q.grad is not None]
    assert grads and all(torch.count_nonzero(g) == 0 for g in grads)


@pytest.mark.parametrize("family", sorted(PROCESSES))
def test_the_adversarial_gradient_reaches_the_student(family):
    """With a non-zero head and the IDLM part weighted 0, the student still gets a gradient: through Duo's soft
    input, and through the straight-through input for the hard ids of MDLM and SEDD."""
    process, teacher = tiny_teacher(family)
    student = copy_for_training(teacher)
    fake = fake_network(teacher, ADVERSARIAL)
    torch.nn.init.normal_(fake.head.weight)
    fake.eval().requires_grad_(False)
    _, p, t = student_output(process, student)
    loss, _ = adversarial_generator_loss(process, teacher, fake, p, t, (0.0, 1.0))
    loss.backward()
    assert sum(q.grad.abs().sum() for q in student.parameters() if q.grad is not None) > 0


@pytest.mark.parametrize("family", ["mdlm", "sedd"])
def test_straight_through_input_has_the_ids_value_and_ps_gradient(family):
    process, network = tiny_teacher(family)
    p = torch.softmax(torch.randn(B, L, V), -1).requires_grad_(True)
    xt, _ = process.forward_relaxed(p, torch.full((B,), 0.5))
    relaxed = straight_through(xt, p)
    assert torch.equal(relaxed, F.one_hot(xt, V + 1).float())
    assert torch.equal(network(relaxed, torch.zeros(B)), network(xt, torch.zeros(B)))   # the fake's output unchanged
    weights = torch.randn(B, L, V + 1)
    (relaxed * weights).sum().backward()
    clean = (xt != V)[..., None]
    torch.testing.assert_close(p.grad, torch.where(clean, weights[..., :V], torch.zeros(())))


def test_discriminator_separates_real_from_student_samples():
    """The fake step with the discriminator loss alone (weights (0, 1)) on a separable toy: real sequences are all
    token 0, the 'student' puts all mass on token 1. After 60 Adam steps on the MDLM tiny fake, re-noised real data at
    t' ∈ [0.05, 0.5] get logits > 2 and student samples < −2 on average, and L_D is far below its chance value
    L · log 2 (= 4.16)."""
    process, teacher = tiny_teacher("mdlm")
    fake = fake_network(teacher, ADVERSARIAL)
    x0 = torch.zeros(16, L, dtype=torch.long)
    p = F.one_hot(torch.ones(16, L, dtype=torch.long), V).float()
    optimizer = torch.optim.Adam([q for q in fake.parameters() if q.requires_grad], lr=3e-3)
    torch.manual_seed(0)

    def step():
        return adversarial_fake_loss(process, fake, p, x0, 0.05 + 0.45 * torch.rand(16), (0.0, 1.0))
    for _ in range(60):
        loss, _ = step()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    fake.eval()
    with torch.no_grad():
        _, metrics = step()
    assert metrics["real_logit"] > 2.0 and metrics["fake_logit"] < -2.0, metrics
    assert metrics["disc"] < 0.1 * L * math.log(2)


@pytest.mark.parametrize("family", ["mdlm", "duo"])
def test_adversarial_idlm_runs_on_the_core_loop_and_resumes(family, tmp_path):
    """Three updates, then three more from the checkpoint: the head is part of the fake's state and moves."""
    process, teacher = tiny_teacher(family)
    method = idlm_method(process, teacher, ADVERSARIAL)
    role = RoleSettings(lr=1e-3)
    settings = DistillSettings(max_steps=3, generator=role, fake=role, ema_decay=0.9, eval_every=10**6, save_every=10**6,
                               log_every=1)
    generator, fake = copy_for_training(teacher), fake_network(teacher, ADVERSARIAL)
    assert isinstance(fake, FakeScoreNetwork)

    def get_batch(step, k):
        return torch.randint(V, (4, L), generator=torch.Generator().manual_seed(100 * step + k))
    distill(generator=generator, fake=fake, method=method, get_batch=get_batch, run_dir=tmp_path, settings=settings,
            config={}, device=torch.device("cpu"))
    assert fake.head.weight.abs().sum() > 0
    settings.max_steps = 6
    resumed = fake_network(teacher, ADVERSARIAL)
    summary = distill(generator=copy_for_training(teacher), fake=resumed, method=method, get_batch=get_batch,
                      run_dir=tmp_path, settings=settings, config={}, device=torch.device("cpu"))
    assert summary["step"] == 6 and summary["finished"]


def test_settings_refuse_bad_weights():
    with pytest.raises(ValueError, match="generator_weights must be two weights"):
        IDLMSettings(adversarial=True, generator_weights=(0.5,))
    with pytest.raises(ValueError, match="fake_weights must be two weights"):
        IDLMSettings(adversarial=True, fake_weights=(0.5, -1.0))


def test_an_adversarial_idlm_mdlm_update_costs_ten_passes_per_sequence(tmp_path):
    """Fake step: the student's sample (1), the fake on it forward and backward (2), the fake on re-noised real data
    forward and backward (2). Generator step: the student (2), the teacher forward only on MDLM's ids (1), the fake
    forward and backward through the straight-through input to the logits (2). The read-out through the fake's
    hidden_states is counted like a forward (core/cost.py)."""
    from core.cost import RunCost
    process, teacher = tiny_teacher("mdlm")
    role = RoleSettings(lr=1e-3)
    settings = DistillSettings(max_steps=2, generator=role, fake=role, ema_decay=0.9, eval_every=10**6,
                               save_every=10**6, log_every=10**6)
    cost = RunCost()
    distill(generator=copy_for_training(teacher), fake=fake_network(teacher, ADVERSARIAL),
            method=idlm_method(process, teacher, ADVERSARIAL),
            get_batch=lambda step, k: torch.randint(V, (B, L), generator=torch.Generator().manual_seed(step + k)),
            run_dir=tmp_path, settings=settings, config={}, device=torch.device("cpu"), cost=cost)
    assert cost.passes_per_update == 10 * B
