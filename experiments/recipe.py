"""The contract between a teacher's pretraining recipe and the shared loop in `experiments.pretrain`."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import torch


@dataclass
class Recipe:
    """What a teacher's pretraining needs from its recipe; `main` runs the shared loop on it."""
    model: torch.nn.Module
    loss_fn: Callable                        # (model, batch) -> (loss, metrics)
    train_rows: torch.Tensor
    valid_rows: torch.Tensor
    export: Callable                         # (model, ema, step) -> None: write <run_dir>/pretrained
    val_key: str                             # name of the held-out loss in the log ("nelbo", "loss", ...)
    before_step: Callable | None = None      # (step, model, ema) before each update
    extend_eval: Callable | None = None      # eval_fn -> eval_fn with extra validation metrics
    stateful: dict = field(default_factory=dict)   # extra resumable state (see core.training.train)
    val_loss_fn: Callable | None = None      # validation loss when it must differ from loss_fn (default loss_fn):
                                             # DiffuSeq's training loss feeds the loss-aware t history, validation must not
