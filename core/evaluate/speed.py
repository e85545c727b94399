"""Sampling-speed benchmark: NFE, wall-clock seconds per sample, tokens per second.

This is a measurement, not a timed test: `fn` is run `n_warmup` times untimed (allocator, kernel caches), then
`n_repeat` times timed; the median is reported because it ignores a single slow repeat (another process on a
shared CPU). Compare methods at the same `batch_size`: per-sample time falls with batch size.
"""
from __future__ import annotations

import statistics
import time
from typing import Callable

import torch
from tqdm import tqdm


def synchronize(device: str | torch.device) -> None:
    if str(device).startswith("cuda") and torch.cuda.is_available():
        torch.cuda.synchronize()


def describe_device(device: str | torch.device) -> str:
    """Human-readable device name for results ("cpu" or the CUDA card name)."""
    device = str(device)
    if device.startswith("cuda") and torch.cuda.is_available():
        return f"{device} ({torch.cuda.get_device_name(torch.device(device))})"
    return device


def benchmark(fn: Callable[[], object], *, batch_size: int, n_warmup: int = 1, n_repeat: int = 5,
              tokens_per_sample: int, nfe: int, device: str | torch.device = "cpu", progress: str | None = None) -> dict:
    """Time `fn()`, which generates one batch of `batch_size` samples. `progress`: the label of a progress bar over
    the calls, with its ETA, on stderr (long samplers run for minutes); outside the timed spans.

    Returns: {seconds_per_sample: median(t_r) / batch_size, tokens_per_second: tokens_per_sample / that,
              nfe: network evaluations per sample, device, threads: torch intra-op threads, batch_size,
              n_repeat, n_warmup}.
    """
    if batch_size < 1 or n_repeat < 1 or n_warmup < 0:
        raise ValueError(f"benchmark: need batch_size >= 1, n_repeat >= 1, n_warmup >= 0 "
                         f"(got {batch_size}, {n_repeat}, {n_warmup})")
    device = str(device)
    bar = tqdm(total=n_warmup + n_repeat, desc=progress, unit="batch", disable=progress is None, dynamic_ncols=True)
    for _ in range(n_warmup):
        fn()
        bar.update(1)
    synchronize(device)
    durations = []
    for _ in range(n_repeat):
        start = time.perf_counter()
        fn()
        synchronize(device)
        durations.append(time.perf_counter() - start)
        bar.update(1)
    bar.close()
    seconds_per_sample = statistics.median(durations) / batch_size
    return {
        "seconds_per_sample": seconds_per_sample,
        "tokens_per_second": tokens_per_sample / seconds_per_sample if seconds_per_sample > 0 else float("inf"),
        "nfe": nfe,
        "device": describe_device(device),
        "threads": torch.get_num_threads(),
        "batch_size": batch_size,
        "n_repeat": n_repeat,
        "n_warmup": n_warmup,
    }


class ForwardTimer:
    """Wall-clock time spent inside `module`'s forward calls (hooks on the module itself), to split a sampler's
    time into network time and the sampler's own overhead (noise, categorical draws, caching, rounding):

        with ForwardTimer(network, device) as timer:
            sample(...)
        timer.seconds, timer.calls

    Nested calls of the same module (none in this project) would be counted once per outer call.
    """

    def __init__(self, module: torch.nn.Module, device: str | torch.device = "cpu"):
        self.module, self.device = module, str(device)
        self.seconds, self.calls, self._start, self._handles = 0.0, 0, None, []

    def _before(self, *_):
        synchronize(self.device)
        self._start = time.perf_counter()

    def _after(self, *_):
        synchronize(self.device)
        self.seconds += time.perf_counter() - self._start
        self.calls += 1

    def __enter__(self) -> "ForwardTimer":
        self._handles = [self.module.register_forward_pre_hook(self._before),
                         self.module.register_forward_hook(self._after)]
        return self

    def __exit__(self, *exc) -> None:
        for handle in self._handles:
            handle.remove()
