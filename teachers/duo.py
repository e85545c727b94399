"""Duo: uniform-state discrete diffusion with the Gaussian curriculum (Sahoo et al., 2025, "The Diffusion Duality";
s-sahoo/duo), on the UDLM process and loss (Schiff et al., 2025, "Simple Guidance Mechanisms for Discrete Diffusion
Models"). Follows the published conventions; deviations are marked "Deviation".

Legend (paper → code):
    x, x_0          clean tokens                               x0        LongTensor [B, L] in [0, V)
    z_t, x_t        noisy tokens (no mask token)               xt        LongTensor [B, L] in [0, V)
    α_t             P(token kept) — else uniform over V        alpha     [B]   (schedule.alpha(t), or T(γ_t))
    α'_t            dα_t/dt (< 0)                              dalpha    [B]
    x_θ(z_t, t)     denoiser: distribution over clean x        log_x_theta [B, L, V] (log-probabilities)
    x̄               V α_t x + (1 − α_t) 1  (= V·q(z_t = · | x)) xbar
    x̄_θ             V α_t x_θ + (1 − α_t) 1                    xbar_theta
    i               the observed noisy token z_t^l             xt
The network is conditioned on σ = −log α_t (Duo `_sigma_from_alphat`; the models are always time-conditioned) and
has V outputs, read with log_softmax (Duo `_process_model_output`, "mean" parameterization).

Forward process:   q(z_t | x) = Cat(α_t x + (1 − α_t)/V),  prior Cat(1/V).
Posterior (Duo `_compute_posterior`), for s < t, α_{t|s} = α_t / α_s, with x either onehot(x_0) or x_θ:
    q(z_s | z_t, x) = [α_{t|s} z_t + (1 − α_{t|s})/V] ⊙ [α_s x + (1 − α_s)/V] / (α_t ⟨x, z_t⟩ + (1 − α_t)/V)   (1)
Continuous-time NELBO per token (UDLM eq. 14; Duo `nll_per_token`):
    L = E_t E_q [ α'_t / (V α_t) · ( V/x̄_i − V/x̄_θ,i − Σ_j (x̄_j / x̄_i) · log( x̄_j x̄_θ,i / (x̄_i x̄_θ,j) ) ) ]  (2)
It is the dt → 0 limit of KL(q(z_s | z_t, x) ‖ q(z_s | z_t, x_θ)) / dt.

Which x_θ makes (2) tight: (1) plugs x_θ in *linearly*, so the optimal denoiser is not the posterior mean
E[onehot(x^l) | z_t] but x_θ^l ∝ p(x^l | z_t) / q(z_t^l | x^l) = p(x^l | z_t^{−l}) — the clean token given the *other*
noisy tokens. Plugged into (1) this reproduces the exact reverse Σ_x p(x^l | z_t) q(z_s^l | z_t^l, x^l).

Curriculum (Duo §4.1, `DUO.nll` with curriculum.mode = simple): for the first `curriculum.end` steps the sample is
drawn through the Gaussian latent w = α̃ x + σ̃ ε with log-SNR γ_t = γ_min + t (γ_max − γ_min): the loss (2) uses
z_t = argmax w and α_t = T(γ_t) (core/gaussian_duality.py), while the backbone sees the relaxed input softmax(w / τ).
τ = 10^{log10 τ} stays at 10^{start} until step `start`, then moves log-linearly to 10^{end} at step `end`; after
that training is plain UDLM on the log-linear schedule.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F

from core.categorical import sample_categorical, temper_probs
from core.gaussian_duality import duality_for_vocab, gaussian_coefficients
from core.losses import masked_mean
from core.schedules import SAMPLER_T_END, LogLinearSchedule, antithetic_times, uniform_time_grid

SOFT_INPUT_TAU = 1e-3  # IDLM's soft-input temperature for the networks (Duo's curriculum τ at its end)


@dataclass
class Curriculum:
    """Duo's Gaussian-relaxation curriculum (configs/algo/duo.yaml defaults). Steps count optimizer updates."""
    tau_log10_start: float = -1.0
    tau_log10_end: float = -2.0
    start: int = 100_000
    end: int = 200_000
    gamma_min: float = -3.5
    gamma_max: float = -1.75

    def __post_init__(self):
        if not 0 <= self.start <= self.end:
            raise ValueError(f"curriculum needs 0 <= start <= end, got start={self.start}, end={self.end}")
        if not self.gamma_min < self.gamma_max:
            raise ValueError(f"curriculum needs gamma_min < gamma_max, got {self.gamma_min}, {self.gamma_max}")

    def active(self, step: int) -> bool:
        return step <= self.end      # Duo: `use_true_nll = global_step > curriculum_end`

    def tau(self, step: int) -> float:
        if step < self.start:
            log10_tau = self.tau_log10_start
        else:
            frac = (step - self.start) / max(1, self.end - self.start)
            log10_tau = self.tau_log10_start + min(1.0, frac) * (self.tau_log10_end - self.tau_log10_start)
        return 10.0 ** log10_tau

    def config(self) -> dict:
        return asdict(self)


