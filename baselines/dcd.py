"""Duo-DCD: discrete consistency distillation of a Duo model (Sahoo et al., 2025, "The Diffusion Duality", §5;
s-sahoo/duo `algo.Distillation`). Few-step Duo students, sampled with `teachers.duo.sample`.

Legend:
    x_0            clean data tokens (DCD uses the *data* batch, not teacher samples — Duo `Distillation.nll`)
    ε              one Gaussian draw [B, L, V] shared by both times ("same trajectory" of the Gaussian ODE)
    γ_t            log-SNR, γ_t = γ_min + t (γ_max − γ_min);  α̃_t, σ̃_t = sqrt(sigmoid(∓γ_t))
    w_t = α̃_t x_0 + σ̃_t ε,  z_t = argmax w_t          (uniform-state sample with α_t = T(γ_t), core/gaussian_duality)
    s = t − dt     the less noisy time on the same trajectory: w_s = α̃_s x_0 + σ̃_s ε,  z_s = argmax w_s
    student        x_θ(z_t, t)     (trained; initialised from the Duo model the run starts from, its `teacher=`)
    round teacher  x_θ⁻(z_s, s)    (frozen copy, refreshed from the student's EMA at the start of every round;
                                    Duo's code calls it the teacher: baselines/rounds.py)

Loss per token (Duo `loss_type`, default "kl-bwd"):
    kl-bwd:  KL(x_θ(z_t, t) ‖ x_θ⁻(z_s, s)) = Σ_v p_θ(v) (log p_θ(v) − log p_θ⁻(v))                         (1)
    kl-fwd:  KL(x_θ⁻(z_s, s) ‖ x_θ(z_t, t))
Both networks are conditioned on σ = −log T(γ) of their own time.

Rounds (Duo `_compute_dt`): round n = step // update_teacher_every uses dt = 2^n / base_steps — each round the
student learns to jump twice as far, so after n rounds one student step covers 2^n of the original 1/T steps. The
round teacher is refreshed at every step with step % update_teacher_every == 0 (so also at step 0).

A recipe calls, per optimizer step (Duo's Lightning hooks written out):
    if round_starts(step, s.update_teacher_every): refresh_round_teacher(round_teacher, ema if s.teacher_ema else student)
    dt = dcd_step_size(step, base_steps=s.base_steps, update_teacher_every=s.update_teacher_every)
    loss, metrics = dcd_loss(process, student, round_teacher, x0, dt=dt, settings=s)
Deviations: Duo's `linear_growth_dt` variant and the `posterior` loss types (accepted by its validator but with no
code path) are not offered; asking for them fails at start-up. Duo copies the round teacher lazily inside a no-grad forward;
here the recipe makes it explicitly with `core.networks.copy_for_training(frozen=True)`.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import torch

from core.gaussian_duality import GaussianDuality, duality_for_vocab
from core.losses import masked_mean
from core.schedules import antithetic_times
from teachers.duo import UniformDiffusion

LOSS_TYPES = ("kl-bwd", "kl-fwd")


@dataclass
class DCDSettings:
    """configs/algo/distillation.yaml defaults of the Duo repository."""
    base_steps: int = 64                 # T: round 0 uses dt = 1/T
    update_teacher_every: int = 10_000   # optimizer steps per round
    gamma_min: float = -4.0
    gamma_max: float = -1.0
    loss_type: str = "kl-bwd"
    teacher_ema: bool = True             # refresh the teacher from the EMA (True) or the raw student weights
    t_min: float = 1e-3

    def __post_init__(self):
        if self.loss_type not in LOSS_TYPES:
            raise ValueError(f"unknown DCD loss_type {self.loss_type!r}; valid: {LOSS_TYPES}")
        if self.base_steps < 1 or self.update_teacher_every < 1:
            raise ValueError(f"base_steps and update_teacher_every must be >= 1, got {self.base_steps}, "
                             f"{self.update_teacher_every}")
        if not self.gamma_min < self.gamma_max:
            raise ValueError(f"need gamma_min < gamma_max, got {self.gamma_min}, {self.gamma_max}")

    def to_dict(self) -> dict:
        return asdict(self)


def dcd_step_size(step: int, *, base_steps: int, update_teacher_every: int) -> float:
    """dt = 2^n / T in round n = step // update_teacher_every. Raises once dt would exceed the unit time interval."""
    rounds = step // update_teacher_every
    dt = 2.0 ** rounds / base_steps
    if dt > 1.0:
        raise ValueError(f"DCD step {step} is in round {rounds} where dt = 2^{rounds}/{base_steps} > 1; "
                         f"stop after {update_teacher_every * (base_steps.bit_length())} steps or raise base_steps")
    return dt


