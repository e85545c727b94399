"""The Gaussian–discrete duality of Duo (Sahoo et al., 2025, "The Diffusion Duality", §3, eqs. 8–10).

A variance-preserving Gaussian diffusion on one-hot vectors, read through argmax, *is* a uniform-state discrete
diffusion. With log-SNR γ (Duo's `gamma`):

    α̃ = sqrt(sigmoid(−γ)),   σ̃ = sqrt(sigmoid(γ)),   α̃² + σ̃² = 1,   μ = α̃ / σ̃ = exp(−γ / 2)
    w = α̃ · onehot(x) + σ̃ · ε,   ε ~ N(0, I_V)                                          (Gaussian latent, [.., V])
    x_t = argmax_j w_j

P(x_t = x) = P(α̃ + σ̃ ε_x > σ̃ ε_j  ∀ j ≠ x) = ∫ φ(u) Φ(u + μ)^{V−1} du   =: I_V(μ)        (Duo eq. 10)
and given x_t ≠ x every other token is equally likely (ε is exchangeable), so x_t ~ Cat(α_t·onehot(x) + (1−α_t)/V)
— a uniform-state sample — with

    α_t = T(γ) = (V · I_V(μ) − 1) / (V − 1)                        (the "diffusion transformation operator" T)

The integral has no closed form; as in Duo's `integral` cache it is tabulated once per vocabulary size on a γ grid
(trapezoid rule in u in float64) and looked up by interpolation, together with its derivative
    dI/dμ = ∫ u φ(u) Φ(u + μ)^{V−1} du        (differentiate ∫ φ(z − μ) Φ(z)^{V−1} dz under the integral),
    dα/dγ = V/(V − 1) · dI/dμ · dμ/dγ,   dμ/dγ = −μ/2.
Deviation from Duo: linear interpolation instead of nearest-grid-point lookup, and the table is computed on the fly
(under a second for V = 50k) instead of being read from a pickle.
"""
from __future__ import annotations

import math
from functools import lru_cache

import torch


