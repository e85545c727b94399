"""MDLM: masked (absorbing-state) diffusion LM (Sahoo et al., 2024, "Simple and Effective Masked Diffusion
Language Models"), following kuleshov-group/mdlm conventions.

Legend (paper → code):
    x, x_0          clean tokens                        x0        LongTensor [B, L] in [0, V)
    z_t, x_t        noisy tokens (some = [MASK])        xt        LongTensor [B, L] in [0, V]   (mask id = V)
    α_t             P(token still clean at t)           schedule.alpha(t)
    x_θ(z_t, t)     denoiser: distribution of x_0       probs     [B, L, V+1] (mask entry 0 by SUBS)
The network has V + 1 outputs; `mask_id = V` is appended after the data vocabulary.

SUBS parameterization (paper §3.2): (i) zero masking probability — the mask logit is set to −∞; (ii) carry-over
unmasking — positions already unmasked in z_t are copied through (their distribution is a one-hot).

Continuous-time NELBO (paper eq. 10):  L = E_t E_q  [ α'_t / (1 − α_t) · Σ_{l: z_t^l = m} log ⟨x_θ^l(z_t, t), x^l⟩ ]
which with α = exp(−σ) is  E_t [ σ'(t) / expm1(σ(t)) · Σ_masked −log p_θ(x^l | z_t) ]  (MDLM `_compute_loss`).
"""
from __future__ import annotations

import math

import torch

from core.absorbing import mask_tokens
from core.categorical import sample_categorical, temper_probs
from core.losses import cross_entropy, masked_mean
from core.schedules import SAMPLER_T_END, LogLinearSchedule, antithetic_times, uniform_time_grid

NEG_INF = -1e6  # finite "−∞": keeps softmax/log_softmax free of NaNs in low precision