def coupled_latents(duality: GaussianDuality, x0: torch.Tensor, gamma_t: torch.Tensor, gamma_s: torch.Tensor,
                    rng: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """(w_t, w_s) = (α̃_t x_0 + σ̃_t ε, α̃_s x_0 + σ̃_s ε) with one shared ε. x0 [B, L]; gammas [B] → 2 × [B, L, V]."""
    noise = torch.randn((*x0.shape, duality.vocab_size), device=x0.device, generator=rng)
    return duality.latent(x0, gamma_t, noise), duality.latent(x0, gamma_s, noise)


def distillation_divergence(log_p_student: torch.Tensor, log_p_teacher: torch.Tensor, loss_type: str) -> torch.Tensor:
    """Eq. (1): per-token KL in the chosen direction. [B, L, V] log-probabilities → [B, L]."""
    if loss_type == "kl-bwd":
        return (log_p_student.exp() * (log_p_student - log_p_teacher)).sum(-1)
    if loss_type == "kl-fwd":
        return (log_p_teacher.exp() * (log_p_teacher - log_p_student)).sum(-1)
    raise ValueError(f"unknown DCD loss_type {loss_type!r}; valid: {LOSS_TYPES}")


def dcd_loss(process: UniformDiffusion, student: torch.nn.Module, round_teacher: torch.nn.Module, x0: torch.Tensor, *,
             dt: float, settings: DCDSettings, attention_mask: torch.Tensor | None = None,
             t: torch.Tensor | None = None, rng: torch.Generator | None = None) -> tuple[torch.Tensor, dict]:
    """One DCD loss evaluation (Duo `Distillation.nll`). Returns (mean per-token divergence, metrics).

    1. t ~ U[t_min, 1] (antithetic), shifted to t + dt and clipped to 1; s = t − dt.
    2. coupled latents at γ_t, γ_s from one ε; z_t, z_s = their argmaxes; α = T(γ).
    3. student x_θ(z_t, t) with gradients; round teacher x_θ⁻(z_s, s) without.
    4. divergence (eq. 1), averaged over the tokens of attention_mask.
    """
    duality = duality_for_vocab(process.vocab_size)
    if t is None:
        t = antithetic_times(x0.shape[0], t_min=settings.t_min, device=x0.device, rng=rng)
    t = (t + dt).clamp(max=1.0)
    s = t - dt
    span = settings.gamma_max - settings.gamma_min
    gamma_t, gamma_s = settings.gamma_min + t * span, settings.gamma_min + s * span
    w_t, w_s = coupled_latents(duality, x0, gamma_t, gamma_s, rng=rng)
    log_p_student = process.denoiser_log_probs(student, w_t.argmax(-1), duality.alpha(gamma_t))
    with torch.no_grad():
        log_p_teacher = process.denoiser_log_probs(round_teacher, w_s.argmax(-1), duality.alpha(gamma_s))
    token_loss = distillation_divergence(log_p_student, log_p_teacher, settings.loss_type)
    loss = masked_mean(token_loss, attention_mask)
    return loss, {"dcd_kl": loss.detach(), "dt": torch.tensor(dt)}
