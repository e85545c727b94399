"""One generic training loop for every teacher (MDLM, Duo, SEDD, DiffuSeq, the reference AR model).

The loop is one visible sequence, as in nanoGPT:  lr → (eval / checkpoint) → forward/backward → clip → step → EMA → log.
It knows nothing about diffusion: a recipe hands it `loss_fn(model, batch) -> (loss, metrics)` and a batch function.

Resumable: the state folder `<run_dir>/checkpoint` holds model, EMA, optimizer, step and RNG; rerunning the same
command continues from it. `max_minutes` stops a run cleanly (checkpoint written) so a long training can span sittings.
"""
from __future__ import annotations

import contextlib
import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable

import torch
from tqdm import tqdm

from core import distributed
from core.checkpoint import has_training_state, load_training_state, rng_state, save_training_state
from core.cost import PassCounter, RunCost
from core.ema import EMA
from core.interrupt import StopRequest
from core.precision import announce_precision, resolve_precision
from core.run_log import RunLog


@dataclass
class TrainSettings:
    """One pretraining run's settings. The defaults are those of `train:` in experiments/configs/defaults.yaml (a
    test holds them equal), where each is explained; `betas` is the one setting the config does not expose, and
    micro_batch / seed are the config's train.batch_size / seed."""
    max_steps: int = 4000
    lr: float = 3e-4
    weight_decay: float = 0.0
    betas: tuple[float, float] = (0.9, 0.999)
    warmup_steps: int = 200
    lr_schedule: str = "constant"      # "constant" after warmup (MDLM/SEDD), "cosine" decay to 10%, or "wsd"
    decay_steps: int = 0               # wsd: constant, then linear decay to 10% over the last decay_steps
    grad_clip: float = 1.0
    ema_decay: float = 0.999           # shorter than the papers' 0.9999: CPU runs are a few thousand steps
    ema_warmup: bool = True            # decay_n = min(decay, (1+n)/(10+n)); see core/ema.py
    reset_ema: bool = False            # on resume, restart the EMA from the current weights (counter at 0)
    eval_every: int = 500
    save_every: int = 250
    log_every: int = 25
    precision: str = "auto"            # auto | fp32 | bf16 autocast; auto = bf16 only on native hardware (core/precision.py)
    max_minutes: float = 0.0           # 0 = no limit; else stop (with a checkpoint) after this many minutes
    budget: int = 0                    # stop once this many sequence passes are spent (core/cost.py; 0 = no budget);
                                       # the distillation baselines' `distill.budget`, not a pretraining key
    micro_batch: int = 0               # rows per forward on one process (0 = the batch split evenly over processes)
    seed: int = 0                      # noise of a step split into micro-batches (core/distributed.py)


def lr_at(step: int, *, lr: float, warmup_steps: int, schedule: str = "constant", max_steps: int = 0,
          decay_steps: int = 0) -> float:
    """Linear warm-up to `lr`, then "constant" (MDLM/SEDD/IDLM), "cosine" decay to 10% at max_steps, or "wsd"."""
    if step < warmup_steps:
        return lr * (step + 1) / warmup_steps
    if schedule == "constant":
        return lr
    if schedule == "cosine":
        progress = min(1.0, (step - warmup_steps) / max(1, max_steps - warmup_steps))
        return lr * (0.1 + 0.9 * 0.5 * (1.0 + math.cos(math.pi * progress)))
    if schedule == "wsd":
        # Warmup-stable-decay: a constant-lr run can be resumed and finished with a decay phase, which a cosine
        # schedule (fixed to max_steps from step 0) cannot.
        decay_start = max_steps - decay_steps
        progress = min(1.0, max(0.0, (step - decay_start) / max(1, decay_steps)))
        return lr * (1.0 - 0.9 * progress)
    raise ValueError(f"unknown lr_schedule {schedule!r}; valid: constant, cosine, wsd")


def learning_rate(step: int, s: TrainSettings) -> float:
    return lr_at(step, lr=s.lr, warmup_steps=s.warmup_steps, schedule=s.lr_schedule, max_steps=s.max_steps,
                 decay_steps=s.decay_steps)


