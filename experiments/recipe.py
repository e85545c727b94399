"""A recipe on the one-model loop (core.training.train): the contract between a recipe and the loop, and the loop
run on it. Pretraining (experiments.pretrain) and the methods that train one student against a frozen, periodically
refreshed copy of itself (experiments.rounds) both train this way."""
from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from omegaconf import OmegaConf

from core import distributed
from core.checkpoint import atomic_write_text
from core.seeding import derived_rng
from core.training import TrainSettings, train
from experiments.data_identity import saved_run_config
from experiments.setup import global_batch


@dataclass
class Recipe:
    """What the one-model loop needs from a recipe; train_recipe runs the loop on it."""
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


# Validation draws its noise (t, masks) from this fixed seed, inside a forked RNG, so every evaluation of a run sees
# the same noise and the numbers are comparable across evaluations and resumes; the value itself is arbitrary.
VALIDATION_SEED = 1234
# A step beyond any curriculum's end: Duo's loss reads the step to decide whether the curriculum's soft inputs still
# apply, and validation must measure the plain NELBO.
PAST_ANY_CURRICULUM = 10**12
# validation losses that are a mean negative log-likelihood per token (nats), where bits per token mean something;
# DCD's KL and DiffuSeq's MSE + rounding loss are not
PER_TOKEN_NLL_KEYS = ("nelbo", "nll")


def batch_sampler(blocks: torch.Tensor, batch_size: int, seed: int, device):
    """get_batch(step) -> (rows [B, L], step): a pure function of (seed, step) so resumed runs see the same data; B is
    the global batch, which the loop shares out over processes and micro-batches.
    Each step's rows come from their own derived stream (core.seeding), never from the model-init stream."""
    def get_batch(step: int):
        g = derived_rng(seed, f"pretrain-batch-{step}")
        return blocks[torch.randint(len(blocks), (batch_size,), generator=g)].to(device), step
    return get_batch


def held_out_eval(loss_fn, blocks: torch.Tensor, batch_size: int, device, key: str):
    """Mean loss over fixed validation blocks, with a fixed RNG so numbers are comparable across evaluations."""
    def eval_fn(model) -> dict:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(VALIDATION_SEED)
            losses = [loss_fn(model, (blocks[i:i + batch_size].to(device), PAST_ANY_CURRICULUM))[0].item()
                      for i in range(0, len(blocks), batch_size)]
        value = sum(losses) / len(losses)
        if key not in PER_TOKEN_NLL_KEYS:
            return {key: value}
        return {key: value, "bits_per_token": value / math.log(2.0)}
    return eval_fn


def recipe_eval_fn(r: Recipe, cfg, device, batch_size: int | None = None):
    """The periodic validation of a recipe: held-out loss on `train.eval_batches` batches (of batch_size, default
    train.batch_size) of fixed rows (its val_loss_fn when it has one), plus the recipe's extra metrics."""
    batch_size = batch_size or cfg.train.batch_size
    eval_rows = r.valid_rows[: cfg.train.eval_batches * batch_size]
    eval_fn = held_out_eval(r.val_loss_fn or r.loss_fn, eval_rows, batch_size, device, r.val_key)
    if r.extend_eval is not None:  # e.g. DiffuSeq adds BLEU of a few-step decode
        eval_fn = r.extend_eval(eval_fn)
    return eval_fn


def train_recipe(r: Recipe, cfg, device, run_dir, settings: TrainSettings, *, section, cost=None) -> dict:
    """Run the shared loop (core.training.train) on a recipe: pretraining, and the methods that train one student
    against a frozen, periodically refreshed copy (experiments.rounds). `section` is the config block (train or
    distill) whose global batch each step draws and whose batch_size the evaluation uses; `cost` (core/cost.py) is
    kept up to date by the loop. Returns the loop's summary."""
    if distributed.is_main():
        atomic_write_text(f"{run_dir}/config.yaml", OmegaConf.to_yaml(cfg))
    n_params = sum(p.numel() for p in r.model.parameters())
    print(f"{cfg.teacher} ({cfg.preset}, {n_params / 1e6:.2f}M parameters) on {len(r.train_rows)} training rows; "
          f"device {device}, {torch.get_num_threads()} threads -> {run_dir}")
    return train(model=r.model, loss_fn=r.loss_fn,
                 get_batch=batch_sampler(r.train_rows, global_batch(section), cfg.seed, device),
                 run_dir=run_dir, settings=settings, config=saved_run_config(cfg), device=device,
                 eval_fn=recipe_eval_fn(r, cfg, device, section.batch_size), on_checkpoint=r.export,
                 before_step=r.before_step, stateful=r.stateful, cost=cost)
