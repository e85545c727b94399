"""Percentile bootstrap over samples: the interval a metric's point estimate is read against.

Whole samples (texts, sources) are the independent unit, so they are what gets resampled, never tokens. Used for
GenPPL (a ratio of sums) and for the seq2seq sentence-level metrics (a mean). Not in the papers, which report point
estimates; with 32–64 samples per row the interval decides whether two rows differ at all.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence

import torch


def percentile_interval(columns: Sequence[Sequence[float]], statistic: Callable[..., torch.Tensor], *,
                        level: float = 0.95, n_resamples: int = 2000, seed: int = 0) -> tuple[float, float]:
    """(low, high) percentile-bootstrap interval of `statistic` over samples.

    columns: per-sample values, one sequence per column, all the same length n (e.g. NLL sums and token counts).
    statistic: maps the resampled columns, each a float64 tensor [n_resamples, n], to a tensor [n_resamples].
    Deterministic in `seed`."""
    lengths = {len(c) for c in columns}
    if len(lengths) != 1 or 0 in lengths:
        raise ValueError(f"bootstrap: columns must be non-empty and of equal length, got lengths {sorted(lengths)}")
    if not 0.0 < level < 1.0:
        raise ValueError(f"bootstrap: level must be in (0, 1), got {level}")
    n = lengths.pop()
    picks = torch.randint(n, (n_resamples, n), generator=torch.Generator().manual_seed(seed))
    values = statistic(*(torch.tensor(c, dtype=torch.float64)[picks] for c in columns))
    tail = (1.0 - level) / 2
    low, high = torch.quantile(values, torch.tensor([tail, 1.0 - tail], dtype=torch.float64),
                               interpolation="lower").tolist()
    return low, high


def mean_interval(values: Sequence[float], **kwargs) -> tuple[float, float]:
    """Percentile-bootstrap interval of the mean of per-sample `values` (e.g. sentence BLEU)."""
    return percentile_interval([values], lambda v: v.mean(1), **kwargs)


def paired_gap(first: Sequence[float], second: Sequence[float], start: int = 0,
               **kwargs) -> tuple[float, tuple[float, float], int] | None:
    """The mean per-sample difference first − second over the samples both have (rows decode the first n sources, so
    two rows share the shorter prefix), from index `start` on; its percentile-bootstrap interval; and the count.
    None when no sample is shared there."""
    n = min(len(first), len(second))
    diff = [a - b for a, b in zip(first[start:n], second[start:n])]
    if not diff:
        return None
    return sum(diff) / len(diff), mean_interval(diff, **kwargs), len(diff)
