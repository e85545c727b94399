"""SEDD with the absorbing graph (Lou et al., 2024, "Discrete Diffusion Modeling by Estimating the Ratios of the Data
Distribution"), following louaaron/Score-Entropy-Discrete-Diffusion conventions (`graph_lib.Absorbing`,
`losses.py`, `sampling.py`, `model/transformer.py` with `scale_by_sigma`).

Legend (paper → code):
    x_0             clean tokens                              x0         LongTensor [B, L] in [0, V)
    x_t             noisy tokens (some = [MASK] = m)          xt         LongTensor [B, L] in [0, V]   (mask id = V)
    σ(t), σ'(t)     total noise / rate, α_t = e^{−σ}          schedule.sigma(t), schedule.dsigma(t)
    Q               absorbing rate matrix: every token → m    (rate σ'(t); transition e^{σQ})
    s_θ(x_t, t)_y   concrete score ≈ p_t(y) / p_t(x_t)        score      [B, L, V+1], y = x_t with position l set
                                                                         to the column index

Exact scores (the target; derived from q(z_t^l | x^l) = α_t 1[z = x^l] + (1 − α_t) 1[z = m], positions independent):
at a masked position l, for a clean token v,
    p_t(x_t with x^l ← v) / p_t(x_t) = α_t / (1 − α_t) · p_0(x^l = v | unmasked part of x_t) = p(v | x_t) / (e^σ − 1)
(the other positions' factors cancel), so Σ_v score_v = 1 / (e^σ − 1). Unmasked positions have no reverse rate
(absorbing: a clean token never changes in reverse), so their scores never enter the loss or the samplers.

Parameterization (`scale_by_sigma`, SEDD transformer.py): the network emits raw logits o [B, L, V+1] and
    log s = o − log(e^σ − 1) − log(V),   then log s[x_t^l] = 0   (the entry of the current token, a ratio of 1).
Here V = the number of network outputs minus one (their `log(x.shape[-1] − 1)` with the mask column included). So
the exact network outputs o_v = log p(v | x_t) + log V at masked positions ("approximately averaged at 0").

Score entropy (paper eq. 5/9, absorbing case of `graph_lib.Absorbing.score_entropy`), at masked positions only, with
r = α_t / (1 − α_t) = 1 / (e^σ − 1) the true ratio to x_0^l:
    SE = Σ_{v<V} s_v − r · log s_{x_0} + r (log r − 1)        ≥ 0, and = 0 iff s = r · onehot(x_0)
DSE NELBO (paper Thm 3.6): −log p(x_0) ≤ ∫_0^1 σ'(t) E_{x_t ~ q(·|x_0)} Σ_l SE_l dt  (+ a prior term O(eps)).
At the exact score it reduces to MDLM's ∫ σ'/(e^σ − 1) Σ_masked −log p(x_0^l | x_t) dt, and to −log p(x_0).
"""
from __future__ import annotations

import math

import torch

from core.absorbing import mask_tokens
from core.categorical import sample_categorical
from core.errors import ConfigError
from core.losses import cross_entropy, masked_mean
from core.schedules import SAMPLER_T_END, LogLinearSchedule, antithetic_times, uniform_time_grid

PREDICTORS = ("analytic", "euler")


def expm1_sedd(sigma: torch.Tensor) -> torch.Tensor:
    """e^σ − 1 the way SEDD computes it (`esigm1`): expm1 for σ < 0.5, exp − 1 above (kept for parity)."""
    return torch.where(sigma < 0.5, torch.expm1(sigma), sigma.exp() - 1)


