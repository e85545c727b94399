"""Sinusoidal time features shared by the DiT (σ conditioning) and the DiffuSeq network (timestep conditioning)."""
from __future__ import annotations

import math

import torch


def timestep_embedding(t: torch.Tensor, dim: int, max_period: float = 10_000.0) -> torch.Tensor:
    """[cos(t ω_i), sin(t ω_i)] with ω_i = max_period^(−i/half) (the DiT / guided-diffusion / DiffuSeq form).
    t [B] (may be fractional) -> [B, dim]; an odd dim gets one zero column."""
    half = dim // 2
    freqs = torch.exp(-math.log(max_period) * torch.arange(half, dtype=torch.float32, device=t.device) / half)
    args = t[:, None].float() * freqs[None]
    emb = torch.cat([torch.cos(args), torch.sin(args)], dim=-1)
    if dim % 2:
        emb = torch.cat([emb, torch.zeros_like(emb[:, :1])], dim=-1)
    return emb
