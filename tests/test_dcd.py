"""Duo-DCD: schedule, coupled latents, divergence direction, one training step, round-teacher refresh."""
from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from core.ema import EMA
from core.gaussian_duality import duality_for_vocab, gaussian_coefficients
from core.networks import copy_for_training
from core.networks.dit import DiT, dit_config
from baselines.dcd import DCDSettings, coupled_latents, dcd_loss, dcd_step_size, distillation_divergence
from baselines.rounds import refresh_round_teacher, round_starts
from teachers.duo import UniformDiffusion

VOCAB = 13


def random_dit(seed: int = 0) -> DiT:
    """Tiny DiT with a non-zero output layer (the zero-init one outputs uniform logits, making every KL zero)."""
    torch.manual_seed(seed)
    net = DiT(dit_config("tiny", VOCAB))
    torch.nn.init.normal_(net.output_layer.linear.weight, std=0.5)
    torch.nn.init.normal_(net.output_layer.adaLN_modulation.weight, std=0.5)
    return net


def test_step_size_doubles_every_round():
    every, base = 100, 64
    sizes = [dcd_step_size(step, base_steps=base, update_teacher_every=every) for step in (0, 99, 100, 250, 699)]
    assert sizes == [1 / 64, 1 / 64, 2 / 64, 4 / 64, 1.0]
    with pytest.raises(ValueError, match="dt = 2\\^7/64 > 1"):
        dcd_step_size(700, base_steps=base, update_teacher_every=every)
    assert [round_starts(s, every) for s in (0, 1, 100, 150, 200)] == [True, False, True, False, True]


def test_the_method_runs_the_rounds_that_end_at_one_over_k():
    from experiments.dcd import dcd_rounds

    assert [dcd_rounds(64, k) for k in (32, 8, 4)] == [2, 4, 5]
    every = 10
    last = dcd_rounds(64, 8) * every - 1
    assert dcd_step_size(last, base_steps=64, update_teacher_every=every) == 1 / 8


def test_settings_reject_unknown_loss():
    with pytest.raises(ValueError, match="loss_type 'posterior'"):
        DCDSettings(loss_type="posterior")


def test_coupled_latents_share_noise():
    duality = duality_for_vocab(VOCAB)
    x0 = torch.randint(0, VOCAB, (4, 5))
    gamma_t, gamma_s = torch.full((4,), -1.5), torch.full((4,), -3.0)
    w_t, w_s = coupled_latents(duality, x0, gamma_t, gamma_s)
    onehot = F.one_hot(x0, VOCAB).float()
    (a_t, s_t), (a_s, s_s) = gaussian_coefficients(gamma_t[0]), gaussian_coefficients(gamma_s[0])
    assert torch.allclose((w_t - a_t * onehot) / s_t, (w_s - a_s * onehot) / s_s, atol=1e-5)
    same_t, same_s = coupled_latents(duality, x0, gamma_t, gamma_t)
    assert torch.equal(same_t.argmax(-1), same_s.argmax(-1))


def test_divergence_directions_match_torch_kl():
    torch.manual_seed(0)
    log_s, log_t = torch.randn(2, 3, 7).log_softmax(-1), torch.randn(2, 3, 7).log_softmax(-1)
    bwd = distillation_divergence(log_s, log_t, "kl-bwd")     # KL(student ‖ teacher)
    fwd = distillation_divergence(log_s, log_t, "kl-fwd")     # KL(teacher ‖ student)
    assert torch.allclose(bwd, F.kl_div(log_t, log_s, log_target=True, reduction="none").sum(-1), atol=1e-6)
    assert torch.allclose(fwd, F.kl_div(log_s, log_t, log_target=True, reduction="none").sum(-1), atol=1e-6)
    assert not torch.allclose(bwd, fwd)


@pytest.mark.parametrize("loss_type", ["kl-bwd", "kl-fwd"])
def test_loss_is_zero_for_identical_teacher_at_zero_step(loss_type):
    student = random_dit()
    teacher = copy_for_training(student, frozen=True)
    student.eval()                                          # no dropout in the tiny preset, but be explicit
    process = UniformDiffusion(VOCAB)
    settings = DCDSettings(loss_type=loss_type)
    x0 = torch.randint(0, VOCAB, (8, 6))
    zero, _ = dcd_loss(process, student, teacher, x0, dt=0.0, settings=settings)
    assert float(zero.detach()) < 1e-6
    positive, metrics = dcd_loss(process, student, teacher, x0, dt=0.25, settings=settings)
    assert float(positive.detach()) > 1e-3 and float(metrics["dt"]) == 0.25


def test_one_dcd_step_updates_student_only():
    student = random_dit()
    teacher = copy_for_training(student, frozen=True)
    ema = EMA(student, decay=0.9)
    process = UniformDiffusion(VOCAB)
    settings = DCDSettings(base_steps=4, update_teacher_every=1)
    optimizer = torch.optim.AdamW(student.parameters(), lr=1e-2)
    teacher_before = {k: v.clone() for k, v in teacher.state_dict().items()}
    x0 = torch.randint(0, VOCAB, (8, 6))
    step = 1
    if round_starts(step, settings.update_teacher_every):
        refresh_round_teacher(teacher, ema)                       # EMA == initial weights: the teacher is unchanged
    dt = dcd_step_size(step, base_steps=settings.base_steps, update_teacher_every=settings.update_teacher_every)
    assert dt == 0.5
    loss, _ = dcd_loss(process, student, teacher, x0, dt=dt, settings=settings)
    loss.backward()
    assert all(p.grad is None for p in teacher.parameters())
    assert student.output_layer.linear.weight.grad.abs().sum() > 0
    optimizer.step()
    ema.update(student)
    assert all(torch.equal(v, teacher_before[k]) for k, v in teacher.state_dict().items())
    assert not torch.equal(student.output_layer.linear.weight, teacher.output_layer.linear.weight)
    # next round: the teacher takes the EMA weights, or the raw student weights
    refresh_round_teacher(teacher, ema)
    assert torch.allclose(teacher.output_layer.linear.weight, ema.shadow["output_layer.linear.weight"])
    refresh_round_teacher(teacher, student)
    assert torch.equal(teacher.output_layer.linear.weight, student.output_layer.linear.weight)
    assert not any(p.requires_grad for p in teacher.parameters())
