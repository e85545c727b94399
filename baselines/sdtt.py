"""SDTT: self-distillation through time for a masked diffusion LM (Deschenaux & Gulcehre, 2025, "Beyond
Autoregression: Fast LLMs via Self-Distillation Through Time"; its public code's MDLM distillation). Few-step MDLM
students, sampled with `teachers.mdlm.sample`.

Legend:
    x_0          clean data tokens [B, L] (SDTT distils on the data batch)
    t            t ~ antithetic U[ε, 1], ε = 1e-5 (the sampler's last time)
    z_t          x_0 with each token masked with probability 1 − α_t
    dt           the teacher's step in round n: dt = (1 − ε) / base_steps · 2^n
    teacher      x_θ⁻: the round teacher (baselines/rounds.py), a frozen copy of the student refreshed from its raw
                 weights at the start of every round; not the MDLM model the run starts from
    student      x_θ(z_t): one forward, trained to do in one step of 2·dt what the teacher does in two steps of dt
    T^l          the teacher's target at a position l masked in z_t: its log x_θ⁻ from the step in which l was
                 unmasked; positions still masked after both steps take the last step's prediction

Teacher steps (ancestral, MDLM's posterior with SUBS; sampled in float64):
    step i: from time t_i to t_i − dt, at input z^(i) (z^(0) = z_t); z^(i+1) ~ q(· | z^(i), x_θ⁻(z^(i)))
Loss per masked position (`loss`), averaged over the positions masked in z_t (SDTT's "batchmean" over masked tokens):
    kl-bwd (SDTT default):  KL(x_θ ‖ T) = Σ_v x_θ,v (log x_θ,v − T_v)                                    (1)
    kl-fwd:                 KL(T ‖ x_θ)
    mse:                    mean_v (log x_θ,v − T_v)²   (on log-probabilities, over the data vocabulary)
Rounds: round n = step // steps_per_round; at every round start the teacher ← student. With base_steps = 1024 and
K = 8 there are log2(1024 / 8) = 7 rounds; the last teaches one student step of 2·64/1024 = 1/8.

The teacher's time grid (`teacher_grid`), a deliberate choice. The public code means its two teacher steps to be
evenly spaced, t → t − dt → t − 2dt ("even", the default here), but its interpolation writes (1 − t_start)
where (1 − space) was meant, so the steps start at t_0 = t + (1 − t)(t − 2dt) and t_1 = (1 − t)(t − 2dt) (clamped
to ≥ ε): "public" reproduces that. The teacher is not time-conditioned, so times only set how many masked tokens a step
unmasks (a fraction dt / t_i under the log-linear schedule); and since a token not unmasked in step 1 takes the
prediction made at z^(1) whether step 2 unmasks it or not, only step 1's fraction changes the target. Under "public"
step 1 starts at t_0 ≥ t and unmasks fewer tokens than the z_t it reads has room for: the target leans more on the
second prediction. A step time below 0 is clamped to 0 (the step then unmasks everything).
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch

from baselines.dcd import distillation_divergence
from core.categorical import sample_categorical
from core.schedules import antithetic_times

LOSSES = ("kl-bwd", "kl-fwd", "mse")
TEACHER_GRIDS = ("even", "public")
EPS = 1e-5            # SDTT's sampling_eps: times stay in [ε, 1]; the MDLM sampler's grid ends at the same ε
TEACHER_STEPS = 2     # teacher steps per student step (the public code's num_distill_steps)


@dataclass
class SDTTSettings:
    base_steps: int = 1024           # round 0: the teacher's step is (1 − ε)/1024
    final_steps: int = 8             # K: the rounds end when one student step is 1/K (the public code: 8)
    steps_per_round: int = 10_000    # optimizer steps per round (the public code's grow_dt_every)
    loss: str = "kl-bwd"
    teacher_grid: str = "even"

    def __post_init__(self):
        if self.loss not in LOSSES:
            raise ValueError(f"unknown SDTT loss {self.loss!r}; valid: {LOSSES}")
        if self.teacher_grid not in TEACHER_GRIDS:
            raise ValueError(f"unknown SDTT teacher_grid {self.teacher_grid!r}; valid: {TEACHER_GRIDS}")
        ratio = self.base_steps // max(self.final_steps, 1)
        if self.final_steps < 1 or ratio < 2 or ratio * self.final_steps != self.base_steps or ratio & (ratio - 1):
            raise ValueError(f"SDTT halves the step count each round: base_steps / K must be a power of two >= 2, "
                             f"got base_steps={self.base_steps}, K={self.final_steps}")
        if self.steps_per_round < 1:
            raise ValueError(f"steps_per_round must be >= 1, got {self.steps_per_round}")

    @property
    def rounds(self) -> int:
        return int(math.log2(self.base_steps // self.final_steps))

    @property
    def total_steps(self) -> int:
        return self.rounds * self.steps_per_round

    def to_dict(self) -> dict:
        return asdict(self)


def sdtt_step_size(step: int, settings: SDTTSettings) -> float:
    """The teacher's dt in the round of `step`: (1 − ε)/base_steps · 2^round. Raises past the last round."""
    rounds = step // settings.steps_per_round
    if rounds >= settings.rounds:
        raise ValueError(f"SDTT step {step} is past the last round ({settings.rounds} rounds of "
                         f"{settings.steps_per_round} steps end at {settings.base_steps // 2 ** settings.rounds} "
                         f"student steps)")
    return (1.0 - EPS) / settings.base_steps * 2.0 ** rounds


