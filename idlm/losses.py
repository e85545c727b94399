"""IDLM: inverse-distilled diffusion LMs (the IDLM paper's Algorithm 1), for every discrete process.

Legend (paper → code):
    x_0 ~ data                 real token ids                             x0        [B, L]
    x_t ~ q(· | x_0)           the student's input (teacher's own process) via process.forward_relaxed(x0, t)
    G_θ(x_t, t) = p            student output: probabilities on the simplex over the data vocabulary   p [B, L, V]
    x_t' ~ q(· | p)            re-noised student output, at the loss time t' (the same x_t', t' for teacher and fake)
    ℓ_f(p; x_t', t')           the teacher's own per-position NELBO term with p in place of onehot(x_0):
                               process.token_loss(f, p, x_t', t'). Linear in x_0 for MDLM and SEDD (a soft-label
                               cross-entropy / score entropy), the UDLM bracket with x̄ = Vα p + 1 − α for Duo.
    teacher T (frozen), fake F (trained), student G_θ (trained); all start from the teacher's weights.

Losses (summed over positions, mean over the batch: the paper's sequence-level loss):
    fake:       L_F(ψ) = E Σ_l ℓ_ψ(sg(p))                          the fake model fits the student's outputs
    generator:  L_G(θ) = E Σ_l [ℓ_T(p) − ℓ_F(p)]                   ≥ 0 when F is optimal for the student's outputs
Gradient paths: MDLM/SEDD draw x_t' as a hard sample from Cat(α p + (1 − α) e_m), so θ is reached only through p in
ℓ; Duo feeds x_t' as the soft input softmax(w'/τ), w' = α̃ p + σ̃ ε', so θ is also reached through the frozen
networks' inputs (IDLM's ablation: cutting that path diverges). At initialisation T = F, so L_G and its gradient
are exactly zero.

Times: the student's t and the loss time t' are drawn by MDLM's stratified sampler, t_i = t_min + (1 − t_min)(u + i)/B.
With `grid_steps` = K > 0 (not in the paper, whose t is continuous) the student's t is instead one of the times the
K-step sampler calls the network at (1, 1 − 1/K, ..., about 1/K): a student meant for K ≤ 2 steps spends every
update on the inputs it will see (K = 1: only t = 1, the noise-to-tokens map). `loss_time` chooses t': "coupled"
(the IDLM code: a second stratified draw, so |t'_i − t_i| < 1/B), "same" (t' = t), or "independent" (the paper's
description, t' ~ U[t_min, 1]).
"""
from __future__ import annotations

import torch

from core.schedules import SAMPLER_T_END, uniform_time_grid

LOSS_TIMES = ("coupled", "same", "independent")


def stratified_times(batch_size: int, *, t_min: float, device=None, rng=None) -> torch.Tensor:
    """MDLM `_sample_t`: one uniform u ∈ [0, 1) and B strata, t_i = t_min + (1 − t_min)(u + i)/B, [B]."""
    u = torch.rand(1, device=device, generator=rng)
    return t_min + (1.0 - t_min) * (u + torch.arange(batch_size, device=device)) / batch_size


def student_times(batch_size: int, *, t_min: float, grid_steps: int = 0, device=None, rng=None) -> torch.Tensor:
    """The student's input times [B]: stratified on [t_min, 1], or with grid_steps = K the sampler's grid times
    t_k = 1 − k(1 − t_end)/K (k < K; t_K = t_end is never a network input), each for B/K rows from a random start."""
    if not grid_steps:
        return stratified_times(batch_size, t_min=t_min, device=device, rng=rng)
    grid = uniform_time_grid(grid_steps, t_end=SAMPLER_T_END, device=device, dtype=torch.float32)[:-1]
    start = torch.randint(grid_steps, (1,), device=device, generator=rng)
    return grid[(start + torch.arange(batch_size, device=device)) % grid_steps]


def loss_times(t: torch.Tensor, mode: str, *, t_min: float, rng=None) -> torch.Tensor:
    """t' for the losses, given the student's times t [B] (module docstring)."""
    if mode == "same":
        return t
    if mode == "coupled":
        return stratified_times(t.shape[0], t_min=t_min, device=t.device, rng=rng)
    if mode == "independent":
        return t_min + (1.0 - t_min) * torch.rand(t.shape, device=t.device, generator=rng)
    raise ValueError(f"unknown loss_time {mode!r}; valid: {LOSS_TIMES}")


def student_probs(process, student, x0: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """G_θ: x_t from the teacher's forward process at t, then the student's x_0-prediction p [B, L, V]."""
    net_in, zt = process.forward_relaxed(x0, t)
    return process.x0_log_probs(student, net_in, zt, t).exp()


def fake_loss(process, fake, p: torch.Tensor, t_loss: torch.Tensor) -> tuple[torch.Tensor, dict]:
    """L_F: the teacher's loss of the fake model on the (detached) student output. Only positions masked in x_t'
    count for MDLM/SEDD, so the logged value is finite (the SUBS carry-over would add a huge constant)."""
    p = p.detach()
    net_in, zt = process.forward_relaxed(p, t_loss)
    loss = process.token_loss(fake, p, net_in, zt, t_loss).sum(-1).mean()
    return loss, {}


def generator_loss(process, teacher, fake, p: torch.Tensor, t_loss: torch.Tensor) -> tuple[torch.Tensor, dict]:
    """L_G = Σ_l ℓ_T(p) − ℓ_F(p) on one shared (x_t', t'). Teacher and fake are frozen but not detached."""
    net_in, zt = process.forward_relaxed(p, t_loss)
    teacher_term = process.token_loss(teacher, p, net_in, zt, t_loss).sum(-1)
    fake_term = process.token_loss(fake, p, net_in, zt, t_loss).sum(-1)
    loss = (teacher_term - fake_term).mean()
    return loss, {"teacher_term": teacher_term.mean().detach(), "fake_term": fake_term.mean().detach()}
