"""The alternating distillation loop shared by IDLM (discrete) and DLM-One (embedding space).

Algorithm (IDLM Alg. 1; SiD / DLM-One Alg. 1 have the same shape), one iteration:

    1. fake step(s), `fake_steps` times:   x ~ data;  g = G_θ(x) without gradient (generator in eval mode)
                                            ψ ← ψ − η_ψ ∇_ψ L_fake(ψ; g, x)
    2. generator step:                     x ~ data;  g = G_θ(x) with gradient (fake in eval mode, frozen)
                                            θ ← θ − η_θ ∇_θ L_gen(θ; g, x)       (teacher and ψ frozen, not detached)
    3. EMA of θ (and of ψ if asked); log; validate (EMA weights) and keep the best; checkpoint.
    Until `max_steps` updates or the `budget` of sequence passes through all networks (core/cost.py) is spent.

A method supplies only `DistillMethod`: how the generator makes a sample and the two losses (teacher and data live
in its closures). The loop knows nothing of tokens or embeddings. Every update draws a fresh batch:
`get_batch(step, k)` must be a pure function of (step, k) so a resumed run sees the same data. A method with a
`rollout` (DiDi-Instruct) instead draws one batch per iteration, get_batch(step, 0): each micro-batch is rolled out
once, without gradient, and that rollout is the sample of the fake step(s) and the input of the generator step.

Resumable: `<run_dir>/checkpoint` holds both models, both optimizers, the EMAs, the best-so-far record, the RNG and
the step (atomic folder swap). Rerunning continues bit-identically on CPU (tests/test_distill_loop.py).

Under torchrun each update's global batch is cut into micro-batches over the processes, and DDP averages the
gradients of the trained roles (generator, fake); the frozen teacher lives unwrapped in the method's closures.
Rank 0 alone logs, validates and checkpoints (core/distributed.py).
"""
from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
from tqdm import tqdm

from core import distributed
from core.checkpoint import has_training_state, load_training_state, rng_state, save_training_state
from core.cost import PassCounter, RunCost
from core.ema import EMA
from core.interrupt import StopRequest
from core.precision import announce_precision, resolve_precision
from core.run_log import RunLog
from core.training import autocast_context, ends_early, lr_at, make_adamw, set_lr

STATE_DIR = "checkpoint"


@dataclass
class RoleSettings:
    """Optimizer of one trained role (IDLM: both roles AdamW(0.9, 0.999), constant lr after warm-up)."""
    lr: float = 1e-6
    betas: tuple[float, float] = (0.9, 0.999)
    weight_decay: float = 0.0
    warmup_steps: int = 0
    grad_clip: float = 0.0             # 0 = no clipping (the IDLM code never clips)


@dataclass
class DistillSettings:
    max_steps: int = 1000
    fake_steps: int = 1                # fake updates per generator update (IDLM `fake_frequency`)
    generator: RoleSettings = field(default_factory=RoleSettings)
    fake: RoleSettings = field(default_factory=RoleSettings)
    ema_decay: float = 0.9999
    ema_warmup: bool = True            # decay_n = min(decay, (1+n)/(10+n)), as the IDLM code
    fake_ema: bool = False             # IDLM keeps an EMA of the fake model that it never uses
    precision: str = "fp32"            # autocast of the generator's forward: fp32 | bf16 | auto (core/precision.py)
    eval_every: int = 100
    save_every: int = 100
    log_every: int = 10
    max_minutes: float = 0.0           # stop cleanly (checkpoint written) after this long; rerun to resume
    budget: int = 0                    # stop once this many sequence passes are spent (core/cost.py); 0 = max_steps only
    micro_batch: int = 0               # rows per forward on one process (0 = the batch split evenly over processes)
    seed: int = 0                      # noise of an update split into micro-batches (core/distributed.py)


@dataclass
class DistillMethod:
    """What a method hands the loop. `batch` is whatever get_batch returns (token ids, (source, target) pairs...)."""
    generate: Callable                 # (generator, batch) -> sample (differentiable in θ when grad is on)
    fake_loss: Callable                # (fake, sample, batch) -> (loss, metrics); sample is detached
    generator_loss: Callable           # (fake, sample, batch) -> (loss, metrics)
    validate: Callable | None = None   # (generator) -> metrics, generator holds its EMA weights, eval mode, no grad
    select_key: str | None = None      # metric of `validate` that picks the best checkpoint (lower is better)
    # One rollout reused by both updates (DiDi-Instruct): (generator, batch) -> rollout, run without gradient once per
    # micro-batch and iteration. The fake step then gets fake_loss(fake, rollout, batch); the generator step gets
    # generator_loss(fake, generate(generator, rollout), batch), generate recomputing with gradient what it needs.
    rollout: Callable | None = None
    group_size: int = 1                # rows that must share a micro-batch (DiDi's reward groups); rollout only