class MaskedDiffusion:
    """The absorbing-state process with the SUBS parameterization. Holds no network.

    time_conditioning: MDLM's published OWT model is *not* time-conditioned (σ = 0 is passed to the network); that is
    what makes the cached sampler valid.
    """

    def __init__(self, vocab_size: int, *, eps: float = 1e-3, time_conditioning: bool = False, t_min: float = 1e-3):
        self.vocab_size = vocab_size            # data vocabulary V (without mask)
        self.mask_id = vocab_size               # appended mask token
        self.schedule = LogLinearSchedule(eps=eps)
        self.time_conditioning = time_conditioning
        self.t_min = t_min                      # training times t ~ U[t_min, 1] (MDLM `sampling_eps`)

    def config(self) -> dict:
        """Init arguments (JSON), saved with a teacher so it can be rebuilt without training code."""
        return {"vocab_size": self.vocab_size, "eps": self.schedule.eps, "time_conditioning": self.time_conditioning,
                "t_min": self.t_min}

    def student_config(self) -> dict:
        """The process a distilled student is saved and sampled with: the teacher's own."""
        return self.config()

    @property
    def network_vocab_size(self) -> int:
        return self.vocab_size + 1

    # --- forward process -------------------------------------------------------------------------------------------
    def forward_sample(self, x0: torch.Tensor, t: torch.Tensor, rng: torch.Generator | None = None) -> torch.Tensor:
        """z_t ~ q(z_t | x): each token independently replaced by [MASK] with probability 1 − α_t. t: [B].
        x0: ids [B, L], or a soft x0 [B, L, V] (IDLM): z_t ~ Cat(α_t p + (1 − α_t) e_m), a hard draw (no gradient)."""
        if x0.is_floating_point():
            x0 = sample_categorical(x0.detach(), rng=rng)
        return mask_tokens(x0, 1.0 - self.schedule.alpha(t), self.mask_id, rng=rng)

    def forward_relaxed(self, x0: torch.Tensor, t: torch.Tensor, rng: torch.Generator | None = None
                        ) -> tuple[torch.Tensor, torch.Tensor]:
        """(network input, z_t): for a masked process both are the token ids z_t (distillation contract)."""
        zt = self.forward_sample(x0, t, rng)
        return zt, zt

    def prior_sample(self, batch_size: int, length: int, device=None) -> torch.Tensor:
        return torch.full((batch_size, length), self.mask_id, dtype=torch.long, device=device)

    # --- denoiser --------------------------------------------------------------------------------------------------
    def network_sigma(self, alpha: torch.Tensor) -> torch.Tensor:
        """What the network is conditioned on: σ = −log α_t (MDLM's σ(t) on its schedule), or zeros for a
        time-agnostic MDLM."""
        return -torch.log(alpha) if self.time_conditioning else torch.zeros_like(alpha)

    def subs_logits(self, logits: torch.Tensor, xt: torch.Tensor) -> torch.Tensor:
        """SUBS: [B, L, V+1] raw logits → log-probabilities with mask suppressed and clean positions copied."""
        logits = logits.float()
        logits[..., self.mask_id] = NEG_INF
        logits = logits.log_softmax(dim=-1)
        unmasked = xt != self.mask_id
        copied = torch.full_like(logits, NEG_INF).scatter(-1, xt[..., None], 0.0)
        return torch.where(unmasked[..., None], copied, logits)

    def denoiser_log_probs(self, network, x_in: torch.Tensor, alpha: torch.Tensor) -> torch.Tensor:
        """log x_θ [B, L, V+1] at signal level α_t [B] (core.contracts.X0Denoiser: every family's denoiser takes α);
        x_in: the ids z_t."""
        return self.subs_logits(network(x_in, self.network_sigma(alpha)), x_in)

    def x0_log_probs(self, network, net_in: torch.Tensor, zt: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        """log x_θ over the data vocabulary [B, L, V] (distillation contract; net_in is z_t itself)."""
        return self.denoiser_log_probs(network, zt, self.schedule.alpha(t))[..., :self.vocab_size]

    # --- loss ------------------------------------------------------------------------------------------------------
    def loss_weight(self, t: torch.Tensor) -> torch.Tensor:
        """−α'_t / (1 − α_t) = σ'(t) / (e^σ(t) − 1), [B] (= 1/t for the log-linear schedule)."""
        return self.schedule.dsigma(t) / torch.expm1(self.schedule.sigma(t))

    def token_loss(self, network, x0: torch.Tensor, net_in: torch.Tensor, zt: torch.Tensor,
                   t: torch.Tensor) -> torch.Tensor:
        """The NELBO integrand per position [B, L]: −α'/(1 − α) · Σ_v x0_v log x_θ,v at masked positions, 0 elsewhere.
        x0 ids, or a soft x0 [B, L, V] (IDLM: linear in x0, so a soft-label cross-entropy). Unmasked positions are
        zeroed: under carry-over their log x_θ is a one-hot, so a soft x0 there would meet the finite "−∞" (for ids it
        is exactly 0 anyway)."""
        log_q = self.denoiser_log_probs(network, zt, self.schedule.alpha(t))
        nll = torch.where(zt == self.mask_id, cross_entropy(x0, log_q), torch.zeros((), dtype=log_q.dtype,
                                                                                     device=log_q.device))
        return self.loss_weight(t)[:, None] * nll

    def loss(self, network, x0: torch.Tensor, *, attention_mask: torch.Tensor | None = None,
             t: torch.Tensor | None = None) -> tuple[torch.Tensor, dict]:
        """Continuous-time NELBO per token (nats). Returns (loss, {"nelbo": ..., "bpt": ...})."""
        if t is None:
            t = antithetic_times(x0.shape[0], t_min=self.t_min, device=x0.device)
        net_in, zt = self.forward_relaxed(x0, t)
        token_nll = self.token_loss(network, x0, net_in, zt, t)
        nelbo = masked_mean(token_nll, attention_mask)
        return nelbo, {"nelbo": nelbo.detach(), "bpt": nelbo.detach() / math.log(2.0)}

    # --- reverse process -------------------------------------------------------------------------------------------
    def posterior_weights(self, p_x0: torch.Tensor, xt: torch.Tensor, t: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
        """q(z_s | z_t, x = x_θ) for s < t, up to a per-position constant (MDLM eq. 7 with SUBS).

        Masked positions: weight (α_s − α_t)·x_θ on tokens and (1 − α_s) on [MASK]; clean positions: one-hot copy.
        p_x0: [B, L, V+1] probabilities; t, s: [B]. Returns unnormalised weights [B, L, V+1].
        """
        alpha_t = self.schedule.alpha(t).to(p_x0.dtype)[:, None, None]
        alpha_s = self.schedule.alpha(s).to(p_x0.dtype)[:, None, None]
        w = p_x0 * (alpha_s - alpha_t)
        w[..., self.mask_id] = (1.0 - alpha_s)[..., 0]
        return w


@torch.no_grad()
def sample(process: MaskedDiffusion, network, *, batch_size: int, length: int, steps: int, device=None,
           temperature: float = 1.0, top_p: float = 1.0, float64: bool = True, cache: bool = True,
           noise_removal: bool = True, t_end: float = SAMPLER_T_END, rng: torch.Generator | None = None
           ) -> tuple[torch.Tensor, float]:
    """Ancestral sampling on a uniform grid of `steps` (MDLM `_ddpm_caching_update`). Returns (tokens [B, L], nfe).

    cache: reuse x_θ for every sequence whose z_t did not change in the last step — valid only without time
    conditioning (x_θ then depends on z_t alone); ignored for time-conditioned models. MDLM caches per batch; caching
    per sequence gives the same samples with fewer forward passes. nfe = network evaluations per sequence (mean).
    noise_removal: a final argmax step at t_end unmasks whatever is left.
    """
    use_cache = cache and not process.time_conditioning
    times = uniform_time_grid(steps, t_end=t_end, device=device)
    xt = process.prior_sample(batch_size, length, device=device)
    p_x0 = None
    stale = torch.ones(batch_size, dtype=torch.bool, device=device)   # rows whose x_θ must be recomputed
    row_evals = 0
    for i in range(steps):
        t = times[i].expand(batch_size).float()
        s = times[i + 1].expand(batch_size).float()
        # 1. denoiser x_θ(z_t), recomputed only for rows whose z_t changed (all rows if time-conditioned)
        if stale.any():
            rows = stale.nonzero().squeeze(1)
            log_p = process.denoiser_log_probs(network, xt[rows], process.schedule.alpha(t[rows]))
            fresh = temper_probs(log_p, temperature=temperature, top_p=top_p, float64=float64)
            p_x0 = fresh if p_x0 is None else p_x0.index_copy(0, rows, fresh)
            row_evals += len(rows)
        # 2. posterior q(z_s | z_t, x_θ), sampled in float64; clean tokens stay clean (carry-over)
        proposal = sample_categorical(process.posterior_weights(p_x0, xt, t, s), float64=float64, rng=rng)
        x_next = torch.where(xt == process.mask_id, proposal, xt)
        stale = (x_next != xt).any(dim=1) if use_cache else torch.ones_like(stale)
        xt = x_next
    if noise_removal and (xt == process.mask_id).any():
        t = times[-1].expand(batch_size).float()
        xt = process.denoiser_log_probs(network, xt, process.schedule.alpha(t)).argmax(dim=-1)
        row_evals += batch_size
    return xt, row_evals / batch_size
