"""DLM-One (Algorithm 1) as a `core.distill.DistillMethod`. A batch is real pairs {"input_ids", "input_mask"}
[B, L] in DiffuSeq's layout; a sample is the generator's embeddings x_g [B, L, E].

One iteration of the core loop, with this method's pieces (see `dlm_one.losses` for the equations):
    1. ψ step:  x_g = G_θ(z, c) (no gradient);  t ~ U{t_min … t_max − 1}, ε ~ N(0, I) shared by fake and real;
                x_t^g = q(x_g, t, ε), x_t^r = q(EMB(y), t, ε);  ψ ← ψ − η_ψ ∇ [a_dsm L_dsm + b_adv L_D]
    2. θ step:  x_g = G_θ(z, c);  fresh (t, ε);  x_t = q(x_g, t, ε);  teacher φ and ψ frozen, NOT detached;
                θ ← θ − η_θ ∇ mean_i [a_sd L_sid,i + b_adv L_adv,i]
t ~ randint(t_min, t_max) with the upper bound exclusive, as the discrete-timestep SiD code draws it.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from core.distill import DistillMethod
from dlm_one.generator import one_step
from dlm_one.losses import (adversarial_generator_loss, channel_mean_logits, denoising_loss, discriminator_loss,
                            sid_loss, sid_normaliser)
from teachers.diffuseq import x0_mse


@dataclass
class StageSettings:
    """One row of DLM-One Table 5 (the loss coefficients of one stage)."""
    alpha: float = 1.2                 # μ: SiD's α
    a_dsm: float = 0.5                 # ψ: weight of the denoising loss
    b_adv_fake: float = 0.5            # ψ: weight of the discriminator loss
    a_sd: float = 0.5                  # θ: weight of the SiD loss
    b_adv_generator: float = 0.5       # θ: weight of the adversarial term


@dataclass
class DLMOneSettings:
    t_init: int = 1490                 # the generator's single evaluation level (Table 5)
    t_min: int = 0                     # loss levels t ~ U{t_min … t_max − 1} (Table 5: [0, 1976])
    t_max: int = 1976
    stage: StageSettings = None

    def __post_init__(self):
        self.stage = self.stage or StageSettings()
        if not 0 <= self.t_min < self.t_max:
            raise ValueError(f"need 0 <= t_min < t_max, got [{self.t_min}, {self.t_max}]")


# G_θ and ψ keep the teacher's word embedding (source embeddings, rounding and the tied head) and the head's bias
# frozen, so the student keeps the teacher's vocabulary geometry: core.networks.copy_for_training(keep_frozen=...)
VOCABULARY = ("word_embedding", "lm_head.bias")


READOUTS = ("linear", "mean")


class FakeScoreNetwork(torch.nn.Module):
    """ψ: a trainable copy of the teacher's network that doubles as the discriminator, its logits read from its own
    last hidden state (`dlm_one.losses` legend): readout "mean" (SiDA, no new parameter) or "linear" (a Linear(H, 1)
    head initialised at zero, so ψ starts as the teacher with logits 0)."""

    def __init__(self, network: torch.nn.Module, readout: str = "linear"):
        super().__init__()
        if readout not in READOUTS:
            raise ValueError(f"unknown discriminator readout {readout!r}; valid: {READOUTS}")
        self.network, self.readout = network, readout
        if readout == "linear":
            self.head = torch.nn.Linear(network.config.hidden_size, 1)
            torch.nn.init.zeros_(self.head.weight)
            torch.nn.init.zeros_(self.head.bias)

    def forward(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        return self.network(x, t)

    def hidden_states(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        return self.network.hidden_states(x, t)

    def read_out(self, h: torch.Tensor) -> torch.Tensor:
        return self.network.read_out(h)

    def logits(self, h: torch.Tensor) -> torch.Tensor:
        """[B, L, H] -> [B, L]."""
        return self.head(h).squeeze(-1) if self.readout == "linear" else channel_mean_logits(h)


def loss_times(batch_size: int, settings: DLMOneSettings, device) -> torch.Tensor:
    return torch.randint(settings.t_min, settings.t_max, (batch_size,), device=device)


def fake_predictions(process, fake, xt: torch.Tensor, t: torch.Tensor, with_logits: bool):
    """ψ's x0 prediction and (when the adversarial term is on) its per-position logits, from ONE pass."""
    if not with_logits:
        return process.denoise(fake, xt, t), None
    h = fake.hidden_states(xt, process.model_time(t))
    return fake.read_out(h).to(xt.dtype), fake.logits(h)