def gaussian_coefficients(gamma: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(α̃, σ̃) = (sqrt(sigmoid(−γ)), sqrt(sigmoid(γ))) — Duo's `_q_xt_gaussian` convention (variance preserving)."""
    return torch.sigmoid(-gamma).sqrt(), torch.sigmoid(gamma).sqrt()


class GaussianDuality:
    """Tabulated T(γ) = uniform-state α_t induced by argmax of a Gaussian latent, for one vocabulary size V.

    gamma_lo / gamma_hi bound the table; lookups outside are clamped to its ends. At gamma_lo = −12 (μ ≈ 400) T = 1
    to float precision for any V ≤ 10^6; at gamma_hi = 12 T is small but not zero (7e-4 for V = 5, 2e-7 for V = 50k),
    so `gamma(alpha)` for a smaller α returns gamma_hi. Duo trains in γ ∈ [−3.5, −1.75] and distils in [−4, −1].
    """

    def __init__(self, vocab_size: int, *, gamma_lo: float = -12.0, gamma_hi: float = 12.0, num_points: int = 2401,
                 u_half_width: float = 12.0, u_step: float = 0.01):
        if vocab_size < 2:
            raise ValueError(f"vocab_size must be >= 2, got {vocab_size}")
        if not gamma_lo < gamma_hi or num_points < 2:
            raise ValueError(f"need gamma_lo < gamma_hi and num_points >= 2, got {gamma_lo}, {gamma_hi}, {num_points}")
        self.vocab_size = vocab_size
        self.gamma_lo, self.gamma_hi = gamma_lo, gamma_hi
        self.gammas = torch.linspace(gamma_lo, gamma_hi, num_points, dtype=torch.float64)
        integral, d_integral_dmu = _tabulate_integral(vocab_size, self.gammas, u_half_width, u_step)
        scale = vocab_size / (vocab_size - 1)
        mu = torch.exp(-self.gammas / 2)
        self.alphas = ((vocab_size * integral - 1.0) / (vocab_size - 1)).clamp(0.0, 1.0)   # T(γ), decreasing in γ
        self.dalphas = scale * d_integral_dmu * (-mu / 2)                                # dT/dγ  (≤ 0)
        self._on_device: dict = {}

    def _tables(self, device) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        key = str(device)
        if key not in self._on_device:
            self._on_device[key] = (self.gammas.to(device), self.alphas.to(device), self.dalphas.to(device))
        return self._on_device[key]

    def _interpolate(self, gamma: torch.Tensor, values: torch.Tensor) -> torch.Tensor:
        g = gamma.to(torch.float64).clamp(self.gamma_lo, self.gamma_hi)
        pos = (g - self.gamma_lo) / (self.gamma_hi - self.gamma_lo) * (len(self.gammas) - 1)
        left = pos.floor().long().clamp(max=len(self.gammas) - 2)
        frac = pos - left
        return (values[left] * (1 - frac) + values[left + 1] * frac).to(gamma.dtype)

    def alpha(self, gamma: torch.Tensor) -> torch.Tensor:
        """α_t = T(γ): the uniform-state signal level of argmax(α̃ x + σ̃ ε). Same shape and dtype as gamma."""
        return self._interpolate(gamma, self._tables(gamma.device)[1])

    def dalpha_dgamma(self, gamma: torch.Tensor) -> torch.Tensor:
        """dT/dγ (negative): used for α'_t = dT/dγ · dγ/dt in the curriculum and DCD losses."""
        return self._interpolate(gamma, self._tables(gamma.device)[2])

    def gamma(self, alpha: torch.Tensor) -> torch.Tensor:
        """Inverse map α_t → γ (so α̃ = sqrt(sigmoid(−γ))), by linear interpolation of the monotone table."""
        gammas, alphas, _ = self._tables(alpha.device)
        a_inc, g_inc = alphas.flip(0), gammas.flip(0)          # α increasing
        a = alpha.to(torch.float64).clamp(a_inc[0], a_inc[-1])
        right = torch.searchsorted(a_inc, a).clamp(1, len(a_inc) - 1)
        a0, a1 = a_inc[right - 1], a_inc[right]
        frac = torch.where(a1 > a0, (a - a0) / (a1 - a0).clamp_min(1e-300), torch.zeros_like(a))
        return (g_inc[right - 1] + frac * (g_inc[right] - g_inc[right - 1])).to(alpha.dtype)

    def latent(self, x0: torch.Tensor, gamma: torch.Tensor, noise: torch.Tensor | None = None,
               rng: torch.Generator | None = None) -> torch.Tensor:
        """w = α̃ · onehot(x0) + σ̃ · ε.  x0: [B, L] ids; gamma: [B]; noise: [B, L, V] (drawn if None) → [B, L, V].

        Passing the same `noise` at two γ gives the coupled pair (w_t, w_s) used by consistency distillation.
        """
        if noise is None:
            noise = torch.randn((*x0.shape, self.vocab_size), device=x0.device, generator=rng)
        alpha_tilde, sigma_tilde = gaussian_coefficients(gamma.to(noise.dtype))
        onehot = torch.nn.functional.one_hot(x0, self.vocab_size).to(noise.dtype)
        return alpha_tilde[:, None, None] * onehot + sigma_tilde[:, None, None] * noise


def _tabulate_integral(vocab_size: int, gammas: torch.Tensor, u_half_width: float, u_step: float
                       ) -> tuple[torch.Tensor, torch.Tensor]:
    """I_V(μ) = ∫ φ(u) Φ(u + μ)^{V−1} du and dI/dμ = ∫ u φ(u) Φ(u + μ)^{V−1} du on the γ grid (μ = e^{−γ/2}).

    Trapezoid rule on u ∈ [−h, h] in float64 (spectrally accurate for this smooth, fast-decaying integrand: step 0.01
    agrees with step 0.002 to 1e-14 for V = 5 … 50k); Φ^{V−1} is formed as exp((V − 1)·log Φ) with `log_ndtr` so it
    stays accurate for V in the tens of thousands. The neglected tails are below φ(12) ≈ 1e-32.
    """
    n = int(round(2 * u_half_width / u_step)) + 1
    u = torch.linspace(-u_half_width, u_half_width, n, dtype=torch.float64)
    weights = torch.full_like(u, u_step)
    weights[0] = weights[-1] = u_step / 2
    phi = torch.exp(-0.5 * u ** 2) / math.sqrt(2 * math.pi)
    mu = torch.exp(-gammas / 2)
    integral, derivative = [], []
    for chunk in mu.split(256):                                   # bounded memory: [256, n] float64 per chunk
        cdf_pow = torch.exp((vocab_size - 1) * torch.special.log_ndtr(u[None, :] + chunk[:, None]))
        integrand = phi * cdf_pow * weights
        integral.append(integrand.sum(-1))
        derivative.append((integrand * u).sum(-1))
    return torch.cat(integral), torch.cat(derivative)


@lru_cache(maxsize=8)
def duality_for_vocab(vocab_size: int) -> GaussianDuality:
    """One shared table per vocabulary size (the analogue of Duo's per-tokenizer `integral_cache_path`)."""
    return GaussianDuality(vocab_size)
