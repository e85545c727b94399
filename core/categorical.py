"""Categorical sampling shared by every discrete sampler.

Float64 matters: Gumbel/exponential-race sampling in float32 truncates the smallest noise values, which acts like a
lowered temperature — it deflates entropy and flatters generative perplexity (Zheng et al., 2024, "Masked diffusion
models are secretly time-agnostic masked models and exploit inaccurate categorical sampling"). Every sampler here
defaults to `float64=True`.
"""
from __future__ import annotations

import torch


def sample_categorical(probs: torch.Tensor, *, float64: bool = True, rng: torch.Generator | None = None) -> torch.Tensor:
    """Draw one index per row from (possibly unnormalised) non-negative weights.

    probs: [..., V] → LongTensor [...]. Uses the exponential race argmax_i p_i / E_i with E_i ~ Exp(1), which is exact
    for unnormalised weights (MDLM's `_sample_categorical` is the same race, in float32 there).
    """
    dtype = torch.float64 if float64 else torch.float32
    p = probs.to(dtype)
    u = torch.rand(p.shape, dtype=dtype, device=p.device, generator=rng)
    exp_noise = -torch.log(u.clamp_min(torch.finfo(dtype).tiny))
    return (p / exp_noise).argmax(dim=-1)


def temper_probs(logits: torch.Tensor, *, temperature: float = 1.0, top_p: float = 1.0, float64: bool = True) -> torch.Tensor:
    """softmax(logits / temperature) with optional nucleus (top-p) truncation, renormalised. [..., V] → [..., V]."""
    if temperature <= 0:
        raise ValueError(f"temperature must be > 0, got {temperature}")
    if not 0.0 < top_p <= 1.0:
        raise ValueError(f"top_p must be in (0, 1], got {top_p}")
    dtype = torch.float64 if float64 else torch.float32
    probs = torch.softmax(logits.to(dtype) / temperature, dim=-1)
    if top_p < 1.0:
        probs = nucleus(probs, top_p)
    return probs


def nucleus(probs: torch.Tensor, top_p: float) -> torch.Tensor:
    """Keep the smallest set of most likely entries whose mass reaches top_p (always keeps the argmax)."""
    sorted_p, order = probs.sort(dim=-1, descending=True)
    mass_before = sorted_p.cumsum(dim=-1) - sorted_p
    sorted_p = torch.where(mass_before < top_p, sorted_p, torch.zeros_like(sorted_p))
    kept = torch.zeros_like(probs).scatter(-1, order, sorted_p)
    return kept / kept.sum(dim=-1, keepdim=True)