def fake_loss(process, fake, x_g: torch.Tensor, x_real: torch.Tensor, mask: torch.Tensor, stage: StageSettings,
              t: torch.Tensor, noise: torch.Tensor) -> tuple[torch.Tensor, dict]:
    """L_ψ = a_dsm L_dsm + b_adv L_D on detached generator samples and real targets under the same (t, ε)."""
    x_g = x_g.detach()
    use_adv = stage.b_adv_fake > 0
    f_fake, l_fake = fake_predictions(process, fake, process.forward_sample(x_g, t, noise, mask), t, use_adv)
    dsm = denoising_loss(x0_mse(f_fake, x_g), mask)
    loss, metrics = stage.a_dsm * dsm, {"dsm": dsm.detach()}
    if use_adv:
        h_real = fake.hidden_states(process.forward_sample(x_real, t, noise, mask), process.model_time(t))
        l_real = fake.logits(h_real)
        disc = discriminator_loss(l_real, l_fake, mask)
        loss = loss + stage.b_adv_fake * disc
        on = mask.bool()
        metrics.update(disc=disc.detach(), real_logit=l_real[on].mean().detach(),
                       fake_logit=l_fake[on].mean().detach())
    return loss, metrics


def generator_loss(process, teacher, fake, x_g: torch.Tensor, mask: torch.Tensor, stage: StageSettings,
                   t: torch.Tensor, noise: torch.Tensor) -> tuple[torch.Tensor, dict]:
    """L_θ = mean_i [a_sd L_sid,i + b_adv L_adv,i] on one shared x_t for teacher and ψ (both frozen, not detached)."""
    xt = process.forward_sample(x_g, t, noise, mask)
    f_teacher = process.denoise(teacher, xt, t)
    use_adv = stage.b_adv_generator > 0
    f_fake, l_fake = fake_predictions(process, fake, xt, t, use_adv)
    omega = sid_normaliser(x_g, f_teacher, mask)
    sid = sid_loss(x_g, f_teacher, f_fake, mask, alpha=stage.alpha, omega=omega)
    per_sample = stage.a_sd * sid
    metrics = {"sid": sid.mean().detach(), "omega": omega.mean()}
    if use_adv:
        adv = adversarial_generator_loss(l_fake, mask, omega)
        per_sample = per_sample + stage.b_adv_generator * adv
        metrics["adv"] = adv.mean().detach()
    return per_sample.mean(), metrics


def dlm_one_method(process, teacher: torch.nn.Module, embed, settings: DLMOneSettings, *, validate=None,
                   select_key: str | None = None) -> DistillMethod:
    """The DLM-One losses bound to a frozen teacher, its process and its word embedding `embed(ids) -> [B, L, E]`
    (the condition c and the real targets both come from the teacher's table)."""

    def draw(x: torch.Tensor):
        return loss_times(x.shape[0], settings, x.device), torch.randn_like(x)

    def generate(generator, batch):
        x_src = embed(batch["input_ids"])
        return one_step(process, generator, x_src, batch["input_mask"], t_init=settings.t_init,
                        z=torch.randn_like(x_src))

    def fake_step_loss(fake, x_g, batch):
        with torch.no_grad():
            x_real = embed(batch["input_ids"])
        return fake_loss(process, fake, x_g, x_real, batch["input_mask"], settings.stage, *draw(x_g))

    def generator_step_loss(fake, x_g, batch):
        return generator_loss(process, teacher, fake, x_g, batch["input_mask"], settings.stage, *draw(x_g))

    return DistillMethod(generate=generate, fake_loss=fake_step_loss, generator_loss=generator_step_loss,
                         validate=validate, select_key=select_key)
