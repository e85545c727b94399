"""A discriminator read from the fake network's own last hidden state (SiDA / DLM-One), shared by DLM-One's ψ and
IDLM's fake model (`idlm.adversarial=true`).

Legend, shapes B batch, L length, H hidden size:
    h = h_ψ(x_t, t)     the fake network's last hidden state, from the same pass as its prediction   [B, L, H]
    l = D_ψ(x_t, t)     one logit per position                                                      [B, L]
        readout "linear": l = w·h + b, a Linear(H, 1) initialised at zero, so ψ starts as the teacher and every
                          logit as 0 (DLM-One's read-out is not public; this is ψ's only new parameter)
        readout "mean":   l = mean_H h, SiDA's channel mean (no new parameter)
Per-position logistic losses; each method reduces them over positions and samples its own way:
    discriminator   ½ [softplus(−l_real) + softplus(l_fake)]      real logits up, fake logits down        (D)
    generator       softplus(−clamp(l_fake, −10, 10))             non-saturating: the generator wants its
                                                                  samples called real (SiDA's clamp)     (G)
At a zero head (l = 0) (G) is the constant log 2 and its gradient is exactly 0 (dl/dh = w = 0).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from core.cost import count_pass

READOUTS = ("linear", "mean")
LOGIT_CLAMP = 10.0          # SiDA clamps the generator's logits


class FakeScoreNetwork(torch.nn.Module):
    """A trainable copy of the teacher's network that doubles as the discriminator. The wrapped network provides
    `hidden_states(x, *condition)` and `read_out(h, *condition)` with forward = read_out ∘ hidden_states
    (the DiT's read-out is conditioned on σ, DiffuSeq's on nothing)."""

    def __init__(self, network: torch.nn.Module, readout: str = "linear"):
        super().__init__()
        if readout not in READOUTS:
            raise ValueError(f"unknown discriminator readout {readout!r}; valid: {READOUTS}")
        self.network, self.readout = network, readout
        if readout == "linear":
            self.head = torch.nn.Linear(network.config.hidden_size, 1)
            torch.nn.init.zeros_(self.head.weight)
            torch.nn.init.zeros_(self.head.bias)

    def forward(self, x: torch.Tensor, *condition) -> torch.Tensor:
        return self.network(x, *condition)

    def hidden_states(self, x: torch.Tensor, *condition) -> torch.Tensor:
        h = self.network.hidden_states(x, *condition)
        count_pass(self.network, h)   # a pass of the backbone outside its forward: counted in the training cost
        return h

    def read_out(self, h: torch.Tensor, *condition) -> torch.Tensor:
        return self.network.read_out(h, *condition)

    def logits(self, h: torch.Tensor) -> torch.Tensor:
        """[B, L, H] -> [B, L]."""
        return self.head(h).squeeze(-1) if self.readout == "linear" else channel_mean_logits(h)


def channel_mean_logits(h: torch.Tensor) -> torch.Tensor:
    """SiDA's read-out, one logit per position: the mean over the hidden dimension, [B, L, H] -> [B, L]."""
    return h.mean(-1)


def discriminator_logit_loss(l_real: torch.Tensor, l_fake: torch.Tensor) -> torch.Tensor:
    """(D) per position, [B, L]."""
    return 0.5 * (F.softplus(-l_real) + F.softplus(l_fake))


def generator_logit_loss(l_fake: torch.Tensor) -> torch.Tensor:
    """(G) per position, [B, L]."""
    return F.softplus(-l_fake.clamp(-LOGIT_CLAMP, LOGIT_CLAMP))