class AbsorbingScoreProcess:
    """The absorbing graph with SEDD's σ-scaled score parameterization. Holds no network; σ(t) is passed to it."""

    def __init__(self, vocab_size: int, *, eps: float = 1e-3, t_min: float = 1e-3, normalised_score: bool = False):
        self.vocab_size = vocab_size            # data vocabulary V (without mask)
        # normalised_score: the score's mass over clean tokens is fixed to the exact r = 1/(e^σ − 1), so only p(v | x_t)
        # comes from the network. For IDLM students: their loss constrains p, not the mass, which steers the sampler's
        # unmasking rate.
        self.normalised_score = normalised_score
        self.mask_id = vocab_size               # appended absorbing state m
        self.schedule = LogLinearSchedule(eps=eps)
        self.t_min = t_min                      # training times t ~ U[t_min, 1] (SEDD `sampling_eps`)

    def config(self) -> dict:
        """Init arguments (JSON), saved with a teacher so it can be rebuilt without training code."""
        return {"vocab_size": self.vocab_size, "eps": self.schedule.eps, "t_min": self.t_min,
                "normalised_score": self.normalised_score}

    def student_config(self) -> dict:
        """A distilled student is sampled with its score's mass fixed to the exact one (see normalised_score)."""
        return {**self.config(), "normalised_score": True}

    @property
    def network_vocab_size(self) -> int:
        return self.vocab_size + 1

    # --- forward process -------------------------------------------------------------------------------------------
    def forward_sample(self, x0: torch.Tensor, t: torch.Tensor,
                       rng: torch.Generator | None = None) -> torch.Tensor:
        """x_t ~ e^{σ(t) Q}(· | x0): each token independently → m with probability 1 − e^{−σ(t)}. t: [B]."""
        return mask_tokens(x0, 1.0 - self.schedule.alpha(t), self.mask_id, rng)

    def prior_sample(self, batch_size: int, length: int, device=None) -> torch.Tensor:
        return torch.full((batch_size, length), self.mask_id, dtype=torch.long, device=device)

    # --- score -----------------------------------------------------------------------------------------------------
    def log_score(self, network, xt: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        """log s_θ(x_t, t) [B, L, V+1] (float32 or wider): `scale_by_sigma` then the current-token entry set to 0."""
        sigma = self.schedule.sigma(t)
        out = network(xt, sigma)
        out = out.float() if out.dtype in (torch.float16, torch.bfloat16) else out
        if self.normalised_score:  # clean entries log p + log V, so that after the scaling below Σ_v s_v = r exactly
            clean = out[..., :self.vocab_size].log_softmax(-1) + math.log(self.vocab_size)
            out = torch.cat([clean, out[..., self.vocab_size:]], dim=-1)
        out = out - expm1_sedd(sigma).log().to(out.dtype)[:, None, None] - math.log(out.shape[-1] - 1)
        return out.scatter(-1, xt[..., None], 0.0)

    def staggered_score(self, score: torch.Tensor, dsigma: torch.Tensor) -> torch.Tensor:
        """p_{σ−Δσ}(y) / p_σ(x) ≈ e^{−Δσ Q} applied to the score (`Absorbing.staggered_score`). score [B, L, V+1],
        dsigma [B] or [1]:  clean entries × e^{Δσ};  mask entry: s_m e^{Δσ} + (1 − e^{Δσ}) Σ_y s_y."""
        e_dsigma = dsigma.exp().to(score.dtype)[:, None]
        stag = score * e_dsigma[..., None]
        stag[..., self.mask_id] += (1.0 - e_dsigma) * score.sum(dim=-1)
        return stag

    def transp_transition(self, xt: torch.Tensor, sigma: torch.Tensor, dtype=torch.float32) -> torch.Tensor:
        """Row x_t of e^{σQ}: q(x_t | y) for every y, [B, L, V+1] (`Absorbing.transp_transition`); sigma [B] or [1].
        Clean x_t: e^{−σ} at y = x_t. Masked x_t: 1 − e^{−σ} for every clean y, and 1 at y = m."""
        alpha = (-sigma).exp().to(dtype)[:, None, None]
        onehot = torch.nn.functional.one_hot(xt, self.vocab_size + 1).to(dtype)
        masked = (xt == self.mask_id).to(dtype)[..., None]
        return alpha * onehot + masked * (1.0 - alpha)

    def reverse_rate(self, xt: torch.Tensor, score: torch.Tensor) -> torch.Tensor:
        """Reverse rate R̄(x_t → y) / σ' = Q(y, x_t) s_y off the diagonal, −Σ on it (`Graph.reverse_rate`), [B, L, V+1].
        Only masked positions move: to each clean v at rate s_v (Q(v, m)·s_v with Q(v, m) = 1)."""
        masked = (xt == self.mask_id)[..., None]
        rate = torch.where(masked, score, torch.zeros_like(score))
        rate[..., self.mask_id] = 0.0
        return rate.scatter(-1, xt[..., None], -rate.sum(dim=-1, keepdim=True))

    # --- loss ------------------------------------------------------------------------------------------------------
    def score_entropy(self, log_score: torch.Tensor, sigma: torch.Tensor, xt: torch.Tensor,
                      x0: torch.Tensor) -> torch.Tensor:
        """SE per token [B, L] (module docstring), 0 at unmasked positions. log_score [B, L, V+1], sigma [B].

        x0: ids [B, L], or a soft x0 [B, L, V] (IDLM's relaxation, derived here; SEDD's code has none). SE is linear
        in onehot(x0) (only the −r log s_{x0} term depends on it), and at a masked position the clean token is
        independent of the mask, so E_{x0 ~ p}[SE(x0)] = Σ_v s_v − r Σ_v p_v log s_v + r (log r − 1): the same
        expression with p in place of the one-hot. It is minimised (= 0) at s = r·p, and its p-gradient,
        −r log s, is what the IDLM generator loss (teacher minus fake) differentiates.
        """
        masked = xt == self.mask_id
        # zero the unused entries first: exp() of an unmasked position's scores could overflow and NaN the gradient
        log_score = log_score.masked_fill(~masked[..., None], 0.0)
        ratio = 1.0 / expm1_sedd(sigma).to(log_score.dtype)[:, None]                          # r, [B, 1]
        positive = log_score[..., :self.mask_id].exp().sum(dim=-1)
        negative = -ratio * cross_entropy(x0, log_score)                                      # r Σ_v x0_v log s_v
        const = ratio * (ratio.log() - 1.0)                                                   # makes SE ≥ 0
        return torch.where(masked, positive - negative + const, torch.zeros_like(positive))

    # --- distillation contract -------------------------------------------------------------------------------------
    def forward_relaxed(self, x0: torch.Tensor, t: torch.Tensor, rng: torch.Generator | None = None
                        ) -> tuple[torch.Tensor, torch.Tensor]:
        """(network input, x_t), both the token ids x_t. x0: ids, or a soft x0 [B, L, V] whose clean token is drawn
        first (x_t ~ Cat(α p + (1 − α) e_m), a hard sample without gradient, as for MDLM)."""
        if x0.is_floating_point():
            x0 = sample_categorical(x0.detach(), rng=rng)
        xt = self.forward_sample(x0, t, rng)
        return xt, xt

    def x0_log_probs(self, network, net_in: torch.Tensor, zt: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        """The denoiser implied by the score, [B, L, V]: at a masked position s_v = r · p(v | x_t), so
        p = softmax(log s[:V]); unmasked positions carry their token over (a one-hot), as MDLM's SUBS."""
        log_score = self.log_score(network, zt, t)[..., :self.vocab_size]
        clean = torch.nn.functional.one_hot(zt.clamp(max=self.vocab_size - 1), self.vocab_size).bool()
        carried = torch.full_like(log_score, -1e6).masked_fill(clean, 0.0)
        return torch.where((zt == self.mask_id)[..., None], log_score.log_softmax(-1), carried)

    def token_loss(self, network, x0: torch.Tensor, net_in: torch.Tensor, zt: torch.Tensor,
                   t: torch.Tensor) -> torch.Tensor:
        """σ'(t) · SE at x_t = zt, [B, L]; its sum over L is SEDD's per-sequence loss (losses.py). x0 ids or soft."""
        sigma = self.schedule.sigma(t)
        entropy = self.score_entropy(self.log_score(network, zt, t), sigma, zt, x0)
        return self.schedule.dsigma(t).to(entropy.dtype)[:, None] * entropy

    def loss(self, network, x0: torch.Tensor, *, attention_mask: torch.Tensor | None = None,
             t: torch.Tensor | None = None, antithetic: bool = True) -> tuple[torch.Tensor, dict]:
        """DSE NELBO per token (nats), t ~ U[t_min, 1]. Returns (loss, {"nelbo": ..., "bpt": ...}).

        Deviation: SEDD sums over positions and averages over sequences; we average per token (as MDLM) so the
        number is comparable across teachers. antithetic=False gives SEDD's i.i.d. t.
        """
        if t is None:
            if antithetic:
                t = antithetic_times(x0.shape[0], t_min=self.t_min, device=x0.device)
            else:
                t = (1.0 - self.t_min) * torch.rand(x0.shape[0], device=x0.device) + self.t_min
        xt = self.forward_sample(x0, t)
        token_nll = self.token_loss(network, x0, xt, xt, t)
        nelbo = masked_mean(token_nll, attention_mask)
        return nelbo, {"nelbo": nelbo.detach(), "bpt": nelbo.detach() / math.log(2.0)}


def temper_score(log_score: torch.Tensor, xt: torch.Tensor, mask_id: int, temperature: float) -> torch.Tensor:
    """exp(log_score) [B, L, V+1] with the clean entries at masked positions tempered, their mass kept."""
    if temperature <= 0:
        raise ValueError(f"temperature must be > 0, got {temperature}")
    score = log_score.exp()
    if temperature == 1.0:
        return score
    clean = log_score[..., :mask_id]
    tempered = torch.softmax(clean / temperature, dim=-1) * score[..., :mask_id].sum(-1, keepdim=True)
    masked = (xt == mask_id)[..., None]
    return torch.cat([torch.where(masked, tempered, score[..., :mask_id]), score[..., mask_id:]], dim=-1)


@torch.no_grad()
def sample(process: AbsorbingScoreProcess, network, *, batch_size: int, length: int, steps: int, device=None,
           predictor: str = "analytic", float64: bool = True, denoise: bool = True, t_end: float = SAMPLER_T_END,
           temperature: float = 1.0, rng: torch.Generator | None = None) -> tuple[torch.Tensor, int]:
    """SEDD's PC sampler without corrector (`sampling.get_pc_sampler`) on a uniform grid 1 = t_0 > ... > t_K = t_end.
    Returns (tokens [B, L], nfe). nfe = steps (+1 with the final denoise step).

    predictor "analytic" (Tweedie τ-leaping, paper §4.2, `AnalyticPredictor`), from t to s < t, Δσ = σ(t) − σ(s):
        p(x_s^l = y | x_t) ∝ [e^{−Δσ Q} s_θ(x_t, t)]_y · e^{Δσ Q}(x_t^l | y)           (staggered score × transition)
    predictor "euler" (`EulerPredictor`): p(x_s^l = y | x_t) = 1[y = x_t^l] + (t − s) σ'(t) R̄(x_t^l → y).
    With the log-linear schedule the two coincide exactly: e^{Δσ} − 1 = (t − s) σ'(t) because e^{σ(t)} is
    1 / (1 − (1 − eps) t), so both give a masked token probability p_θ(v | x_t) (t − s) σ'(t) / (e^{σ(t)} − 1) of
    becoming v. They differ for other schedules (SEDD's geometric one) and for non-absorbing graphs.
    denoise (`Denoiser`): the analytic step from σ(t_end) to σ = 0 with the mask column dropped, so no m is left.
    float64: probabilities and categorical draws in float64 (see core/categorical.py); the network runs in its own
    dtype. Deviation: the time grid ends at t_end and the step is t_i − t_{i+1} (SEDD: the same grid, dt = (1 − eps)/K).
    temperature (not in SEDD's code; for entropy-matched controls): at masked positions the clean part of the score,
    s_v ∝ p(v | x_t), becomes softmax(log s / T) times its own mass, so the unmasking rate is unchanged.
    """
    if predictor not in PREDICTORS:
        raise ConfigError(f"sampler predictor {predictor!r} is unknown; valid: {list(PREDICTORS)}")
    dtype = torch.float64 if float64 else torch.float32
    schedule = process.schedule
    times = uniform_time_grid(steps, t_end=t_end, device=device)                     # float64 [K + 1]
    xt = process.prior_sample(batch_size, length, device=device)
    for i in range(steps):
        # schedule maths on shape [1] (one time for the whole batch, broadcast below); the network sees σ(t) as [B]
        t, s = times[i:i + 1], times[i + 1:i + 2]
        # 1. concrete score at (x_t, t)
        score = temper_score(process.log_score(network, xt, t.float().expand(batch_size)).to(dtype), xt,
                             process.mask_id, temperature)
        if predictor == "analytic":
            # 2a. Tweedie τ-leaping over Δσ = σ(t) − σ(s)
            dsigma = schedule.sigma(t) - schedule.sigma(s)
            probs = process.staggered_score(score, dsigma) * process.transp_transition(xt, dsigma, dtype)
        else:
            # 2b. one Euler step of the reverse CTMC: stay-probability 1 − Σ rates
            step_rate = ((t - s) * schedule.dsigma(t)).to(dtype)[:, None, None]
            probs = torch.nn.functional.one_hot(xt, process.vocab_size + 1).to(dtype)
            probs = probs + step_rate * process.reverse_rate(xt, score)
        # 3. sample; negative entries (a too-large step, an imperfect score) get probability 0, as SEDD's Gumbel draw
        xt = sample_categorical(probs.clamp_min(0.0), float64=float64, rng=rng)
    if not denoise:
        return xt, steps
    # 4. denoise: jump from σ(t_end) straight to σ = 0 and forbid the mask
    t = times[-1:]
    sigma = schedule.sigma(t)
    score = temper_score(process.log_score(network, xt, t.float().expand(batch_size)).to(dtype), xt, process.mask_id,
                         temperature)
    probs = process.staggered_score(score, sigma) * process.transp_transition(xt, sigma, dtype)
    xt = sample_categorical(probs[..., :process.mask_id].clamp_min(0.0), float64=float64, rng=rng)
    return xt, steps + 1
