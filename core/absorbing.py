"""The absorbing-state ([MASK]) forward corruption shared by masked teachers (MDLM, SEDD-absorbing).

q(z_t^l | x^l) = α_t · 1[z_t^l = x^l] + (1 − α_t) · 1[z_t^l = m], independently per position (SEDD's
`Absorbing.sample_transition`, MDLM's `q_xt`); `move_chance` is 1 − α_t = 1 − exp(−σ(t)).
"""
from __future__ import annotations

import torch


def mask_tokens(x0: torch.Tensor, move_chance: torch.Tensor, mask_id: int,
                rng: torch.Generator | None = None) -> torch.Tensor:
    """z_t ~ q(z_t | x): each token of x0 [B, L] becomes mask_id with probability move_chance ([B], or broadcastable
    to [B, L]). Returns LongTensor [B, L]."""
    if move_chance.dim() == 1:
        move_chance = move_chance[:, None]
    masked = torch.rand(x0.shape, device=x0.device, generator=rng) < move_chance
    return torch.where(masked, torch.full_like(x0, mask_id), x0)
