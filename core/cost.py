"""What a training run cost, in units every method shares: sequence passes through the networks, and CPU time.

Methods differ in what one update costs: an IDLM update runs the student, the fake and the teacher forward and
backward; an SDTT update runs the teacher twice without gradient and the student once with it. Counting updates
would give the cheaper method an unfair edge, so budgets are counted in *sequence passes*: a forward of a network over
B sequences counts B, and the backward through that forward (when it builds a graph, whether for the network's own
weights or for its input, as the teacher's term of IDLM on soft inputs) counts B again, summed over every network
(teacher, fake, student). A "network" is one of the project's backbones (`core.networks.hub.HubNetwork`), so a
wrapper around one is not counted twice.

The count of an update does not change over a run, so the run's total is updates × the count of one update (the loops
count every update; the count is part of the resumable state, so a resumed run knows it before its first update). Time is kept as wall seconds and CPU-seconds (wall × threads), with the
hardware, and resumes with the run.
"""
from __future__ import annotations

import os
import platform
import time

import torch

from core.networks.hub import HubNetwork


_OPEN_COUNTERS: list["PassCounter"] = []


def count_pass(network: torch.nn.Module, output: torch.Tensor) -> None:
    """Count a pass the forward hook cannot see: a backbone run through its `hidden_states` instead of its forward
    (the discriminator read-out of core/discriminator.py)."""
    for counter in _OPEN_COUNTERS:
        counter._hook(network, (), output)


class PassCounter:
    """Counts sequence passes (forward and backward) of every HubNetwork while open: `with PassCounter() as c:`."""

    def __init__(self):
        self.forward = self.backward = 0
        self._handle = None

    def _hook(self, module, args, output):
        if not isinstance(module, HubNetwork) or not torch.is_tensor(output):
            return
        rows = output.shape[0]
        self.forward += rows
        if output.grad_fn is not None:
            # A forward that builds a graph is counted with its backward: every graph an update builds is
            # differentiated. (An autograd hook cannot count it reliably: MDLM edits its logits in place, which
            # takes the output's node off the graph.)
            self.backward += rows

    def __enter__(self) -> "PassCounter":
        self._handle = torch.nn.modules.module.register_module_forward_hook(self._hook)
        _OPEN_COUNTERS.append(self)
        return self

    def __exit__(self, *exc) -> None:
        self._handle.remove()
        _OPEN_COUNTERS.remove(self)

    @property
    def total(self) -> int:
        return self.forward + self.backward


def hardware() -> str:
    """The machine a run's time was measured on: CPU model (and GPU when used), and the core count."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), cpu)
    except OSError:
        pass
    gpu = f", {torch.cuda.get_device_name()}" if torch.cuda.is_available() else ""
    return f"{cpu} ({os.cpu_count()} cores){gpu}"


class RunCost:
    """A run's cost so far: wall seconds and CPU-seconds over all sittings, and the sequence passes of one update on
    one process (resumable: `state_dict`)."""

    def __init__(self):
        self.seconds = self.cpu_seconds = 0.0
        self.passes_per_update = 0
        self._since = None

    def state_dict(self) -> dict:
        return {"seconds": torch.tensor(self.seconds, dtype=torch.float64),
                "cpu_seconds": torch.tensor(self.cpu_seconds, dtype=torch.float64),
                "passes_per_update": torch.tensor(self.passes_per_update)}

    def load_state_dict(self, state: dict) -> None:
        self.seconds, self.cpu_seconds = float(state["seconds"]), float(state["cpu_seconds"])
        self.passes_per_update = int(state["passes_per_update"])

    def start(self) -> None:
        self._since = time.time()

    def tick(self) -> None:
        """Add the time since `start` or the last tick."""
        now = time.time()
        elapsed, self._since = now - self._since, now
        self.seconds += elapsed
        self.cpu_seconds += elapsed * torch.get_num_threads()

    def passes(self, updates: int, processes: int = 1) -> int:
        """Sequence passes of `updates` updates over all processes (each runs its equal share of a global batch)."""
        return updates * self.passes_per_update * processes

    def summary(self, updates: int, processes: int = 1) -> dict:
        """The record a student's provenance and its rows carry."""
        return {"updates": updates, "sequence_passes_per_update": self.passes(1, processes),
                "sequence_passes": self.passes(updates, processes), "wall_minutes": self.seconds / 60,
                "cpu_minutes": self.cpu_seconds * processes / 60, "threads": torch.get_num_threads(),
                "processes": processes, "hardware": hardware()}
