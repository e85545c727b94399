"""The networks (DiT, DiffuSeqNet, the Hub loaders) and `copy_for_training`, the one way a method copies a network."""
from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import fields, replace

import torch

DROPOUT_FIELDS = ("dropout", "attention_dropout")   # a network config's dropout rates (DiT: dropout only)


def copy_for_training(network: torch.nn.Module, *, dropout: float | None = None, keep_frozen: Sequence[str] = (),
                      frozen: bool = False) -> torch.nn.Module:
    """A copy of `network` (e.g. a loaded, frozen teacher) on its device: a student, fake score network or round
    teacher starts from it.

    Trainable (train mode, gradients on) by default, except the parameters and submodules named in `keep_frozen`
    (e.g. DLM-One keeps the word embedding). `dropout` (if given) replaces every dropout rate of the network's config,
    which rebuilds the network from it. frozen=True gives an eval-mode copy without gradients (SDTT's and DCD's round
    teacher, refreshed in place)."""
    config = getattr(network, "config", None)
    rates = [f.name for f in fields(config) if f.name in DROPOUT_FIELDS] if hasattr(config, "__dataclass_fields__") \
        else []
    if dropout is not None and rates:
        clone = type(network)(replace(config, **{name: dropout for name in rates}))
        clone.load_state_dict(network.state_dict())
    else:
        clone = copy.deepcopy(network)
    clone.to(next(iter(network.parameters()), torch.zeros(())).device)
    if frozen:
        return clone.eval().requires_grad_(False)
    clone.train().requires_grad_(True)
    for name in keep_frozen:
        try:
            part = clone.get_parameter(name)
        except AttributeError:   # not a parameter: a submodule
            part = clone.get_submodule(name)
        part.requires_grad_(False)
    return clone
