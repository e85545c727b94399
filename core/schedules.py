"""Noise schedules for discrete diffusion: α(t) and its derivatives, no network, no process.

Notation (MDLM / SEDD / Duo papers):
    t ∈ [0, 1]   diffusion time (0 = data, 1 = prior)
    α(t)         probability that a token is still clean at time t ("signal"), α(0) = 1
    σ(t)         total noise, α(t) = exp(−σ(t))  (SEDD's `total_noise`, MDLM's `sigma`)
    σ'(t)        rate of noise dσ/dt            (SEDD's `rate_noise`, MDLM's `dsigma`)
"""
from __future__ import annotations

import torch


class LogLinearSchedule:
    """α(t) = 1 − (1 − eps)·t, i.e. σ(t) = −log(1 − (1 − eps)·t) (MDLM/SEDD `LogLinearNoise`, eps = 1e-3).

    The masking probability (1 − α) grows linearly in t; eps keeps σ(1) finite, so a tiny fraction 1 − (1 − eps)
    of tokens is still clean at t = 1 (the published code's convention; the prior term it drops is O(eps)).
    """

    def __init__(self, eps: float = 1e-3):
        if not 0.0 <= eps < 1.0:
            raise ValueError(f"eps must be in [0, 1), got {eps}")
        self.eps = eps

    def alpha(self, t: torch.Tensor) -> torch.Tensor:
        return 1.0 - (1.0 - self.eps) * t

    def alpha_prime(self, t: torch.Tensor) -> torch.Tensor:
        return torch.full_like(t, -(1.0 - self.eps))

    def sigma(self, t: torch.Tensor) -> torch.Tensor:
        return -torch.log1p(-(1.0 - self.eps) * t)

    def dsigma(self, t: torch.Tensor) -> torch.Tensor:
        return (1.0 - self.eps) / (1.0 - (1.0 - self.eps) * t)

    def config(self) -> dict:
        return {"name": "loglinear", "eps": self.eps}


def antithetic_times(batch_size: int, *, t_min: float = 1e-3, device=None, rng=None) -> torch.Tensor:
    """Low-discrepancy t for a batch (MDLM `_sample_t` with antithetic sampling): one uniform offset shared by
    B evenly spaced points, mapped to [t_min, 1]. Same expectation as i.i.d. uniform t, lower loss variance."""
    u = torch.rand(1, device=device, generator=rng)
    t = (u + torch.arange(batch_size, device=device) / batch_size) % 1.0
    return (1.0 - t_min) * t + t_min


# Where the discrete samplers' grid stops: MDLM, SEDD and Duo's public samplers end at eps = 1e-5, not 0, since the
# time-conditioned networks never saw t = 0 and σ(0) = 0 puts the log-linear schedule's score at its edge.
SAMPLER_T_END = 1e-5


def uniform_time_grid(steps: int, *, t_end: float = 0.0, device=None, dtype=torch.float64) -> torch.Tensor:
    """K + 1 decreasing times 1 = t_0 > t_1 > ... > t_K = t_end on a uniform grid (the samplers' `steps=K`)."""
    if steps < 1:
        raise ValueError(f"steps must be >= 1, got {steps}")
    return torch.linspace(1.0, t_end, steps + 1, device=device, dtype=dtype)