def make_adamw(model: torch.nn.Module, *, lr: float, betas: tuple[float, float], weight_decay: float,
               eps: float = 1e-8) -> torch.optim.AdamW:
    """AdamW with weight decay on matrices only (norms, biases and embeddings' 1-D parameters exempt)."""
    decay, no_decay = [], []
    for name, p in model.named_parameters():
        if p.requires_grad:
            (no_decay if p.ndim < 2 or "norm" in name.lower() else decay).append(p)
    return torch.optim.AdamW([{"params": decay, "weight_decay": weight_decay},
                              {"params": no_decay, "weight_decay": 0.0}], lr=lr, betas=tuple(betas), eps=eps)


def set_lr(optimizer: torch.optim.Optimizer, lr: float) -> None:
    for group in optimizer.param_groups:
        group["lr"] = lr


def autocast_context(device: torch.device, precision: str):
    if precision == "fp32":
        return contextlib.nullcontext()
    if precision == "bf16":
        return torch.autocast(device_type=device.type, dtype=torch.bfloat16)
    raise ValueError(f"unknown precision {precision!r}; valid: fp32, bf16 (resolve auto with core.precision first)")


def ends_early(stop: StopRequest, start: float, max_minutes: float, step: int) -> bool:
    """Whether a loop ends before `step`: its time budget is spent or a SIGINT/SIGTERM arrived, as seen by any rank,
    so every rank stops at the same step (one clock running late must not leave the others waiting)."""
    if max_minutes and distributed.any_rank(time.time() - start > 60 * max_minutes):
        print(f"stopping at step {step}: max_minutes={max_minutes} reached (resume by rerunning)")
        return True
    return distributed.any_rank(stop.requested)


