"""IDLM as a `core.distill.DistillMethod`: a batch is real token ids x0 [B, L]; a sample is (p, t)."""
from __future__ import annotations

from dataclasses import dataclass

import torch

from core.distill import DistillMethod
from idlm.losses import LOSS_TIMES, fake_loss, generator_loss, loss_times, stratified_times, student_probs


@dataclass
class IDLMSettings:
    loss_time: str = "coupled"         # coupled (IDLM code) | same | independent (the paper's description)
    t_min: float = 1e-3                # t ~ stratified U[t_min, 1]

    def __post_init__(self):
        if self.loss_time not in LOSS_TIMES:
            raise ValueError(f"unknown idlm loss_time {self.loss_time!r}; valid: {LOSS_TIMES}")


def idlm_method(process, teacher: torch.nn.Module, settings: IDLMSettings, *, validate=None,
                select_key: str | None = None) -> DistillMethod:
    """The IDLM losses bound to one frozen teacher network and its process."""

    def generate(student, x0):
        t = stratified_times(x0.shape[0], t_min=settings.t_min, device=x0.device)
        return student_probs(process, student, x0, t), t

    def fake_step_loss(fake, sample, x0):
        p, t = sample
        return fake_loss(process, fake, p, loss_times(t, settings.loss_time, t_min=settings.t_min))

    def generator_step_loss(fake, sample, x0):
        p, t = sample
        loss, metrics = generator_loss(process, teacher, fake, p, loss_times(t, settings.loss_time,
                                                                             t_min=settings.t_min))
        # how peaked the student's x_0-prediction is: the entropy drift IDLM is known for shows here first
        metrics["p_entropy"] = -(p * p.clamp_min(1e-30).log()).sum(-1).mean().detach()
        return loss, metrics

    return DistillMethod(generate=generate, fake_loss=fake_step_loss, generator_loss=generator_step_loss,
                         validate=validate, select_key=select_key)