class BestRecord:
    """Best validation value so far and its step; part of the resumable state."""

    def __init__(self):
        self.value, self.step = math.inf, -1

    def state_dict(self) -> dict:
        return {"value": torch.tensor(self.value, dtype=torch.float64), "step": torch.tensor(self.step)}

    def load_state_dict(self, state: dict) -> None:
        self.value, self.step = float(state["value"]), int(state["step"])


def _update(model: torch.nn.Module, optimizer, wrapped, plan, batch, purpose: str, clip: float, prepare=None):
    """One optimizer step of `model` on the global `batch`, accumulated over this process's micro-batches; returns
    (grad norm, last micro-batch's loss, its metrics). prepare(c, micro-batch) replaces micro-batch c (a rollout)."""
    optimizer.zero_grad(set_to_none=True)
    chunks = plan.chunks(batch)
    for i, c in enumerate(chunks):
        with plan.sync_context(wrapped, i, len(chunks)):
            part = plan.chunk(batch, c, purpose)
            loss, metrics = wrapped(part if prepare is None else prepare(c, part))
            (loss / len(chunks)).backward()
    norm = torch.nn.utils.clip_grad_norm_(model.parameters(), clip if clip > 0 else float("inf"))
    optimizer.step()
    return float(norm), loss, metrics


