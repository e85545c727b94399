"""IDLM as a `core.distill.DistillMethod`: a batch is real token ids x0 [B, L]; a sample is (p, t)."""
from __future__ import annotations

from dataclasses import dataclass

import torch

from core.discriminator import FakeScoreNetwork
from core.networks import copy_for_training
from core.distill import DistillMethod
from idlm.adversarial import adversarial_fake_loss, adversarial_generator_loss
from idlm.losses import LOSS_TIMES, fake_loss, generator_loss, loss_times, student_probs, student_times


@dataclass
class IDLMSettings:
    loss_time: str = "coupled"         # coupled (IDLM code) | same | independent (the paper's description)
    t_min: float = 1e-3                # t ~ stratified U[t_min, 1]
    grid_steps: int = 0                # 0: continuous t (IDLM). K: t on the K-step sampler's grid (student_times)
    adversarial: bool = False          # DLM-One's discriminator on the fake network (idlm/adversarial.py)
    fake_weights: tuple[float, float] = (0.5, 0.5)        # (IDLM fake loss, discriminator loss): Table 5's ψ row
    generator_weights: tuple[float, float] = (0.5, 0.5)   # (IDLM generator loss, adversarial term): Table 5 stage 1

    def __post_init__(self):
        if self.loss_time not in LOSS_TIMES:
            raise ValueError(f"unknown idlm loss_time {self.loss_time!r}; valid: {LOSS_TIMES}")
        if self.grid_steps and self.loss_time == "same":
            # `same` puts t' on the grid too: at K = 1 only t' = 1, where x_t' (all-mask, or Duo's pure-noise latent)
            # carries nothing of the sample, so the student would be held to the teacher's per-position marginals
            raise ValueError("idlm grid_steps > 0 needs loss_time coupled or independent: the loss times must span "
                             "(t_min, 1], not only the grid's")
        for name in ("fake_weights", "generator_weights"):
            weights = tuple(getattr(self, name))
            if len(weights) != 2 or min(weights) < 0:
                raise ValueError(f"idlm {name} must be two weights >= 0 (IDLM loss, adversarial), got {weights}")
            setattr(self, name, weights)


def fake_network(teacher: torch.nn.Module, settings: IDLMSettings, *, dropout: float | None = None) -> torch.nn.Module:
    """The fake model: a trainable copy of the teacher, with DLM-One's zero-initialised discriminator head on its last
    hidden state when the adversarial term is on."""
    fake = copy_for_training(teacher, dropout=dropout)
    return FakeScoreNetwork(fake, readout="linear").to(next(fake.parameters()).device) if settings.adversarial else fake


def idlm_method(process, teacher: torch.nn.Module, settings: IDLMSettings, *, validate=None,
                select_key: str | None = None) -> DistillMethod:
    """The IDLM losses bound to one frozen teacher network and its process."""

    def generate(student, x0):
        t = student_times(x0.shape[0], t_min=settings.t_min, grid_steps=settings.grid_steps, device=x0.device)
        return student_probs(process, student, x0, t), t

    def fake_step_loss(fake, sample, x0):
        p, t = sample
        t_loss = loss_times(t, settings.loss_time, t_min=settings.t_min)
        if settings.adversarial:
            return adversarial_fake_loss(process, fake, p, x0, t_loss, settings.fake_weights)
        return fake_loss(process, fake, p, t_loss)

    def generator_step_loss(fake, sample, x0):
        p, t = sample
        t_loss = loss_times(t, settings.loss_time, t_min=settings.t_min)
        if settings.adversarial:
            loss, metrics = adversarial_generator_loss(process, teacher, fake, p, t_loss, settings.generator_weights)
        else:
            loss, metrics = generator_loss(process, teacher, fake, p, t_loss)
        # how peaked the student's x_0-prediction is: the entropy drift IDLM is known for shows here first
        metrics["p_entropy"] = -(p * p.clamp_min(1e-30).log()).sum(-1).mean().detach()
        return loss, metrics

    return DistillMethod(generate=generate, fake_loss=fake_step_loss, generator_loss=generator_step_loss,
                         validate=validate, select_key=select_key)