class UniformDiffusion:
    """The uniform-state process (UDLM / Duo) with its NELBO and posterior. Holds no network.

    schedule: α(t) for plain training and sampling (Duo: log-linear, eps = 1e-3). t_min: training t ~ U[t_min, 1]
    (Duo `sampling_eps`). curriculum: None for plain UDLM training (and for sampling / evaluation).
    """

    def __init__(self, vocab_size: int, *, eps: float = 1e-3, t_min: float = 1e-3,
                 curriculum: Curriculum | dict | None = None):
        if vocab_size < 2:
            raise ValueError(f"vocab_size must be >= 2, got {vocab_size}")
        self.vocab_size = vocab_size
        self.schedule = LogLinearSchedule(eps=eps)
        self.t_min = t_min
        self.curriculum = Curriculum(**curriculum) if isinstance(curriculum, dict) else curriculum

    @property
    def network_vocab_size(self) -> int:
        return self.vocab_size  # no mask token: the DiT predicts over the data vocabulary

    # --- forward process -------------------------------------------------------------------------------------------
    def forward_sample_alpha(self, x0: torch.Tensor, alpha: torch.Tensor, rng: torch.Generator | None = None) -> torch.Tensor:
        """z_t ~ q(z_t | x): keep each token with probability α, else a uniform draw over V (which may equal x).
        x0: [B, L]; alpha: [B] → [B, L]."""
        resample = torch.rand(x0.shape, device=x0.device, generator=rng) < (1.0 - alpha)[:, None]
        uniform = torch.randint(0, self.vocab_size, x0.shape, device=x0.device, generator=rng)
        return torch.where(resample, uniform, x0)

    def forward_sample(self, x0: torch.Tensor, t: torch.Tensor,
                       rng: torch.Generator | None = None) -> torch.Tensor:
        return self.forward_sample_alpha(x0, self.schedule.alpha(t), rng=rng)

    def prior_sample(self, batch_size: int, length: int, device=None,
                     rng: torch.Generator | None = None) -> torch.Tensor:
        return torch.randint(0, self.vocab_size, (batch_size, length), device=device, generator=rng)

    # --- denoiser --------------------------------------------------------------------------------------------------
    @staticmethod
    def alpha_to_sigma(alpha: torch.Tensor) -> torch.Tensor:
        """σ = −log α_t, what Duo's backbone is conditioned on. [B] → [B], in alpha's dtype (the DiT embeds it in
        float32; exact test denoisers need float64 to resolve α within 1e-7 of 1)."""
        return -torch.log(alpha)

    def denoiser_log_probs(self, network, x_in: torch.Tensor, alpha: torch.Tensor) -> torch.Tensor:
        """log x_θ: [B, L, V] in ≥ float32 at signal level α_t [B] (core.contracts.X0Denoiser: every family's denoiser
        takes α, which DCD's duality gives directly). x_in: ids [B, L], or probability vectors [B, L, V] (curriculum)."""
        logits = network(x_in, self.alpha_to_sigma(alpha))
        return logits.to(torch.promote_types(logits.dtype, torch.float32)).log_softmax(dim=-1)

    # --- distillation contract (IDLM) -------------------------------------------------------------------------------
    def forward_relaxed(self, x0: torch.Tensor, t: torch.Tensor, rng: torch.Generator | None = None
                        ) -> tuple[torch.Tensor, torch.Tensor]:
        """z_t through the Gaussian duality, differentiable in a soft x0: (softmax(w / τ), argmax w) with
        w = α̃ x0 + σ̃ ε at the log-SNR γ where T(γ) = α_t. x0: ids [B, L] or probabilities [B, L, V].

        IDLM feeds softmax(w / τ), τ = 1e-3, to the networks, so a student's p reaches teacher and fake through w
        (the gradient path its ablation shows to be essential). Deviation: the IDLM code draws γ linearly in
        [−3.55, −1.85], a range that spans α ≈ 0…1 for GPT-2's 50k vocabulary only (for 66 symbols it gives
        α ∈ [0.5, 1]); here γ = T⁻¹(α_t) on the teacher's own log-linear schedule, for any vocabulary.
        """
        duality = duality_for_vocab(self.vocab_size)
        x = x0 if x0.is_floating_point() else F.one_hot(x0, self.vocab_size).float()
        gamma = duality.gamma(self.schedule.alpha(t))
        alpha_tilde, sigma_tilde = gaussian_coefficients(gamma.to(x.dtype))
        noise = torch.randn(x.shape, device=x.device, dtype=x.dtype, generator=rng)
        w = alpha_tilde[:, None, None] * x + sigma_tilde[:, None, None] * noise
        return torch.softmax(w / SOFT_INPUT_TAU, dim=-1), w.argmax(dim=-1)

    def x0_log_probs(self, network, net_in: torch.Tensor, zt: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        """log x_θ [B, L, V] at time t; net_in: ids or the soft input of `forward_relaxed`."""
        return self.denoiser_log_probs(network, net_in, self.schedule.alpha(t))

    def token_loss(self, network, x0: torch.Tensor, net_in: torch.Tensor, zt: torch.Tensor,
                   t: torch.Tensor) -> torch.Tensor:
        """Eq. (2)'s integrand per position [B, L] at (z_t, t) on the log-linear schedule; x0 ids or soft."""
        log_x_theta = self.x0_log_probs(network, net_in, zt, t)
        return self.nelbo_per_token(log_x_theta, zt, x0, self.schedule.alpha(t), self.schedule.alpha_prime(t))

    # --- posterior (eq. 1) -----------------------------------------------------------------------------------------
    def posterior_probs(self, x_probs: torch.Tensor, xt: torch.Tensor, alpha_t: torch.Tensor,
                        alpha_s: torch.Tensor) -> torch.Tensor:
        """q(z_s | z_t, x) of eq. (1), normalised. x_probs: [B, L, V] (one-hot x_0 or x_θ); alpha_t, alpha_s: [B]."""
        V = self.vocab_size
        a_t = alpha_t.to(x_probs.dtype)[:, None, None]
        a_s = alpha_s.to(x_probs.dtype)[:, None, None]
        a_ts = a_t / a_s
        zt = F.one_hot(xt, V).to(x_probs.dtype)
        from_zt = a_ts * zt + (1 - a_ts) / V                       # q(z_t | z_s = j), as a function of j
        from_x = a_s * x_probs + (1 - a_s) / V                     # q(z_s = j | x)
        normaliser = a_t * x_probs.gather(-1, xt[..., None]) + (1 - a_t) / V   # q(z_t | x)
        return from_zt * from_x / normaliser

    # --- loss (eq. 2) ----------------------------------------------------------------------------------------------
    def nelbo_per_token(self, log_x_theta: torch.Tensor, xt: torch.Tensor, x0: torch.Tensor, alpha: torch.Tensor,
                        dalpha: torch.Tensor) -> torch.Tensor:
        """Integrand of eq. (2) per token, [B, L] (nats). alpha, dalpha: [B]. Computed in ≥ float32.
        x0: ids [B, L], or a soft x0 [B, L, V] (IDLM: x̄ = V α p + (1 − α) in place of the one-hot's).

        With x̄ two-valued (V α + 1 − α at j = x, 1 − α elsewhere) the sum over j is, using Σ_j x̄_j = V,
            Σ_j (x̄_j/x̄_i) log(x̄_j x̄_θ,i / (x̄_i x̄_θ,j)) = [Σ_j x̄_j log x̄_j − V log x̄_i + V log x̄_θ,i
                                                            − (1 − α) Σ_j log x̄_θ,j − V α log x̄_θ,x] / x̄_i.
        (Duo's `nll_per_token` expands the same quantity differently; the two agree to 1e-15 in float64.)
        """
        V = self.vocab_size
        dtype = torch.promote_types(log_x_theta.dtype, torch.float32)
        log_x_theta = log_x_theta.to(dtype)
        a = alpha.to(dtype)[:, None]                                                      # [B, 1]
        da = dalpha.to(dtype)[:, None]
        log_xbar_theta = torch.logaddexp(torch.log(V * a)[..., None] + log_x_theta,
                                         torch.log1p(-a)[..., None].expand_as(log_x_theta))  # [B, L, V]
        log_xbar_theta_i = log_xbar_theta.gather(-1, xt[..., None]).squeeze(-1)
        if x0.is_floating_point():
            # soft x0 (IDLM): x̄ = V α p + (1 − α) is no longer two-valued; Σ_j x̄_j = V still holds
            xbar = V * a[..., None] * x0.to(dtype) + (1 - a)[..., None]                  # [B, L, V]
            xbar_i = xbar.gather(-1, xt[..., None]).squeeze(-1)
            xbar_log_xbar = torch.xlogy(xbar, xbar).sum(-1)
            cross = (xbar * log_xbar_theta).sum(-1)
        else:
            log_xbar_theta_x = log_xbar_theta.gather(-1, x0[..., None]).squeeze(-1)
            xbar_i = (1 - a) + V * a * (xt == x0).to(dtype)                               # [B, L]
            xbar_log_xbar = torch.xlogy(V * a + 1 - a, V * a + 1 - a) + (V - 1) * torch.xlogy(1 - a, 1 - a)
            cross = (1 - a) * log_xbar_theta.sum(-1) + V * a * log_xbar_theta_x
        log_ratio_sum = (xbar_log_xbar - V * torch.log(xbar_i) + V * log_xbar_theta_i - cross) / xbar_i
        bracket = V / xbar_i - V / log_xbar_theta_i.exp() - log_ratio_sum
        return da / (V * a) * bracket

    def loss(self, network, x0: torch.Tensor, *, step: int = 0, attention_mask: torch.Tensor | None = None,
             t: torch.Tensor | None = None) -> tuple[torch.Tensor, dict]:
        """NELBO per token (nats), with the Gaussian curriculum while `curriculum.active(step)`.
        Returns (loss, {"nelbo", "bpt"} [+ "tau" during the curriculum])."""
        if t is None:
            t = antithetic_times(x0.shape[0], t_min=self.t_min, device=x0.device)
        metrics = {}
        if self.curriculum is not None and self.curriculum.active(step):
            # 1. Gaussian latent at log-SNR γ_t, its argmax (a uniform-state sample) and α_t = T(γ_t)
            c = self.curriculum
            duality = duality_for_vocab(self.vocab_size)
            gamma = c.gamma_min + t * (c.gamma_max - c.gamma_min)
            alpha = duality.alpha(gamma)
            dalpha = duality.dalpha_dgamma(gamma) * (c.gamma_max - c.gamma_min)
            w = duality.latent(x0, gamma)
            xt = w.argmax(dim=-1)
            # 2. the backbone sees the tempered softmax relaxation instead of the hard argmax
            tau = c.tau(step)
            log_x_theta = self.denoiser_log_probs(network, torch.softmax(w / tau, dim=-1), alpha)
            metrics["tau"] = torch.tensor(tau)
        else:
            alpha, dalpha = self.schedule.alpha(t), self.schedule.alpha_prime(t)
            xt = self.forward_sample_alpha(x0, alpha)
            log_x_theta = self.denoiser_log_probs(network, xt, alpha)
        token_nll = self.nelbo_per_token(log_x_theta, xt, x0, alpha, dalpha)
        nelbo = masked_mean(token_nll, attention_mask)
        metrics.update(nelbo=nelbo.detach(), bpt=nelbo.detach() / math.log(2.0))
        return nelbo, metrics

    def config(self) -> dict:
        return {"vocab_size": self.vocab_size, "eps": self.schedule.eps, "t_min": self.t_min,
                "curriculum": None if self.curriculum is None else self.curriculum.config()}

    def student_config(self) -> dict:
        """A distilled student is sampled like the teacher, without any training curriculum."""
        return {**self.config(), "curriculum": None}


NOISE_REMOVAL = ("ancestral", "greedy", "none")


@torch.no_grad()
def sample(process: UniformDiffusion, network, *, batch_size: int, length: int, steps: int, device=None,
           temperature: float = 1.0, top_p: float = 1.0, float64: bool = True, noise_removal: str = "ancestral",
           t_end: float = SAMPLER_T_END, rng: torch.Generator | None = None) -> tuple[torch.Tensor, int]:
    """Ancestral sampling on a uniform grid of `steps` (Duo `generate_samples`, predictor ancestral). → (tokens, nfe).

    Every step calls the network (the model is time-conditioned, so no caching). noise_removal at t_end:
    "ancestral" — one more posterior step to α_s = 1 (Duo's default); "greedy" — z_0 = argmax x_θ (greedy tail);
    "none". Temperature / nucleus act on x_θ before it is plugged into eq. (1) (Deviation: the older Duo `DUO_BASE`
    filters the posterior instead; trainer_base filters x_θ as here).
    """
    if noise_removal not in NOISE_REMOVAL:
        raise ValueError(f"unknown noise_removal {noise_removal!r}; valid: {NOISE_REMOVAL}")
    times = uniform_time_grid(steps, t_end=t_end, device=device)
    xt = process.prior_sample(batch_size, length, device=device, rng=rng)
    alphas = process.schedule.alpha(times).to(torch.float64)

    def step(xt, alpha_t, alpha_s):
        log_x_theta = process.denoiser_log_probs(network, xt, alpha_t.expand(batch_size))        # 1. x_θ(z_t)
        x_theta = temper_probs(log_x_theta, temperature=temperature, top_p=top_p, float64=float64)
        posterior = process.posterior_probs(x_theta, xt, alpha_t.expand(batch_size),             # 2. eq. (1)
                                            alpha_s.expand(batch_size))
        return sample_categorical(posterior, float64=float64, rng=rng)                    # 3. z_s

    for i in range(steps):
        xt = step(xt, alphas[i], alphas[i + 1])
    nfe = steps
    if noise_removal == "ancestral":
        xt = step(xt, alphas[-1], torch.ones_like(alphas[-1]))
        nfe += 1
    elif noise_removal == "greedy":
        xt = process.denoiser_log_probs(network, xt, alphas[-1].expand(batch_size)).argmax(dim=-1)
        nfe += 1
    return xt, nfe


@torch.no_grad()
def sample_from_latent(process: UniformDiffusion, network, *, batch_size: int, length: int, device=None,
                       temperature: float = 1.0, top_p: float = 1.0, float64: bool = True, greedy: bool = False,
                       rng: torch.Generator | None = None) -> tuple[torch.Tensor, int]:
    """One step through the Gaussian latent: noise → one forward → tokens (a 1-step student's sampler). → (tokens, 1).

    1. ε ~ N(0, I) [B, L, V];  w = σ̃ ε at γ = T⁻¹(α(1)): the input `forward_relaxed` gives the student at t = 1 with
       its clean part α̃ x_0 dropped (unknown here; a shift shared by all V entries would not change the softmax)
    2. x_θ = network(softmax(w / τ), σ(α(1))), τ = SOFT_INPUT_TAU: the only network call
    3. tokens: one draw per position from x_θ (temperature, top_p), or argmax x_θ with `greedy` (tokens are then a
       deterministic function of ε)
    Given ε the positions are drawn independently, but every position's x_θ depends on all of ε, so the samples are a
    mixture of products over ε and may correlate positions; MDLM's one step from the all-mask input (a constant)
    gives a single product, whatever the network.
    """
    V = process.vocab_size
    alpha = process.schedule.alpha(torch.ones(batch_size, device=device))
    _, sigma_tilde = gaussian_coefficients(duality_for_vocab(V).gamma(alpha))
    noise = torch.randn((batch_size, length, V), device=device, generator=rng)
    w = sigma_tilde[:, None, None] * noise                                                          # 1.
    log_x_theta = process.denoiser_log_probs(network, torch.softmax(w / SOFT_INPUT_TAU, dim=-1), alpha)   # 2.
    if greedy:                                                                                      # 3.
        return log_x_theta.argmax(dim=-1), 1
    x_theta = temper_probs(log_x_theta, temperature=temperature, top_p=top_p, float64=float64)
    return sample_categorical(x_theta, float64=float64, rng=rng), 1


@torch.no_grad()
def sample_through_latent(process: UniformDiffusion, network, *, steps: int, batch_size: int, length: int,
                          device=None, temperature: float = 1.0, top_p: float = 1.0, float64: bool = True,
                          greedy: bool = False, rng: torch.Generator | None = None) -> tuple[torch.Tensor, int]:
    """K steps through the Gaussian latent (a K-step student's sampler), the multistep sampling of consistency models
    (Song et al., 2023, Alg. 1) on Duo's latent. → (tokens, K).

    1. tokens x̂ from `sample_from_latent` at t_0 = 1
    2. for each later grid time t_k = 1 − k(1 − t_end)/K, k = 1 … K−1 (IDLM's `idlm.grid_steps=K` times):
       re-noise x̂ through the latent, w = α̃ onehot(x̂) + σ̃ ε with fresh ε (`forward_relaxed`: the input the student
       trained on at t_k, with real data in place of x̂), one forward, and draw x̂ again (temperature, top_p; argmax
       with `greedy`)
    Each step's tokens are a complete sequence, so every step is a draw from the student's current guess at the
    data, refined by the next; K = 1 is `sample_from_latent`.
    """
    common = dict(temperature=temperature, top_p=top_p, float64=float64, greedy=greedy, rng=rng)
    tokens, _ = sample_from_latent(process, network, batch_size=batch_size, length=length, device=device, **common)
    for t in uniform_time_grid(steps, t_end=SAMPLER_T_END, device=device, dtype=torch.float32)[1:-1]:
        t = t.expand(batch_size)
        net_in, _ = process.forward_relaxed(tokens, t, rng=rng)
        log_x_theta = process.denoiser_log_probs(network, net_in, process.schedule.alpha(t))
        if greedy:
            tokens = log_x_theta.argmax(dim=-1)
        else:
            x_theta = temper_probs(log_x_theta, temperature=temperature, top_p=top_p, float64=float64)
            tokens = sample_categorical(x_theta, float64=float64, rng=rng)
    return tokens, steps
