"""DiDi-Instruct's losses: the discriminator's, the reward it gives, the grouped advantage and the student's.

Legend (paper / public code → here), shapes B rollouts, L length, V data vocabulary, G group size:
    x_0 ~ data                  real token ids                                                x0        [B, L]
    x̂_0 = G_θ(two steps)        the student's 2-step rollout 1 → τ → t_end                    tokens    [B, L]
    τ                           the rollout's intermediate time, one per rollout             tau       [B]
    z_real, z_fake              x_0 and x̂_0 masked at α_τ: the coupled time (both at the rollout's own τ)
    D_ψ(z, σ_τ)                 discriminator logits, one per position                       logits    [B, L]
    m                           positions [MASK] in z (the only positions any sum below runs over)
    r                           reward, one scalar per rollout                               [B]
    Â                           grouped advantage                                            [B]
    ω(τ) = −α'(τ)/(1 − α(τ))    the time weight (= 1/τ for the log-linear schedule)          [B]
    log π_k                     Σ over positions unmasked in rollout step k of log p_θ(token) [B]

Discriminator (per-token BCE with label smoothing s, targets 1 − s for real and s for fake):
    L_D = ½ [ mean_{m_real} BCE(D(z_real), 1 − s) + mean_{m_fake} BCE(D(z_fake), s) ]          (1)
Reward and advantage (groups are G consecutive rows; rollouts are unconditional, so a group is G independent ones):
    r_b = mean_{l ∈ m_fake,b} clip(D(z_fake)_bl, ±r_max)                                       (2)
    Â_b = clip( (r_b − mean_g r) / (std_g r + 1e-8), ±A_max )    (std unbiased, as torch.std)   (3)
Student (REINFORCE on the rollout, with the teacher as KL anchor and an entropy bonus):
    L_θ = −mean_b[ ω(τ_b) Â_b (log π_1 + log π_2)_b ] + β_KL (c KL_1 + c KL_2) − β_H H            (4)
    KL_k = mean over positions masked before step k of KL(p_teacher ‖ p_θ);  c = 0.01 (the code's constant)
    H    = mean over the same positions of the entropy of p_θ, both steps
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

KL_SCALE = 0.01   # the public code's fixed factor on each step's KL, before kl_beta


def masked_mean(values: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean of `values` [B, L] over the positions where mask [B, L] is true, over the whole batch (0 when none)."""
    m = mask.to(values.dtype)
    return (values * m).sum() / m.sum().clamp_min(1.0)


def discriminator_loss(logits_real: torch.Tensor, masked_real: torch.Tensor, logits_fake: torch.Tensor,
                       masked_fake: torch.Tensor, *, label_smoothing: float) -> tuple[torch.Tensor, dict]:
    """L_D of (1) and its metrics: the accuracy of each side at its masked positions."""
    real = F.binary_cross_entropy_with_logits(logits_real, torch.full_like(logits_real, 1.0 - label_smoothing),
                                              reduction="none")
    fake = F.binary_cross_entropy_with_logits(logits_fake, torch.full_like(logits_fake, label_smoothing),
                                              reduction="none")
    loss = 0.5 * (masked_mean(real, masked_real) + masked_mean(fake, masked_fake))
    return loss, {"real_accuracy": masked_mean((logits_real > 0).float(), masked_real).detach(),
                  "fake_accuracy": masked_mean((logits_fake < 0).float(), masked_fake).detach()}


def sequence_rewards(logits: torch.Tensor, masked: torch.Tensor, *, clip: float) -> torch.Tensor:
    """r of (2), [B]: the clipped logits averaged over each rollout's masked positions (0 when none is masked)."""
    m = masked.to(logits.dtype)
    return (logits.clamp(-clip, clip) * m).sum(-1) / m.sum(-1).clamp_min(1.0)


def group_advantages(rewards: torch.Tensor, group_size: int, *, clip: float) -> torch.Tensor:
    """Â of (3), [B]; rows [g·G, (g+1)·G) form group g."""
    if rewards.shape[0] % group_size:
        raise ValueError(f"{rewards.shape[0]} rewards do not split into groups of {group_size}")
    groups = rewards.view(-1, group_size)
    normalised = (groups - groups.mean(-1, keepdim=True)) / (groups.std(-1, keepdim=True) + 1e-8)
    return normalised.clamp(-clip, clip).view(-1)


def time_weight(process, tau: torch.Tensor, *, low: float, high: float) -> torch.Tensor:
    """ω(τ), [B], clamped to [low, high] (the code: by finite difference; the process gives it in closed form)."""
    return process.loss_weight(tau).clamp(low, high)


def kl_and_entropy(log_p_teacher: torch.Tensor, log_p_student: torch.Tensor,
                   masked: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(KL(teacher ‖ student), entropy of the student), each averaged over the masked positions; log-probs over the
    data vocabulary [B, L, V]."""
    p_teacher, p_student = log_p_teacher.exp(), log_p_student.exp()
    kl = (p_teacher * (log_p_teacher - log_p_student)).sum(-1)
    entropy = -(p_student * log_p_student).sum(-1)
    return masked_mean(kl, masked), masked_mean(entropy, masked)


def student_loss(weight: torch.Tensor, advantage: torch.Tensor, log_pi: torch.Tensor, kl: torch.Tensor,
                 entropy: torch.Tensor, *, kl_beta: float, entropy_beta: float) -> torch.Tensor:
    """L_θ of (4). weight, advantage: [B] without gradient; log_pi: [B] = log π_1 + log π_2; kl: the sum of both
    steps' KL; entropy: H."""
    policy = -(weight * advantage * log_pi).mean()
    return policy + kl_beta * KL_SCALE * kl - entropy_beta * entropy
