"""DiDi-Instruct (MDLM) as a `core.distill.DistillMethod`: the student is the generator, the discriminator the fake.

A batch is real token ids x0 [B, L]. One iteration of the core loop (its `rollout` option), with this method's pieces
(equations in didi/losses.py):
    0. rollout, no gradient: τ ~ Beta(2, 2) clamped to [0.02, 0.98] per row; all-[MASK] → ancestral step 1 → τ → x_τ
       → step τ → t_end → x̂_0; coupled time: z_real = mask(x0, α_τ), z_fake = mask(x̂_0, α_τ)
    1. discriminator step on that rollout: ψ ← ψ − η_ψ ∇ L_D                                           (1)
    2. student step on the same rollout, rewarded by the just-updated ψ: r (2), Â per group of G rows (3);
       the student's log-probs of both steps recomputed with gradient: log π_1 + log π_2 (the intermediate-state
       matching), KL to the teacher at both states, entropy; θ ← θ − η_θ ∇ L_θ                          (4)
There is no old policy and no ratio: one REINFORCE update per rollout, the teacher the KL anchor.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from core.categorical import sample_categorical
from core.distill import DistillMethod
from didi.losses import (discriminator_loss, group_advantages, kl_and_entropy, sequence_rewards, student_loss,
                         time_weight)

TAU_DISTRIBUTIONS = ("beta22", "uniform")


@dataclass
class DiDiSettings:
    group_size: int = 4                # G: rollouts per reward group (the code repeats each data row 4 times)
    tau: str = "beta22"                # τ ~ Beta(2, 2) (code default) | uniform (the latest yaml's beta11)
    tau_min: float = 0.02              # τ clamped to [tau_min, tau_max]
    tau_max: float = 0.98
    t_end: float = 1e-3                # the rollout's last time: ~0.1% of positions may stay masked
    label_smoothing: float = 0.1       # BCE targets 0.9 (real) and 0.1 (fake)
    reward_clip: float = 8.0
    advantage_clip: float = 3.0
    weight_min: float = 0.1            # ω(τ) = 1/τ clamped to [weight_min, weight_max]
    weight_max: float = 10.0
    kl_beta: float = 1.0
    entropy_beta: float = 0.02

    def __post_init__(self):
        if self.tau not in TAU_DISTRIBUTIONS:
            raise ValueError(f"unknown didi tau {self.tau!r}; valid: {TAU_DISTRIBUTIONS}")
        if not 0 < self.tau_min <= self.tau_max < 1:
            raise ValueError(f"need 0 < tau_min <= tau_max < 1, got [{self.tau_min}, {self.tau_max}]")


def draw_tau(batch_size: int, settings: DiDiSettings, device) -> torch.Tensor:
    if settings.tau == "beta22":
        tau = torch.distributions.Beta(torch.tensor(2.0), torch.tensor(2.0)).sample((batch_size,))
    else:
        tau = torch.rand(batch_size)
    return tau.clamp(settings.tau_min, settings.tau_max).to(device)


def ancestral_step(process, log_p: torch.Tensor, x: torch.Tensor, t: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
    """x_s ~ q(x_s | x_t, x_θ) for s < t (MDLM's posterior, clean tokens carried over). log_p: SUBS [B, L, V+1]."""
    proposal = sample_categorical(process.posterior_weights(log_p.exp(), x, t, s))
    return torch.where(x == process.mask_id, proposal, x)


def step_log_probs(process, network, states: torch.Tensor, times: torch.Tensor) -> torch.Tensor:
    """The network's log x_θ over the data vocabulary at both rollout states in one call: states [2, B, L], times
    [2, B] → [2, B, L, V]."""
    k, b = states.shape[:2]
    log_p = process.denoiser_log_probs(network, states.flatten(0, 1), process.schedule.alpha(times.flatten()))
    return log_p[..., :process.vocab_size].unflatten(0, (k, b))


def two_step_rollout(process, student, x0: torch.Tensor, settings: DiDiSettings) -> dict:
    """Step 0 of the module docstring for the rows of x0 [B, L] (call without gradient). The states the student saw
    are kept (states [2, B, L] at times [2, B]) so the student step recomputes their log-probs with gradient."""
    batch, device = x0.shape[0], x0.device
    tau = draw_tau(batch, settings, device)
    ones, end = torch.ones_like(tau), torch.full_like(tau, settings.t_end)
    x_1 = process.prior_sample(batch, x0.shape[1], device=device)
    alpha = process.schedule.alpha     # every family's denoiser takes the signal level α_t (core.contracts)
    x_tau = ancestral_step(process, process.denoiser_log_probs(student, x_1, alpha(ones)), x_1, ones, tau)
    tokens = ancestral_step(process, process.denoiser_log_probs(student, x_tau, alpha(tau)), x_tau, tau, end)
    return {"states": torch.stack([x_1, x_tau]), "times": torch.stack([ones, tau]), "tokens": tokens, "tau": tau,
            "z_real": process.forward_sample(x0, tau), "z_fake": process.forward_sample(tokens, tau)}


def policy_terms(process, log_p: torch.Tensor, rollout: dict) -> tuple[torch.Tensor, torch.Tensor]:
    """(log π_1 + log π_2 [B], masks [2, B, L] of the positions masked before each step). log_p [2, B, L, V]: the
    step distributions; a position newly unmasked in step k adds log p_k(the token it took). Positions still masked
    after a step add the log of a constant and are left out."""
    states, tokens = rollout["states"], rollout["tokens"]
    after = torch.stack([states[1], tokens])                                      # each step's outcome
    masked_before = states == process.mask_id
    unmasked_now = masked_before & (after != process.mask_id)
    chosen = log_p.gather(-1, after.clamp_max(process.vocab_size - 1)[..., None]).squeeze(-1)
    return (chosen * unmasked_now).sum(dim=(0, 2)), masked_before


def didi_method(process, teacher: torch.nn.Module, settings: DiDiSettings, *, validate=None,
                select_key: str | None = None) -> DistillMethod:
    """DiDi-Instruct bound to the frozen MDLM teacher and its process; the loop's fake role is the discriminator."""

    def rollout(student, x0):
        return two_step_rollout(process, student, x0, settings)

    def discriminator_step_loss(discriminator, r, x0):
        sigma = process.schedule.sigma(r["tau"])
        z_real, z_fake = r["z_real"], r["z_fake"]
        return discriminator_loss(discriminator(z_real, sigma), z_real == process.mask_id,
                                  discriminator(z_fake, sigma), z_fake == process.mask_id,
                                  label_smoothing=settings.label_smoothing)

    def generate(student, r):   # the rollout's step distributions again, now with gradient
        return r, step_log_probs(process, student, r["states"], r["times"])

    def student_step_loss(discriminator, sample, x0):
        r, log_p = sample
        with torch.no_grad():
            masked_fake = r["z_fake"] == process.mask_id
            rewards = sequence_rewards(discriminator(r["z_fake"], process.schedule.sigma(r["tau"])), masked_fake,
                                       clip=settings.reward_clip)
            advantage = group_advantages(rewards, settings.group_size, clip=settings.advantage_clip)
            weight = time_weight(process, r["tau"], low=settings.weight_min, high=settings.weight_max)
            log_p_teacher = step_log_probs(process, teacher, r["states"], r["times"]) if settings.kl_beta else None
        log_pi, masked_before = policy_terms(process, log_p, r)
        kl = entropy = torch.zeros((), device=log_p.device)
        for k in range(2):
            reference = log_p_teacher[k] if log_p_teacher is not None else log_p[k].detach()
            kl_k, entropy_k = kl_and_entropy(reference, log_p[k], masked_before[k])
            kl, entropy = kl + kl_k, entropy + entropy_k / 2
        loss = student_loss(weight, advantage, log_pi, kl, entropy, kl_beta=settings.kl_beta,
                            entropy_beta=settings.entropy_beta)
        return loss, {"reward": rewards.mean(), "reward_std": rewards.std(), "log_pi": log_pi.mean().detach(),
                      "kl": kl.detach(), "entropy": entropy.detach()}

    return DistillMethod(generate=generate, fake_loss=discriminator_step_loss, generator_loss=student_step_loss,
                         validate=validate, select_key=select_key, rollout=rollout, group_size=settings.group_size)
