"""Which autocast precision a training loop uses, and how many threads a single job takes.

bf16 autocast pays only where the hardware multiplies bf16 natively: a CUDA GPU that supports it, or a CPU with
avx512_bf16 or AMX. On an AVX2-only CPU oneDNN emulates bf16 and a Linear forward+backward runs about 5× slower than
in fp32, so `auto` chooses fp32 there, and an explicit `bf16` on such a CPU warns.
"""
from __future__ import annotations

import os
import warnings
from pathlib import Path

import torch

PRECISIONS = ("auto", "fp32", "bf16")
NATIVE_BF16_CPU_FLAGS = ("avx512_bf16", "amx_bf16")


def cpu_flags(cpuinfo: str | Path = "/proc/cpuinfo") -> set[str]:
    """The feature flags of the first CPU in /proc/cpuinfo (empty where the file does not exist)."""
    try:
        text = Path(cpuinfo).read_text()
    except OSError:
        return set()
    for line in text.splitlines():
        if line.startswith(("flags", "Features")):
            return set(line.split(":", 1)[1].split())
    return set()


def native_bf16(device: torch.device, flags: set[str] | None = None) -> bool:
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    if device.type == "cpu":
        return bool(set(NATIVE_BF16_CPU_FLAGS) & (cpu_flags() if flags is None else flags))
    return False


def resolve_precision(requested: str, device: torch.device, flags: set[str] | None = None) -> str:
    """"fp32" or "bf16" for `requested` in PRECISIONS: auto → bf16 only where `native_bf16`; an explicit bf16 on
    hardware without it is kept but warned about."""
    if requested not in PRECISIONS:
        raise ValueError(f"unknown precision {requested!r}; valid: {', '.join(PRECISIONS)}")
    native = native_bf16(device, flags)
    if requested == "auto":
        return "bf16" if native else "fp32"
    if requested == "bf16" and not native:
        warnings.warn(f"precision=bf16 on a {device.type} without native bf16 ({' / '.join(NATIVE_BF16_CPU_FLAGS)} "
                      "absent): autocast emulates it and runs several times slower than fp32; use precision=auto",
                      stacklevel=2)
    return requested


def announce_precision(requested: str, device: torch.device) -> str:
    """resolve_precision, printed once by the loop that uses it."""
    chosen = resolve_precision(requested, device)
    reason = "" if requested != "auto" else (" (native bf16)" if chosen == "bf16" else " (no native bf16 here)")
    print(f"precision: {chosen}{reason}, requested {requested}, on {device.type}")
    return chosen


def default_threads() -> int:
    """Intra-op threads of one process when `threads=0`: every core this process may run on, shared evenly among the
    processes torchrun started on this node."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return max(1, cores // int(os.environ.get("LOCAL_WORLD_SIZE", "1")))
