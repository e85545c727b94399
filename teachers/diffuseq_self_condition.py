"""Self-conditioning for the DiffuSeq network (Chen, Zhang and Hinton, 2023, "Analog Bits", §3 and Algorithms 1-2;
not in DiffuSeq, used by its successors SeqDiffuSeq and CDCD): the network also sees its own previous x0 estimate.

Both wrappers stand where the process expects a network (`model(z_t, t)` plus its embedding and read-out
attributes), so `DiffuSeqProcess.training_losses` and every sampler run unchanged. `teachers.registry` hands every
command a self-conditioned folder's network inside the sampling wrapper (`for_sampling`); pretraining wraps its own.
- training (`SelfConditionedTraining`): with probability 1/2, as Algorithm 1, x0_hat = f(z_t, t) without gradient,
  and the loss is taken on f(z_t, t, x0_hat); otherwise on f(z_t, t), so the network stays a plain denoiser too.
  Algorithm 1 flips one coin per batch; here each example flips its own (the same expectation, and a constant cost
  per update). The committed `checkpoints/diffuseq-qqp-small-45k-sc` was trained with the per-batch coin. DLM-One
  refuses such a teacher: its score calls at unrelated times must not feed each other.
- sampling (`SelfConditionedSampling`): each call feeds back the previous call's x0 estimate (Algorithm 2). A call
  whose t is not below the previous call's, or whose shape differs, starts a new trajectory without one: samplers
  visit strictly decreasing times, so a new candidate or batch is always recognised. The estimate fed back is the
  network's own output, before the sampler rounds it to the nearest embeddings, as in training.
"""
from __future__ import annotations

import torch
import torch.nn as nn


class SelfConditionedTraining:
    """Stands for the network in `DiffuSeqProcess.training_losses`; its other attributes are the network's."""

    def __init__(self, network, probability: float = 0.5, rng: torch.Generator | None = None):
        self.network, self.probability, self.rng = network, probability, rng

    def __getattr__(self, name):
        return getattr(self.network, name)

    def __call__(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            estimate = self.network(x, t)
        # a zero estimate is no estimate (the projection has no bias): one coin per example, and every update costs
        # the same passes, which the loops' pass counting (core/cost.py) assumes
        keep = torch.rand(x.shape[0], generator=self.rng) < self.probability
        return self.network(x, t, estimate * keep.to(estimate).view(-1, 1, 1))


class SelfConditionedSampling(nn.Module):
    """The teacher network a sampler calls: a module holding the network (so `.to`, `.eval` and `parameters` reach
    it), whose other attributes (get_embeds, word_embedding, lm_head, config) are the network's."""

    def __init__(self, network: nn.Module):
        super().__init__()
        self.network = network
        self.previous: tuple[torch.Tensor, torch.Tensor] | None = None   # (x0 estimate, its t)

    def __getattr__(self, name):
        try:
            return super().__getattr__(name)
        except AttributeError:
            return getattr(self._modules["network"], name)

    def forward(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        x0_hat = None
        if self.previous is not None:
            estimate, previous_t = self.previous
            if estimate.shape == x.shape and bool((t < previous_t).all()):
                x0_hat = estimate
        x0 = self.network(x, t, x0_hat)
        self.previous = (x0.detach(), t)
        return x0


def for_sampling(network):
    """The network a sampler should call: the feedback wrapper when it was trained self-conditioned, else itself."""
    return SelfConditionedSampling(network) if getattr(network.config, "self_condition", False) else network
