"""Self-conditioning for the DiffuSeq network (Chen, Zhang and Hinton, 2023, "Analog Bits", §3 and Algorithms 1-2;
not in DiffuSeq, used by its successors SeqDiffuSeq and CDCD): the network also sees its own previous x0 estimate.

Both wrappers stand where the process expects a network (`model(z_t, t)` plus its embedding and read-out
attributes), so `DiffuSeqProcess.training_losses` and every sampler run unchanged:
- training (`SelfConditionedTraining`): with probability 1/2 per batch, as Algorithm 1, x0_hat = f(z_t, t) without
  gradient, and the loss is taken on f(z_t, t, x0_hat); otherwise on f(z_t, t), so the network stays a plain
  denoiser too (what DLM-One's scores of a self-conditioned teacher read).
- sampling (`SelfConditionedSampling`): each call feeds back the previous call's x0 estimate (Algorithm 2). A call
  whose t is not below the previous call's, or whose shape differs, starts a new trajectory without one: samplers
  visit strictly decreasing times, so a new candidate or batch is always recognised. The estimate fed back is the
  network's own output, before the sampler rounds it to the nearest embeddings, as in training.
"""
from __future__ import annotations

import torch


class _Delegating:
    """Everything but the call is the wrapped network's (get_embeds, get_logits, word_embedding, lm_head, config)."""

    def __init__(self, network):
        self.network = network

    def __getattr__(self, name):
        return getattr(self.network, name)


class SelfConditionedTraining(_Delegating):
    def __init__(self, network, probability: float = 0.5, rng: torch.Generator | None = None):
        super().__init__(network)
        self.probability, self.rng = probability, rng

    def __call__(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        if torch.rand((), generator=self.rng).item() >= self.probability:
            return self.network(x, t)
        with torch.no_grad():
            x0_hat = self.network(x, t)
        return self.network(x, t, x0_hat)


class SelfConditionedSampling(_Delegating):
    def __init__(self, network):
        super().__init__(network)
        self.previous: tuple[torch.Tensor, torch.Tensor] | None = None   # (x0 estimate, its t)

    def __call__(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        x0_hat = None
        if self.previous is not None:
            estimate, previous_t = self.previous
            if estimate.shape == x.shape and bool((t < previous_t).all()):
                x0_hat = estimate
        x0 = self.network(x, t, x0_hat)
        self.previous = (x0, t)
        return x0


def for_sampling(network):
    """The network a sampler should call: the feedback wrapper when it was trained self-conditioned, else itself."""
    return SelfConditionedSampling(network) if getattr(network.config, "self_condition", False) else network
