"""Exponential moving average of parameters (MDLM/SEDD/DiffuSeq sample from the EMA weights)."""
from __future__ import annotations

import contextlib

import torch


class EMA:
    """shadow ← decay_n · shadow + (1 − decay_n) · θ after every update n.

    warmup: decay_n = min(decay, (1 + n) / (10 + n)) (TensorFlow's `num_updates` rule). The papers' EMA (0.9999, no
    warm-up) suits 10^5–10^6 steps; a CPU run of a few thousand steps would otherwise keep a large share of the random
    initialisation in its EMA weights. Set warmup=False for the papers' behaviour.
    """

    def __init__(self, model: torch.nn.Module, decay: float = 0.9999, warmup: bool = True):
        if not 0.0 <= decay < 1.0:
            raise ValueError(f"EMA decay must be in [0, 1), got {decay}")
        self.decay = decay
        self.warmup = warmup
        self.num_updates = 0
        self.shadow = {k: p.detach().clone() for k, p in model.named_parameters() if p.requires_grad}

    def current_decay(self) -> float:
        if not self.warmup:
            return self.decay
        return min(self.decay, (1 + self.num_updates) / (10 + self.num_updates))

    @torch.no_grad()
    def update(self, model: torch.nn.Module) -> None:
        decay = self.current_decay()
        self.num_updates += 1
        for k, p in model.named_parameters():
            if k in self.shadow:
                self.shadow[k].lerp_(p.detach(), 1.0 - decay)

    def state_dict(self) -> dict[str, torch.Tensor]:
        """Parameter names → shadow tensors (so the dict loads into the model as is)."""
        return dict(self.shadow)

    def full_state_dict(self, model: torch.nn.Module) -> dict[str, torch.Tensor]:
        """A complete state dict of the EMA model: the model's buffers (e.g. rotary inv_freq) and EMA parameters."""
        return model.state_dict() | self.state_dict()

    def load_state_dict(self, state: dict[str, torch.Tensor], num_updates: int | None = None) -> None:
        missing = set(self.shadow) - set(state)
        if missing:
            raise KeyError(f"EMA state is missing {sorted(missing)[:5]}...")
        for k in self.shadow:
            self.shadow[k].copy_(state[k])
        if num_updates is not None:
            self.num_updates = num_updates

    @torch.no_grad()
    def copy_to(self, model: torch.nn.Module) -> None:
        for k, p in model.named_parameters():
            if k in self.shadow:
                p.copy_(self.shadow[k])

    @contextlib.contextmanager
    def swapped_in(self, model: torch.nn.Module):
        """Temporarily load EMA weights into `model` (for validation / sampling), restoring the raw weights after."""
        backup = {k: p.detach().clone() for k, p in model.named_parameters() if k in self.shadow}
        self.copy_to(model)
        try:
            yield model
        finally:
            with torch.no_grad():
                for k, p in model.named_parameters():
                    if k in backup:
                        p.copy_(backup[k])
