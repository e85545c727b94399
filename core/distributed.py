"""Process-group plumbing shared by the pretraining loop and the distillation loop (torchrun + DistributedDataParallel).

    torchrun --nproc_per_node=N [--nnodes=M --node_rank=r --rdzv_endpoint=host:port] -m experiments.pretrain ...

`init_from_env` reads torchrun's environment (RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR/PORT) and joins the group:
NCCL on GPUs, gloo on CPU. Without those variables every helper here is the single-process identity, so the loops
run the same code in both cases.

One optimizer step sees a global batch of G rows, split into G / micro chunks of `micro` rows; chunk c runs on rank
c mod W (rank-strided) as that rank's accumulation step c // W. A split step draws the noise of chunk c from
(seed, step, c), so the same global batch gives the same update on any number of ranks (up to float summation order).
"""
from __future__ import annotations

import atexit
import os

import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel

from core.errors import ConfigError
from core.launch import launched_world_size
from core.seeding import derived_seed


def is_distributed() -> bool:
    return dist.is_available() and dist.is_initialized()


def world_size() -> int:
    return dist.get_world_size() if is_distributed() else 1


def rank() -> int:
    return dist.get_rank() if is_distributed() else 0


def is_main() -> bool:
    """Rank 0 logs, validates, checkpoints and writes result rows."""
    return rank() == 0


def init_from_env(device: torch.device) -> torch.device:
    """Join the process group torchrun describes (once); returns the device this rank trains on (cuda:LOCAL_RANK)."""
    if launched_world_size() <= 1:
        return device
    if not is_distributed():
        # NCCL carries the CUDA gradients; the small control values (stop flags, metrics) are CPU tensors, which
        # NCCL refuses, so GPU runs pair it with gloo for those
        backend = "cpu:gloo,cuda:nccl" if device.type == "cuda" else "gloo"
        dist.init_process_group(backend)
        atexit.register(lambda: dist.destroy_process_group() if is_distributed() else None)
    if device.type == "cuda":
        device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
        torch.cuda.set_device(device)
    return device


def barrier() -> None:
    if is_distributed():
        dist.barrier()


def all_reduce_mean(values: dict[str, float]) -> dict[str, float]:
    """The mean over ranks of each (scalar) value; every rank must call it with the same keys."""
    if not is_distributed() or not values:
        return values
    keys = sorted(values)
    t = torch.tensor([float(values[k]) for k in keys], dtype=torch.float64)
    dist.all_reduce(t)
    return dict(zip(keys, (t / world_size()).tolist()))


def any_rank(flag: bool) -> bool:
    """True on every rank when it is true on any (e.g. a time limit seen by one clock): all ranks stop together."""
    if not is_distributed():
        return flag
    t = torch.tensor([1.0 if flag else 0.0])
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    return bool(t.item())


def all_gather_cat(*tensors: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """Each tensor concatenated over ranks, in rank order (equal shapes on every rank)."""
    if not is_distributed():
        return tensors
    out = []
    for t in tensors:
        parts = [torch.empty_like(t) for _ in range(world_size())]
        dist.all_gather(parts, t.contiguous())
        out.append(torch.cat(parts))
    return tuple(out)


def gather_objects(obj) -> list:
    """[obj of rank 0, obj of rank 1, ...] on every rank (small picklable objects: RNG states)."""
    if not is_distributed():
        return [obj]
    out = [None] * world_size()
    dist.all_gather_object(out, obj)
    return out


class LossModule(torch.nn.Module):
    """`loss(model, *inputs)` as the forward of a module that owns `model`: DDP then sees exactly one forward per
    backward, whatever methods of the model the loss calls (get_embeds, hidden_states, ...)."""

    def __init__(self, model: torch.nn.Module, loss):
        super().__init__()
        self.model, self.loss = model, loss

    def forward(self, *inputs):
        return self.loss(self.model, *inputs)


def wrap(model: torch.nn.Module, loss, device: torch.device, *, find_unused: bool = False):
    """loss(model, *inputs) as a callable whose backward all-reduces the gradients of `model` (DDP; broadcasts rank
    0's weights once here); the plain module when there is one process. find_unused: the loss may leave some
    trainable parameters out of its graph (DDP then searches the graph at every step)."""
    module = LossModule(model, loss)
    if not is_distributed():
        return module
    return DistributedDataParallel(module, device_ids=[device.index] if device.type == "cuda" else None,
                                   find_unused_parameters=find_unused)


class StepPlan:
    """Which chunks of each step's global batch this rank runs: chunk c on rank c mod W."""

    def __init__(self, micro_batch: int, seed: int):
        self.micro_batch, self.seed = micro_batch, seed

    def chunks(self, batch) -> list[int]:
        rows = batch_rows(batch)
        micro = self.micro_batch or rows // world_size()
        if micro < 1 or rows % micro or (rows // micro) % world_size():
            raise ConfigError(f"a global batch of {rows} rows does not split into micro-batches of {micro} rows "
                              f"over {world_size()} processes (global batch = micro-batch x processes x "
                              f"accumulation steps)")
        self.micro, self.n_chunks = micro, rows // micro
        return list(range(rank(), self.n_chunks, world_size()))

    def chunk(self, batch, c: int, purpose: str):
        """Rows [c·micro, (c+1)·micro) of every tensor in `batch`; a split step reseeds the noise from (seed, c)."""
        if self.n_chunks > 1:
            torch.manual_seed(derived_seed(self.seed, f"{purpose}-chunk-{c}"))
        return slice_rows(batch, slice(c * self.micro, (c + 1) * self.micro))

    def sync_context(self, wrapped, position: int, count: int):
        """Accumulate locally until this rank's last chunk of the step: DDP all-reduces on that backward only."""
        import contextlib
        if isinstance(wrapped, DistributedDataParallel) and position < count - 1:
            return wrapped.no_sync()
        return contextlib.nullcontext()


def batch_rows(batch) -> int:
    if torch.is_tensor(batch):
        return batch.shape[0]
    if isinstance(batch, dict):
        batch = list(batch.values())
    if isinstance(batch, (tuple, list)):
        return next(batch_rows(b) for b in batch if torch.is_tensor(b) or isinstance(b, (dict, tuple, list)))
    raise TypeError(f"cannot find the rows of a batch of type {type(batch).__name__}")


def slice_rows(batch, rows: slice):
    """The same rows of every tensor in a (nested tuple / list / dict) batch; other values (a step counter) as is."""
    if torch.is_tensor(batch):
        return batch[rows]
    if isinstance(batch, dict):
        return {k: slice_rows(v, rows) for k, v in batch.items()}
    if isinstance(batch, (tuple, list)):
        return type(batch)(slice_rows(v, rows) for v in batch)
    return batch


def rank_rng_states(state: dict) -> list[dict]:
    """Every rank's RNG state (collective): rank 0 stores the list so each rank resumes its own stream."""
    return gather_objects(state)


def own_rng_state(trainer: dict) -> dict:
    """This rank's RNG state from a trainer record: its own when saved by as many ranks, else rank 0's."""
    states = trainer.get("rank_rng")
    if isinstance(states, list) and len(states) == world_size():
        return states[rank()]
    return trainer["rng"]
