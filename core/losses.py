"""Small loss pieces shared by every teacher's loss and by the distillation losses."""
from __future__ import annotations

import torch


def cross_entropy(x0: torch.Tensor, log_probs: torch.Tensor) -> torch.Tensor:
    """−Σ_v x0_v log q_v per position: x0 ids [B, L] (one-hot) or probabilities [B, L, V] (a soft x0, IDLM);
    log_probs [B, L, V'] with V' ≥ V (extra columns, e.g. [MASK], get no mass). Returns [B, L]."""
    if x0.is_floating_point():
        return -(x0 * log_probs[..., :x0.shape[-1]]).sum(-1)
    return -log_probs.gather(-1, x0[..., None]).squeeze(-1)


def masked_mean(values: torch.Tensor, attention_mask: torch.Tensor | None = None) -> torch.Tensor:
    """Mean of per-token values [B, L] over the tokens where attention_mask is 1 (all tokens if None)."""
    if attention_mask is None:
        return values.mean()
    return (values * attention_mask).sum() / attention_mask.sum()