def distill(*, generator: torch.nn.Module, fake: torch.nn.Module, method: DistillMethod,
            get_batch: Callable[[int, int], object], run_dir: str | Path, settings: DistillSettings, config: dict,
            device: torch.device, on_checkpoint: Callable | None = None, cost: RunCost | None = None) -> dict:
    """Run the alternating loop until `max_steps` generator updates, the `budget` of sequence passes (or
    `max_minutes`). `cost` (core/cost.py) is kept up to date and resumes with the run, so an export can record it.

    on_checkpoint(generator, ema, step, best: bool) exports the generator (with its EMA) at every checkpoint and, with
    best=True, whenever validation improves `method.select_key`. Returns {"step", "finished", "last_eval", "best"}.
    """
    run_dir = Path(run_dir)
    generator.to(device)
    fake.to(device)
    s = settings
    optimizers = {"generator": make_adamw(generator, lr=s.generator.lr, betas=s.generator.betas,
                                          weight_decay=s.generator.weight_decay),
                  "fake": make_adamw(fake, lr=s.fake.lr, betas=s.fake.betas, weight_decay=s.fake.weight_decay)}
    models = {"generator": generator, "fake": fake}
    emas = {"generator": EMA(generator, s.ema_decay, warmup=s.ema_warmup)}
    if s.fake_ema:
        emas["fake"] = EMA(fake, s.ema_decay, warmup=s.ema_warmup)
    best, cost, processes = BestRecord(), cost or RunCost(), distributed.world_size()
    state = dict(models=models, optimizers=optimizers, emas=emas, stateful={"best": best, "cost": cost})
    step = 0
    if has_training_state(run_dir / STATE_DIR):
        step = load_training_state(run_dir / STATE_DIR, device=device, **state)["step"]
        print(f"resumed from {run_dir / STATE_DIR} at step {step}")
    main = distributed.is_main()
    log = RunLog(run_dir, resume_step=step) if main else None
    plan = distributed.StepPlan(s.micro_batch, s.seed)
    precision = announce_precision(s.precision, device) if main else resolve_precision(s.precision, device)

    def fake_loss(model, batch):   # the generator's samples are made per micro-batch, without gradient
        if method.rollout is not None:   # (rollout, batch): the rollout is the sample
            return method.fake_loss(model, *batch)
        with torch.no_grad(), autocast_context(device, precision):
            sample = method.generate(generator, batch)
        return method.fake_loss(model, sample, batch)
    # ψ may carry a head its loss leaves unused (DLM-One's discriminator read-out without the adversarial term)
    fake_wrapped = distributed.wrap(fake, fake_loss, device, find_unused=True)

    def generator_loss(model, batch):   # ψ stays outside DDP here: frozen, its module used as is
        rollout, batch = batch if method.rollout is not None else (batch, batch)
        with autocast_context(device, precision):
            sample = method.generate(model, rollout)
        return method.generator_loss(fake, sample, batch)
    generator_wrapped = distributed.wrap(generator, generator_loss, device)

    def checkpoint(at_step: int):
        rank_rng = distributed.rank_rng_states(rng_state()) if distributed.is_distributed() else None
        if not main:
            return
        save_training_state(run_dir / STATE_DIR, step=at_step, config={"run": config, "settings": asdict(s)},
                            rank_rng=rank_rng, **state)
        if on_checkpoint is not None:
            on_checkpoint(generator, emas["generator"], at_step, False)

    def validate(at_step: int) -> dict:
        if not main:
            return {}
        generator.eval()
        # validation must not move the training RNG: a resumed run would otherwise diverge from an unbroken one
        with emas["generator"].swapped_in(generator), torch.no_grad(), torch.random.fork_rng(devices=[]):
            metrics = method.validate(generator)
            improved = method.select_key is not None and metrics[method.select_key] < best.value
            if improved:
                best.value, best.step = float(metrics[method.select_key]), at_step
        log.write({"step": at_step, "sequence_passes": cost.passes(at_step, processes),
                   **{f"val/{k}": v for k, v in metrics.items()}, "val/best_step": best.step})
        if improved and on_checkpoint is not None:
            on_checkpoint(generator, emas["generator"], at_step, True)
        return metrics

    def alternate(step: int) -> tuple[dict, torch.Tensor, dict]:
        """One iteration's updates: steps 1 and 2 of the algorithm box."""
        set_lr(optimizers["generator"], lr_at(step, lr=s.generator.lr, warmup_steps=s.generator.warmup_steps))
        set_lr(optimizers["fake"], lr_at(step, lr=s.fake.lr, warmup_steps=s.fake.warmup_steps))
        record = {"step": step + 1}
        rollouts, prepare = {}, None
        if method.rollout is not None:   # one batch and one rollout per micro-batch, seen by every update below
            shared = get_batch(step, 0)

            def prepare(c: int, part):
                if c not in rollouts:
                    if distributed.batch_rows(part) % method.group_size:
                        raise ValueError(f"a micro-batch of {distributed.batch_rows(part)} rows splits the groups "
                                         f"of {method.group_size} rows; make it a multiple of {method.group_size}")
                    with torch.no_grad(), autocast_context(device, precision):
                        rollouts[c] = (method.rollout(generator, part), part)
                return rollouts[c]
        # 1. fake step(s): ψ fits the teacher's own loss on detached generator samples
        generator.eval()
        fake.train()
        for p in teacher_free:
            p.requires_grad_(True)
        for k in range(s.fake_steps):
            batch = shared if prepare is not None else get_batch(step, k)
            record["fake_grad_norm"], loss, metrics = _update(fake, optimizers["fake"], fake_wrapped, plan, batch,
                                                              f"fake-{step}-{k}", s.fake.grad_clip, prepare)
            if "fake" in emas:
                emas["fake"].update(fake)
        record.update({"fake_loss": loss.item(), **{f"fake/{k}": v for k, v in metrics.items()}})
        # 2. generator step: ψ frozen (no parameter gradients) but differentiable in its input
        fake.eval()
        for p in teacher_free:
            p.requires_grad_(False)
        generator.train()
        batch = shared if prepare is not None else get_batch(step, s.fake_steps)
        record["generator_grad_norm"], loss, metrics = _update(generator, optimizers["generator"], generator_wrapped,
                                                               plan, batch, f"generator-{step}", s.generator.grad_clip,
                                                               prepare)
        emas["generator"].update(generator)
        return record, loss, metrics

    start, last_eval, finished = time.time(), {}, False
    teacher_free = {p for p in fake.parameters() if p.requires_grad}
    stop = StopRequest()   # SIGINT / SIGTERM: finish this step, checkpoint, raise Interrupted (core/interrupt.py)
    bar = tqdm(total=s.max_steps, initial=step, dynamic_ncols=True, mininterval=5.0, disable=not main)
    cost.start()
    while True:
        if step >= s.max_steps or (s.budget and cost.passes(step, processes) >= s.budget):
            finished = True
            break
        if ends_early(stop, start, s.max_minutes, step):
            break
        with PassCounter() as counter:
            record, loss, metrics = alternate(step)
        cost.passes_per_update = counter.total   # the same for every update of a run
        cost.tick()
        step += 1
        # 3. log / validate / checkpoint
        record.update({"generator_loss": loss.item(), **{f"generator/{k}": v for k, v in metrics.items()},
                       "lr": optimizers["generator"].param_groups[0]["lr"], "elapsed_s": time.time() - start,
                       "sequence_passes": cost.passes(step, processes)})
        if step % s.log_every == 0 or step == 1:
            record.update(distributed.all_reduce_mean({k: v for k, v in record.items() if "loss" in k or "/" in k}))
            if main:
                log.write(record)
            bar.set_postfix(gen=f"{record['generator_loss']:.4g}", fake=f"{record['fake_loss']:.4g}")
        bar.update(1)
        if method.validate is not None and step % s.eval_every == 0:
            last_eval = validate(step)
        if step % s.save_every == 0:
            checkpoint(step)
    bar.close()
    if method.validate is not None and finished and step % s.eval_every != 0:
        last_eval = validate(step)
    checkpoint(step)
    if main:
        log.close()
    distributed.barrier()   # the other processes return once rank 0's last checkpoint is written
    if stop.requested:
        stop.stop(step, run_dir / STATE_DIR)
    stop.restore()
    return {"step": step, "finished": finished, "last_eval": last_eval,
            "best": {"step": best.step, "value": best.value}}
