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


def _synchronize(device: str) -> None:
    if device.startswith("cuda") and torch.cuda.is_available():
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
    _synchronize(device)
    durations = []
    for _ in range(n_repeat):
        start = time.perf_counter()
        fn()
        _synchronize(device)
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
