"""DLM-One's losses: score identity distillation (SiD) in embedding space plus the SiDA adversarial term.

Legend (paper / SiD code → here), shapes B batch, L length, E embedding size:
    c                      the condition: clean source embeddings where mask = 0            x_src   [B, L, E]
    x_g = G_θ(z, c)        the generator's one-step sample (source positions = c)           x_g     [B, L, E]
    t, ε                   one noise level and one Gaussian draw, SHARED by teacher and ψ   t [B], noise [B, L, E]
    x_t = α_t x_g + σ_t ε  DiffuSeq's forward process (source positions stay clean)         process.forward_sample
    f_φ(x_t, t)            the teacher's x0 prediction (frozen, not detached)               f_teacher
    f_ψ(x_t, t)            the fake score network's x0 prediction                           f_fake
    l = D_ψ(x_t, t)        discriminator logits, one per position, read from ψ's own last hidden state h_ψ(x_t, t)
                           (DLM-One's exact read-out is not public): "mean" = SiDA's channel mean of h, or "linear" =
                           a zero-initialised Linear(H, 1) on h (`core.discriminator.FakeScoreNetwork`)  [B, L]
    m                      target positions (input_mask = 1): every sum below runs over them only
    μ (α)                  SiD's α; a_sd, b_adv (θ) and a_dsm, b_adv (ψ): DLM-One Table 5

Generator loss (SiD, DLM-One eq. for L_θ with the weight ω(t) α_t²/σ_t⁴ realised, as in the SiD code, by a per-sample
normaliser):
    ω_i     = sg( mean_{m} |x_g − f_φ| ), clipped below at 1e-5                              (1)
    L_sid,i = Σ_{m, E} (f_φ − f_ψ) ⊙ [ (f_φ − x_g) − α (f_φ − f_ψ) ] / ω_i                   (2)
    L_adv,i = mean_{m} softplus(−clamp(l_fake, −10, 10)) / ω_i                               (3)
    L_θ     = mean_i [ a_sd L_sid,i + b_adv L_adv,i ]
Fake / discriminator loss on a DETACHED x_g, real targets x_r = EMB(target ids), the same (t, ε) for both:
    L_dsm   = mean_{i, m} ‖x_g − f_ψ(x_t^g, t)‖² / E      DiffuSeq's x0-MSE (teachers.diffuseq.x0_mse)   (4)
    L_D     = ½ [ mean_{i, m} softplus(−l_real) + mean_{i, m} softplus(l_fake) ]                (5)
    L_ψ     = a_dsm L_dsm + b_adv L_D
At ψ = φ the bracket's first factor is zero, so L_sid and its gradient vanish (tests/test_dlm_one.py).
Choices (say so): (3) is a MEAN over target positions (the reference notes' "mean softplus … scaled per sample by
1/ω_i") while (2) is a SUM over target elements, as in SiD; so with Table 5's 0.5/0.5 the SiD term carries most of
the generator's gradient once ψ departs from φ. The SiDA clamp(−10, 10) is kept. The read-out: BERT's last hidden
state leaves a LayerNorm, so its channel mean is Σ_j γ_j n_j / H + mean(β) with n the normalised features (zero
mean, unit variance): a linear discriminator whose weights are the final LayerNorm's gains, so |l − mean β| is at
most about std(γ) until the gains themselves grow, by ≤ lr per step. On a CPU-length run that read-out barely moves
(tests/test_dlm_one.py shows it on a separable toy), hence the default "linear" head, which starts at 0 (ψ's SiD
part is unchanged at initialisation) and is ψ's only new parameter.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from core.discriminator import discriminator_logit_loss, generator_logit_loss

from teachers.diffuseq import x0_mse

OMEGA_MIN = 1e-5            # SiD clips the normaliser below


def on_targets(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """x [B, L, ...] with source positions (mask = 0) zeroed, so sums run over targets only."""
    m = mask.to(x.dtype)
    return x * m.view(*m.shape, *([1] * (x.dim() - 2)))


def sid_normaliser(x_g: torch.Tensor, f_teacher: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """ω_i of (1), [B], detached."""
    count = mask.sum(-1).to(x_g.dtype) * x_g.shape[-1]
    mean_abs = on_targets((x_g - f_teacher).abs(), mask).flatten(1).sum(-1) / count
    return mean_abs.detach().clamp_min(OMEGA_MIN)


def sid_loss(x_g: torch.Tensor, f_teacher: torch.Tensor, f_fake: torch.Tensor, mask: torch.Tensor, *,
             alpha: float, omega: torch.Tensor) -> torch.Tensor:
    """L_sid,i of (2), [B]. Nothing is detached here: θ reaches it through x_g and, via x_t, through both networks."""
    gap = f_teacher - f_fake
    return on_targets(gap * ((f_teacher - x_g) - alpha * gap), mask).flatten(1).sum(-1) / omega


def adversarial_generator_loss(l_fake: torch.Tensor, mask: torch.Tensor, omega: torch.Tensor) -> torch.Tensor:
    """L_adv,i of (3), [B]: the generator wants its samples called real."""
    per_position = on_targets(generator_logit_loss(l_fake), mask).sum(-1) / mask.sum(-1).to(l_fake.dtype)
    return per_position / omega


def discriminator_loss(l_real: torch.Tensor, l_fake: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """L_D of (5), a scalar: real logits up, fake logits down, over target positions."""
    return on_targets(discriminator_logit_loss(l_real, l_fake), mask).sum() / mask.sum().to(l_real.dtype)


def denoising_loss(per_position: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """L_dsm of (4) from the per-position x0-MSE [B, L]: the mean over target positions."""
    return on_targets(per_position, mask).sum() / mask.sum().to(per_position.dtype)


# --- the two losses of one iteration (Table 5's coefficients of one stage) -------------------------------------------
@dataclass
class StageSettings:
    """One row of DLM-One Table 5 (the loss coefficients of one stage)."""
    alpha: float = 1.2                 # μ: SiD's α
    a_dsm: float = 0.5                 # ψ: weight of the denoising loss
    b_adv_fake: float = 0.5            # ψ: weight of the discriminator loss
    a_sd: float = 0.5                  # θ: weight of the SiD loss
    b_adv_generator: float = 0.5       # θ: weight of the adversarial term


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