def teacher_times(t: torch.Tensor, dt: float, grid: str, n_steps: int = TEACHER_STEPS) -> torch.Tensor:
    """Start times [n_steps, B] of the teacher's steps from t [B] (each step goes from t_i to t_i − dt)."""
    t = t.double()
    if grid == "even":
        times = torch.stack([t - i * dt for i in range(n_steps)])
    elif grid == "public":
        space = torch.linspace(1.0, 0.0, n_steps, dtype=torch.float64, device=t.device)[:, None]
        t_end = t - n_steps * dt
        times = t * space + (1.0 - t) * t_end          # sic: the public code's (1 − t_start), see the module doc
    else:
        raise ValueError(f"unknown SDTT teacher_grid {grid!r}; valid: {TEACHER_GRIDS}")
    return times.clamp_min(EPS)


@torch.no_grad()
def teacher_targets(process, teacher, zt: torch.Tensor, t: torch.Tensor, dt: float, *, grid: str = "even",
                    n_steps: int = TEACHER_STEPS, rng: torch.Generator | None = None) -> torch.Tensor:
    """T: the teacher's log x_θ⁻ [B, L, V] (data vocabulary) for every position of z_t [B, L], taken from the step in
    which the position was unmasked, else from the last step. Positions unmasked in z_t are 0 (no loss reads them)."""
    vocab = process.vocab_size
    targets = torch.zeros((*zt.shape, vocab), device=zt.device)
    x = zt
    for t_i in teacher_times(t, dt, grid, n_steps):
        # 1. the teacher's prediction at the current input, in fp32 (autocast off, as the public code)
        with torch.autocast(device_type=zt.device.type, enabled=False):
            log_p = process.denoiser_log_probs(teacher, x, process.schedule.alpha(t_i.float()))
        # 2. one ancestral step t_i → t_i − dt in float64 (a step that would end below 0 unmasks everything)
        weights = process.posterior_weights(log_p.double().exp(), x, t_i, (t_i - dt).clamp_min(0.0))
        x_next = torch.where(x == process.mask_id, sample_categorical(weights, rng=rng), x)
        # 3. positions unmasked in this step keep this step's prediction as their target
        unmasked_now = x_next != x
        targets[unmasked_now] = log_p[..., :vocab][unmasked_now]
        x = x_next
    still_masked = x == process.mask_id
    targets[still_masked] = log_p[..., :vocab][still_masked]
    return targets


def sdtt_divergence(log_student: torch.Tensor, log_target: torch.Tensor, loss: str) -> torch.Tensor:
    """Eq. (1) and its alternatives per position: [B, L, V] log-probabilities → [B, L]."""
    if loss == "mse":
        return (log_student - log_target).pow(2).mean(-1)
    return distillation_divergence(log_student, log_target, loss)


def sdtt_loss(process, student, teacher, x0: torch.Tensor, *, dt: float, settings: SDTTSettings,
              t: torch.Tensor | None = None, rng: torch.Generator | None = None) -> tuple[torch.Tensor, dict]:
    """One SDTT loss evaluation. Returns (mean divergence over the positions masked in z_t, metrics).

    1. t ~ antithetic U[ε, 1]; z_t by masking x_0.
    2. the teacher's targets T from two steps of dt (no gradient).
    3. the student's log x_θ(z_t) with gradient; divergence (1) on the positions masked in z_t.
    """
    if t is None:
        t = antithetic_times(x0.shape[0], t_min=EPS, device=x0.device, rng=rng)
    zt = process.forward_sample(x0, t, rng=rng)
    target = teacher_targets(process, teacher, zt, t, dt, grid=settings.teacher_grid, rng=rng)
    log_student = process.x0_log_probs(student, zt, zt, t).float()
    masked = (zt == process.mask_id).float()
    per_position = sdtt_divergence(log_student, target, settings.loss)
    loss = (per_position * masked).sum() / masked.sum().clamp_min(1.0)
    return loss, {"sdtt_loss": loss.detach(), "dt": torch.tensor(dt), "masked_fraction": masked.mean()}
