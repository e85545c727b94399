"""Reward-guided ancestral sampling (RGAS): MDLM's ancestral sampler with the discriminator steering each step.

Legend: K steps on the grid linspace(1, t_end, K + 1); h_i the guidance scale of step i, linear from h_start to h_end
over all K steps (the training release; the Oct release ramps over the tilting phase only); ρ the share of steps
that rerank; M candidates. D is called on σ = −log α.
    steps i < ⌊K(1 − ρ)⌋ (tilting):   log p ← log p + h_i · clip(∂R/∂log p, ±1), renormalised, where
                                      R = Σ over masked positions of D(x̃, σ(t)), x̃ the soft input: softmax(log p)
                                      at masked positions, one-hot of the token elsewhere
    the other steps (reranking):       M candidates x_s from the same transition, each scored Σ_l D(x_s, σ(s)) over all
                                      positions; one kept per row, drawn from softmax(h_i · score) (the training
                                      release; the Oct release: softmax(score))
    then a final noise removal (argmax of the student at t_end), as the plain sampler.
Cost per sequence: K + 1 student calls; a tilting step adds one D forward and backward, a reranking step M D forwards.
"""
from __future__ import annotations

import math

import torch

from core.categorical import sample_categorical
from core.schedules import SAMPLER_T_END, uniform_time_grid
from teachers.mdlm import NEG_INF


def tilt(process, discriminator, log_p: torch.Tensor, x: torch.Tensor, t: torch.Tensor, h: float) -> torch.Tensor:
    """log p [B, L, V+1] tilted up the discriminator's reward gradient (module docstring), renormalised."""
    masked = x == process.mask_id
    with torch.enable_grad():
        free = log_p.detach().float().requires_grad_(True)
        one_hot = torch.nn.functional.one_hot(x, log_p.shape[-1]).float()
        soft = torch.where(masked[..., None], free.softmax(-1), one_hot)
        reward = (discriminator(soft, process.schedule.sigma(t)) * masked).sum()
        (grad,) = torch.autograd.grad(reward, free)
    tilted = log_p + h * grad.clamp(-1.0, 1.0).to(log_p.dtype)
    tilted[..., process.mask_id] = NEG_INF
    return tilted.log_softmax(-1)


def rerank(process, discriminator, weights: torch.Tensor, x: torch.Tensor, s: torch.Tensor, h: float,
           candidates: int) -> torch.Tensor:
    """One of `candidates` draws x_s per row, chosen by softmax(h · Σ_l D(x_s, σ(s)))."""
    masked = x == process.mask_id
    draws = torch.stack([torch.where(masked, sample_categorical(weights), x) for _ in range(candidates)])   # [M, B, L]
    sigma = process.schedule.sigma(s).repeat(candidates)
    scores = discriminator(draws.flatten(0, 1), sigma).sum(-1).view(candidates, -1)                         # [M, B]
    pick = sample_categorical((h * scores.double()).softmax(0).T)                                            # [B]
    return draws[pick, torch.arange(x.shape[0], device=x.device)]


@torch.no_grad()
def rgas_sample(process, student, discriminator, *, batch_size: int, length: int, steps: int, device=None,
                guidance: tuple[float, float] = (0.2, 1.0), rerank_fraction: float = 0.5, candidates: int = 4,
                t_end: float = SAMPLER_T_END) -> tuple[torch.Tensor, float]:
    """Sample [B, L] ids with RGAS (module docstring). Returns (tokens, student calls per sequence)."""
    times = uniform_time_grid(steps, t_end=t_end, device=device)
    x = process.prior_sample(batch_size, length, device=device)
    tilting_steps = math.floor(steps * (1.0 - rerank_fraction))
    h_start, h_end = guidance
    for i in range(steps):
        t, s = (times[j].expand(batch_size).float() for j in (i, i + 1))
        h = h_start + (h_end - h_start) * i / max(steps - 1, 1)
        log_p = process.denoiser_log_probs(student, x, process.schedule.alpha(t)).double()               # 1. the student's x_θ
        if i < tilting_steps:                                                     # 2a. tilt it
            log_p = tilt(process, discriminator, log_p, x, t, h)
        weights = process.posterior_weights(log_p.exp(), x, t, s)
        if i < tilting_steps or candidates == 1:                                 # 3. step, or 2b. rerank
            x = torch.where(x == process.mask_id, sample_categorical(weights), x)
        else:
            x = rerank(process, discriminator, weights, x, s, h, candidates)
    calls = steps
    if (x == process.mask_id).any():                                              # 4. noise removal
        x = process.denoiser_log_probs(student, x, times[-1].expand(batch_size).float()).argmax(-1)
        calls += 1
    return x, float(calls)