def train(*, model: torch.nn.Module, loss_fn: Callable, get_batch: Callable[[int], object], run_dir: str | Path,
          settings: TrainSettings, config: dict, device: torch.device,
          eval_fn: Callable[[torch.nn.Module], dict] | None = None,
          on_checkpoint: Callable[[torch.nn.Module, EMA, int], None] | None = None,
          before_step: Callable[[int, torch.nn.Module, EMA], None] | None = None,
          stateful: dict | None = None, cost: RunCost | None = None) -> dict:
    """Train until `settings.max_steps`, the `budget` of sequence passes (or `max_minutes`). Returns {"step",
    "finished", "last_eval"}. `cost` (core/cost.py) is kept up to date and resumes with the run.

    get_batch(step) must be deterministic in `step` so a resumed run sees the same data order; it returns the global
    batch, which under torchrun each process cuts into its micro-batches (core/distributed.py; rank 0 alone logs,
    evaluates and checkpoints).
    eval_fn(model) is called with the EMA weights swapped in; its dict is logged.
    on_checkpoint(model, ema, step) lets the recipe export a pretrained folder alongside the training state.
    before_step(step, model, ema) runs before each update (e.g. DCD refreshes its frozen teacher from the EMA).
    stateful: name -> object (state_dict()/load_state_dict() of tensors) saved and restored with the checkpoint,
    for training state that lives outside the model and optimizer.
    """
    run_dir = Path(run_dir)
    state_dir = run_dir / "checkpoint"
    cost, processes = cost or RunCost(), distributed.world_size()
    stateful = {**(stateful or {}), "cost": cost}
    model.to(device)
    optimizer = make_adamw(model, lr=settings.lr, betas=settings.betas, weight_decay=settings.weight_decay)
    ema = EMA(model, settings.ema_decay, warmup=settings.ema_warmup)
    roles = dict(models={"model": model}, optimizers={"model": optimizer})
    step = 0
    if has_training_state(state_dir):
        step = load_training_state(state_dir, **roles, emas={"model": ema}, device=device, stateful=stateful)["step"]
        print(f"resumed from {state_dir} at step {step}")
        if settings.reset_ema:
            ema = EMA(model, settings.ema_decay, warmup=settings.ema_warmup)
            print("EMA restarted from the current weights (train.reset_ema=true)")
    main = distributed.is_main()
    run_log = RunLog(run_dir, resume_step=step) if main else None
    log = run_log.write if main else (lambda record: None)
    plan, wrapped = distributed.StepPlan(settings.micro_batch, settings.seed), distributed.wrap(model, loss_fn, device)
    precision = announce_precision(settings.precision, device) if main else resolve_precision(settings.precision, device)

    def checkpoint(at_step: int):
        rank_rng = distributed.rank_rng_states(rng_state()) if distributed.is_distributed() else None
        if not main:
            return
        save_training_state(state_dir, **roles, emas={"model": ema}, step=at_step, stateful=stateful,
                            config={"run": config, "settings": asdict(settings)}, rank_rng=rank_rng)
        if on_checkpoint is not None:
            on_checkpoint(model, ema, at_step)

    def evaluate(at_step: int) -> dict:
        if not main:
            return {}
        model.eval()
        with ema.swapped_in(model), torch.no_grad():
            metrics = eval_fn(model)
        model.train()
        log({"step": at_step, "sequence_passes": cost.passes(at_step, processes),
             **{f"val/{k}": v for k, v in metrics.items()}})
        return metrics

    start, last_eval, finished = time.time(), {}, False
    model.train()
    stop = StopRequest()   # SIGINT / SIGTERM: finish this step, checkpoint, raise Interrupted (core/interrupt.py)
    bar = tqdm(total=settings.max_steps, initial=step, dynamic_ncols=True, mininterval=5.0, disable=not main)
    cost.start()
    while True:
        if step >= settings.max_steps or (settings.budget and cost.passes(step, processes) >= settings.budget):
            finished = True
            break
        if ends_early(stop, start, settings.max_minutes, step):
            break
        # 1. learning rate
        lr = learning_rate(step, settings)
        set_lr(optimizer, lr)
        # 2. forward / backward
        if before_step is not None:
            before_step(step, model, ema)
        batch = get_batch(step)
        optimizer.zero_grad(set_to_none=True)
        chunks = plan.chunks(batch)
        with PassCounter() as counter:
            for i, c in enumerate(chunks):   # gradient accumulation; DDP averages the last backward over processes
                with plan.sync_context(wrapped, i, len(chunks)):
                    with autocast_context(device, precision):
                        loss, metrics = wrapped(plan.chunk(batch, c, f"train-{step}"))
                    (loss / len(chunks)).backward()
        cost.passes_per_update = counter.total   # the same for every update of a run
        # 3. clip, step, EMA
        grad_norm = torch.nn.utils.clip_grad_norm_(model.parameters(), settings.grad_clip)
        optimizer.step()
        ema.update(model)
        cost.tick()
        step += 1
        # 4. log / eval / checkpoint
        if step % settings.log_every == 0 or step == 1:
            # the last micro-batch's loss and metrics, averaged over processes
            record = distributed.all_reduce_mean({"loss": loss.item(), **{k: float(v) for k, v in metrics.items()}})
            record = {"step": step, "lr": lr, "grad_norm": grad_norm.item(), "elapsed_s": time.time() - start,
                      "sequence_passes": cost.passes(step, processes), **record}
            log(record)
            bar.set_postfix(loss=f"{loss.item():.4f}", lr=f"{lr:.1e}")
        bar.update(1)
        if eval_fn is not None and step % settings.eval_every == 0:
            last_eval = evaluate(step)
        if step % settings.save_every == 0:
            checkpoint(step)
    bar.close()
    if eval_fn is not None and finished and step % settings.eval_every != 0:
        last_eval = evaluate(step)
    checkpoint(step)
    if main:
        run_log.close()
    distributed.barrier()   # the other processes return once rank 0's last checkpoint is written
    if stop.requested:
        stop.stop(step, state_dir)
    stop.restore()
    return {"step": step, "finished": finished, "last_eval": last_eval}
