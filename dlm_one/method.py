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
from dlm_one.losses import StageSettings, fake_loss, generator_loss


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


def loss_times(batch_size: int, settings: DLMOneSettings, device) -> torch.Tensor:
    return torch.randint(settings.t_min, settings.t_max, (batch_size,), device=device)


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
