"""Entropy-matched control: the teacher temperature whose samples have a given unigram entropy.

Lower sample entropy buys lower GenPPL for free, so each distilled result is shown beside its teacher sampled at
the same steps with the temperature T* such that H(T*) ~= H_target. Entropy increases with temperature, so T* is
found by a bracketing search on [lo, hi]: each probe is the linear interpolation of the bracket's entropies (kept
at least a tenth of the bracket away from its ends, so a curved H(T) cannot stall it), which needs fewer probes
than halving when every probe costs a full sample set. `sample_entropy_fn(T)` samples the teacher at temperature T and returns the mean
unigram entropy; it may be noisy, so the search stops at |H(T) - H_target| <= tol or after max_iter steps and
returns the closest point it evaluated.

`genppl_at_entropy` answers the same question from rows already sampled: it reads a temperature sweep's GenPPL off
at a given entropy (the comparison tables' "GenPPL at matched entropy" column); `frontier_ratio` divides a
student's GenPPL by it (its row's "÷ frontier" and the quality-against-compute figure).
"""
from __future__ import annotations

import math
from typing import Callable


def match_temperature(sample_entropy_fn: Callable[[float], float], target_entropy: float, lo: float = 0.5,
                      hi: float = 1.5, tol: float = 0.01, max_iter: int = 12) -> tuple[float, float]:
    """T in [lo, hi] with H(T) = target_entropy, by a bracketing search. Returns (temperature, entropy at it): the
    first probe within `tol`, else the closest one evaluated."""
    if not 0 < lo < hi:
        raise ValueError(f"match_temperature: need 0 < lo < hi, got lo={lo}, hi={hi}")
    h_lo, h_hi = sample_entropy_fn(lo), sample_entropy_fn(hi)
    if not h_lo - tol <= target_entropy <= h_hi + tol:
        raise ValueError(f"match_temperature: target entropy {target_entropy:.4f} is outside "
                         f"[H({lo})={h_lo:.4f}, H({hi})={h_hi:.4f}]; widen lo/hi")
    evaluated = [(lo, h_lo), (hi, h_hi)]
    for _ in range(max_iter):
        best = min(evaluated, key=lambda point: abs(point[1] - target_entropy))
        if abs(best[1] - target_entropy) <= tol:
            return best
        (_, h_a), (_, h_b) = next(p for p in evaluated if p[0] == lo), next(p for p in evaluated if p[0] == hi)
        width = hi - lo
        mid = lo + (target_entropy - h_a) / (h_b - h_a) * width if h_b > h_a else lo + 0.5 * width
        mid = min(max(mid, lo + 0.1 * width), hi - 0.1 * width)
        h_mid = sample_entropy_fn(mid)
        evaluated.append((mid, h_mid))
        lo, hi = (mid, hi) if h_mid < target_entropy else (lo, mid)
    return min(evaluated, key=lambda point: abs(point[1] - target_entropy))


def genppl_at_entropy(sweep: list[tuple[float, float, float]], target_entropy: float) -> tuple[float, int, int] | None:
    """GenPPL of a temperature sweep read off at `target_entropy`, without sampling again.

    sweep: (temperature, entropy, GenPPL) points of one method/model/steps. Along increasing temperature, the first
    two neighbouring points whose entropies bracket the target (H_a <= H* <= H_b, either order) are joined by a
    straight line in (entropy, log GenPPL):  log P* = log P_a + (H* - H_a) / (H_b - H_a) * (log P_b - log P_a).
    log GenPPL is the mean negative log-likelihood, which is close to linear in entropy over a short temperature
    step. Returns (GenPPL at H*, index of point a, index of point b) in `sweep`, or None when no neighbouring pair
    brackets H* (never extrapolated). A single point exactly at H* counts as its own bracket.
    """
    order = sorted(range(len(sweep)), key=lambda i: (sweep[i][0], sweep[i][1]))
    for i in order:
        if sweep[i][1] == target_entropy:
            return sweep[i][2], i, i
    for a, b in zip(order, order[1:]):
        (_, h_a, p_a), (_, h_b, p_b) = sweep[a], sweep[b]
        if min(h_a, h_b) <= target_entropy <= max(h_a, h_b):
            weight = (target_entropy - h_a) / (h_b - h_a)
            return math.exp(math.log(p_a) + weight * (math.log(p_b) - math.log(p_a))), a, b
    return None


def frontier_ratio(gen_ppl: float, entropy: float, sweep: list[dict]) -> dict:
    """GenPPL ÷ the sweep's GenPPL at the same entropy, with the bracketing temperatures; the ratio is None (and the
    sweep's entropy range is given) when no two neighbouring temperatures bracket the entropy."""
    points = [(r["temperature"], r["metrics"]["entropy"], r["metrics"]["gen_ppl"]) for r in sweep]
    found = genppl_at_entropy(points, entropy)
    entropies = [h for _, h, _ in points]
    if found is None:
        return {"ratio": None, "genppl_at_entropy": None, "sweep_entropy_range": [min(entropies), max(entropies)]}
    at, a, b = found
    return {"ratio": gen_ppl / at, "genppl_at_entropy": at, "bracket_temperatures": [points[a][0], points[b][0]]}
