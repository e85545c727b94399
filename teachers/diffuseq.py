"""DiffuSeq: continuous diffusion in word-embedding space for seq2seq (Gong et al., 2023, ICLR), following the public
code Shark-NLP/DiffuSeq (`diffuseq/gaussian_diffusion.py`, `step_sample.py`, `rounding.py`, `sample_seq2seq.py`).

Legend (paper → code):
    w = [w^x; w^y]     source and target token ids               input_ids   LongTensor [B, L]
    m                  1 on target (+[SEP], padding), 0 on source input_mask  LongTensor [B, L]
    EMB(w)             word embeddings                           x_emb       [B, L, E]
    z_0                x_0 = EMB(w) + √(1−ᾱ_0) ε   (eq. 2)       x0          [B, L, E]
    z_t                partially noised: only m = 1 positions    xt          [B, L, E]
    f_θ(z_t, t)        x0-prediction network                      model(xt, model_time(t))
    ᾱ_t                discrete cumulative signal level           alpha_bars[t], t ∈ {0, …, T−1}

Schedule: DiffuSeq's "sqrt" schedule, ᾱ(s) = 1 − √(s + 1e-4) on s ∈ [0, 1] discretised by `betas_for_alpha_bar`:
β_i = min(1 − ᾱ((i+1)/T) / ᾱ(i/T), 0.999), ᾱ_t = Π_{i≤t} (1 − β_i). Note ᾱ_t is therefore ᾱ((t+1)/T)/ᾱ(0), not
ᾱ(t/T): ᾱ_0 ≈ 0.985 for T = 2000, and the last β is clipped because ᾱ(1) < 0.

Training loss per example (DiffuSeq `training_losses_seq2seq`; mean_flat = mean over ALL L·E entries, source
positions included, as the public code does):
    L = mse + decoder_nll + tT
    mse         = mean_flat((x0 − f_θ(z_t, t))²), or mean_flat((EMB(w) − f_θ)²) when t = 0
    decoder_nll = mean over L of −log softmax(lm_head(x0))[w]   (rounding term, all positions)
    tT          = mean_flat((√ᾱ_{T−1} x0)²)                     (prior term: the mean of q(z_T | x0))
The logged `nll` (masked −log p(w | f_θ) on target positions) is not part of the loss, as in DiffuSeq.

The distillation contract is what DLM-One uses (core.contracts.DiffuSeqProcessContract, DiffuSeqNetworkContract,
DiffuSeqFunctions): `forward_sample(x0, t, noise, mask)` is the forward process with explicit time and noise,
differentiable in the clean embeddings x0; `signal_and_noise(t, like)` its (α_t, σ_t); `denoise(model, z_t, t)` the
x0 prediction of any network, `x0_mse` its per-position regression loss. All pure: the loss-aware timestep sampler
is an object the training loop owns (`make_timestep_sampler`) and updates with the training losses only, so
validation (which calls the same loss) never changes it.
"""
from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F

from core.seeding import derived_rng
from teachers.diffuseq_rounding import decode_ids, nearest_token, round_targets

MAX_BETA = 0.999            # DiffuSeq `betas_for_alpha_bar` default
RESPACE_MODES = ("kept", "diffuseq")
VARIANCES = ("fixedlarge", "fixedsmall")
SAMPLERS = ("ancestral", "ddim")
SAMPLING_STREAM = "diffuseq-sampling"


def sqrt_alpha_bars(num_steps: int, max_beta: float = MAX_BETA) -> torch.Tensor:
    """ᾱ_t, t = 0 … T−1, of DiffuSeq's "sqrt" schedule (float64 [T]); see the module docstring."""
    if num_steps < 1:
        raise ValueError(f"num_steps must be ≥ 1, got {num_steps}")

    def alpha_bar(s: float) -> float:
        return 1.0 - math.sqrt(s + 1e-4)

    betas = [min(1.0 - alpha_bar((i + 1) / num_steps) / alpha_bar(i / num_steps), max_beta) for i in range(num_steps)]
    return torch.cumprod(1.0 - torch.tensor(betas, dtype=torch.float64), dim=0)


# --- timestep samplers (DiffuSeq `step_sample.py`) ------------------------------------------------------------------
class UniformTimestepSampler:
    """t ~ U{0, …, T−1}, importance weights 1."""

    def __init__(self, num_steps: int):
        self.num_steps = num_steps

    def sample(self, batch_size: int, device, rng: torch.Generator | None = None):
        draw_on = rng.device if rng is not None else device   # an rng draws on its own device
        t = torch.randint(0, self.num_steps, (batch_size,), device=draw_on, generator=rng)
        return t.to(device), torch.ones(batch_size, device=device)

    def update(self, t: torch.Tensor, losses: torch.Tensor) -> None:
        pass  # nothing to learn


class LossSecondMomentResampler:
    """DiffuSeq's "lossaware" sampler: p(t) ∝ √E[L_t²] over the last `history` losses at t (mixed with
    `uniform_prob` of uniform), once every t has a full history; uniform before. Importance weights 1 / (T p(t))
    keep the objective unbiased. Single-process version: DiffuSeq all-gathers the losses of every rank first.
    """

    def __init__(self, num_steps: int, history: int = 10, uniform_prob: float = 0.001):
        self.num_steps, self.history, self.uniform_prob = num_steps, history, uniform_prob
        self.loss_history = np.zeros((num_steps, history), dtype=np.float64)
        self.loss_counts = np.zeros(num_steps, dtype=np.int64)

    def probabilities(self) -> np.ndarray:
        if not (self.loss_counts == self.history).all():
            return np.full(self.num_steps, 1.0 / self.num_steps)
        w = np.sqrt(np.mean(self.loss_history ** 2, axis=-1))
        w = w / w.sum() * (1.0 - self.uniform_prob) + self.uniform_prob / self.num_steps
        return w / w.sum()

    def sample(self, batch_size: int, device, rng: torch.Generator | None = None):
        p = torch.from_numpy(self.probabilities())
        cpu_rng = rng if rng is not None and rng.device.type == "cpu" else None  # p lives on CPU
        t = torch.multinomial(p, batch_size, replacement=True, generator=cpu_rng)
        weights = 1.0 / (self.num_steps * p[t])
        return t.to(device), weights.float().to(device)

    def update(self, t: torch.Tensor, losses: torch.Tensor) -> None:
        for step, loss in zip(t.tolist(), losses.detach().float().cpu().tolist()):
            if self.loss_counts[step] == self.history:   # full: shift out the oldest
                self.loss_history[step, :-1] = self.loss_history[step, 1:]
                self.loss_history[step, -1] = loss
            else:
                self.loss_history[step, self.loss_counts[step]] = loss
                self.loss_counts[step] += 1

    def state_dict(self) -> dict:
        return {"loss_history": torch.from_numpy(self.loss_history.copy()),
                "loss_counts": torch.from_numpy(self.loss_counts.copy())}

    def load_state_dict(self, state: dict) -> None:
        self.loss_history = state["loss_history"].cpu().numpy().astype(np.float64)
        self.loss_counts = state["loss_counts"].cpu().numpy().astype(np.int64)


TIMESTEP_SAMPLERS = {"uniform": UniformTimestepSampler, "lossaware": LossSecondMomentResampler}


def make_timestep_sampler(name: str, num_steps: int):
    """The training loop's t-sampler ("uniform" or DiffuSeq's "lossaware"); its history is the loop's state."""
    if name not in TIMESTEP_SAMPLERS:
        raise ValueError(f"unknown timestep_sampler {name!r}; valid: {sorted(TIMESTEP_SAMPLERS)}")
    return TIMESTEP_SAMPLERS[name](num_steps)


# --- the process ----------------------------------------------------------------------------------------------------
class DiffuSeqProcess:
    """Gaussian partial-noising process over embeddings with x0-prediction. Holds no network and no training state.

    num_steps: T (DiffuSeq 2000). rescale_timesteps: the network sees t·1000/T (DiffuSeq default True).
    """

    def __init__(self, num_steps: int = 2000, *, rescale_timesteps: bool = True):
        self.num_steps = num_steps
        self.rescale_timesteps = rescale_timesteps
        self.alpha_bars = sqrt_alpha_bars(num_steps)                       # float64 [T], on CPU

    def config(self) -> dict:
        """What sampling needs to rebuild the process."""
        return {"num_steps": self.num_steps, "rescale_timesteps": self.rescale_timesteps}

    def model_time(self, t: torch.Tensor) -> torch.Tensor:
        """DiffuSeq `_scale_timesteps` (done by `_WrappedModel`): t·1000/T as float, or t unchanged."""
        return t.float() * (1000.0 / self.num_steps) if self.rescale_timesteps else t

    def _at(self, values: torch.Tensor, t: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
        """values[t] as [B, 1, 1] in like's dtype/device (DiffuSeq computes in float64 and casts to float32)."""
        return values[t.cpu()].to(device=like.device, dtype=like.dtype).view(-1, 1, 1)

    def signal_and_noise(self, t: torch.Tensor, like: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(α_t, σ_t) = (√ᾱ_t, √(1−ᾱ_t)) as [B, 1, 1] in like's dtype/device."""
        ab = self._at(self.alpha_bars, t, like)
        return ab.sqrt(), (1.0 - ab).sqrt()

    # forward process
    def x_start(self, x_emb: torch.Tensor, rng: torch.Generator | None = None) -> torch.Tensor:
        """x0 = EMB(w) + √(1−ᾱ_0) ε  (DiffuSeq `_get_x_start`)."""
        std = math.sqrt(1.0 - self.alpha_bars[0].item())
        return x_emb + std * randn_like(x_emb, rng)

    def forward_sample(self, x0: torch.Tensor, t: torch.Tensor, noise: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """z_t = √ᾱ_t x0 + √(1−ᾱ_t) ε on mask = 1 positions; x0 itself on the source (mask = 0). Shapes [B, L, E].
        Differentiable in x0 (DLM-One back-propagates through it into the generator)."""
        alpha, sigma = self.signal_and_noise(t, x0)
        return anchor(alpha * x0 + sigma * noise, x0, mask)

    def prior_sample(self, x_src: torch.Tensor, mask: torch.Tensor, rng: torch.Generator | None = None):
        """z_T: N(0, I) on target positions, the clean source embeddings elsewhere (`sample_seq2seq.py`)."""
        return anchor(randn_like(x_src, rng), x_src, mask)

    # the denoiser and its loss
    def denoise(self, model, zt: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        """f(z_t, t): the network's x0 prediction [B, L, E] at integer times t [B] (rescaled as DiffuSeq does)."""
        return model(zt, self.model_time(t))

    def training_losses(self, model, input_ids: torch.Tensor, input_mask: torch.Tensor, t: torch.Tensor,
                        rng: torch.Generator | None = None) -> tuple[torch.Tensor, dict]:
        """DiffuSeq's per-example loss [B] at the given times t [B] (module docstring), and its logged terms
        (floats). Pure: nothing outside the returned values changes."""
        if input_ids.shape != input_mask.shape:
            raise ValueError(f"input_ids {tuple(input_ids.shape)} and input_mask {tuple(input_mask.shape)} differ")
        batch = input_ids.shape[0]
        x_emb = model.get_embeds(input_ids)                                     # EMB(w)  [B, L, E]
        x0 = self.x_start(x_emb, rng)                                           # 1. z_0
        xt = self.forward_sample(x0, t, randn_like(x0, rng), input_mask)             # 2. partial noising
        x0_pred = self.denoise(model, xt, t)                                    # 3. f_θ(z_t, t)
        target = torch.where((t == 0).view(-1, 1, 1), x_emb, x0)               #    t = 0: clean-embedding target
        mse = x0_mse(x0_pred, target).mean(-1)                                  # 4. x0-regression
        t_last = torch.full_like(t, self.num_steps - 1)
        tT = mean_flat((self._at(self.alpha_bars, t_last, x0).sqrt() * x0) ** 2)  # 5. prior term
        decoder_nll = token_nll(model.get_logits(x0), input_ids)                # 6. rounding term
        per_example = mse + decoder_nll + tT
        with torch.no_grad():   # logged only, as in DiffuSeq; LM head on target rows only (cheaper, same value)
            on_target = input_mask.bool()
            tok = F.cross_entropy(model.get_logits(x0_pred[on_target]).float(), input_ids[on_target],
                                  reduction="none")
            rows = on_target.nonzero()[:, 0]
            nll = torch.zeros(batch, device=tok.device).index_add_(0, rows, tok) / input_mask.sum(-1)
        metrics = {"mse": mse.mean().item(), "decoder_nll": decoder_nll.mean().item(),
                   "tT": tT.mean().item(), "nll": nll.mean().item()}
        return per_example, metrics

    def training_loss(self, model, input_ids: torch.Tensor, input_mask: torch.Tensor, *,
                      t: torch.Tensor | None = None, weights: torch.Tensor | None = None,
                      rng: torch.Generator | None = None):
        """Returns (scalar loss, metrics dict of floats): the weighted mean of `training_losses`.
        t defaults to uniform draws (unbiased; a training loop that samples t loss-aware passes its t and importance
        weights, and updates its sampler with `training_losses` itself)."""
        if t is None:
            t, weights = UniformTimestepSampler(self.num_steps).sample(input_ids.shape[0], input_ids.device,
                                                                       rng)
        per_example, metrics = self.training_losses(model, input_ids, input_mask, t, rng)
        loss = per_example.mean() if weights is None else (per_example * weights).mean()
        return loss, {"loss": loss.item(), **metrics}


def x0_mse(x0_pred: torch.Tensor, x0: torch.Tensor) -> torch.Tensor:
    """Per-position x0-regression ‖x0 − x̂0‖² / E, [B, L, E] -> [B, L] (DiffuSeq's mse before its mean over L)."""
    return ((x0 - x0_pred) ** 2).mean(-1)


def randn_like(x: torch.Tensor, rng: torch.Generator | None = None) -> torch.Tensor:
    return torch.randn(x.shape, device=x.device, dtype=x.dtype, generator=rng)


def anchor(x: torch.Tensor, x_src: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Keep x_src (bit-for-bit) where mask = 0; x elsewhere. x, x_src [B, L, E], mask [B, L]."""
    return torch.where(mask[..., None] == 0, x_src, x)


def mean_flat(x: torch.Tensor) -> torch.Tensor:
    return x.mean(dim=list(range(1, x.dim())))


def token_nll(logits: torch.Tensor, ids: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
    """Per-example mean cross-entropy [B] over all positions, or over mask = 1 positions (DiffuSeq
    `_token_discrete_loss`)."""
    nll = F.cross_entropy(logits.flatten(0, 1).float(), ids.flatten(), reduction="none").view(ids.shape)
    if mask is None:
        return nll.mean(dim=-1)
    mask = mask.to(nll.dtype)
    return (nll * mask).sum(dim=-1) / mask.sum(dim=-1)


# --- sampling ---------------------------------------------------------------------------------------------------------
def step_plan(process: DiffuSeqProcess, steps: int, respace: str = "kept"):
    """Timesteps to visit, from noisiest to cleanest, with (ᾱ_t, ᾱ_prev) for each jump t → prev.

    respace="kept":     t_j = ⌊(j+1)·T/K⌋ − 1, j = K−1 … 0 (exactly K steps; equal to DiffuSeq's list when K | T) and
                        ᾱ_prev = ᾱ of the previous KEPT step (1 after the last): the jump lands on the noise level
                        the network is evaluated at next (DDIM paper §4.2; improved-diffusion's SpacedDiffusion).
    respace="diffuseq": DiffuSeq's `ddim_sample_loop(gap=T//K)`: t = T−1, T−1−gap, … (K or more steps) with
                        ᾱ_prev = ᾱ_{t−1}, the neighbouring ORIGINAL step — so each update moves one original step of
                        noise, the next network call is told a level it was not moved to, and the returned sample keeps
                        the noise of level t_min − 1. Offered to reproduce DiffuSeq's numbers.
    For K = T both give t = T−1 … 0 with ᾱ_prev = ᾱ_{t−1}.
    Returns (t LongTensor [K], alpha_bar float64 [K], alpha_bar_prev float64 [K]).
    """
    T = process.num_steps
    if not 1 <= steps <= T:
        raise ValueError(f"steps must be in [1, {T}], got {steps}")
    ab = process.alpha_bars
    with_one = torch.cat([torch.ones(1, dtype=ab.dtype), ab])               # with_one[t + 1] = ᾱ_t, with_one[0] = 1
    if respace == "kept":
        t = torch.tensor([(j + 1) * T // steps - 1 for j in range(steps)])   # ascending
        prev = torch.cat([torch.ones(1, dtype=ab.dtype), ab[t[:-1]]])
        return t.flip(0), ab[t].flip(0), prev.flip(0)
    if respace == "diffuseq":
        t = torch.arange(T - 1, -1, -(T // steps))
        return t, ab[t], with_one[t]                                          # with_one[t] = ᾱ_{t−1}
    raise ValueError(f"unknown respace {respace!r}; valid: {list(RESPACE_MODES)}")


def predict_x0(process: DiffuSeqProcess, model, x: torch.Tensor, t: int, *, clamp: bool,
               mask: torch.Tensor | None = None) -> torch.Tensor:
    """f_θ(z_t, t) [B, L, E], rounded to the nearest embeddings when clamp (DiffuSeq applies `denoised_fn` at every
    step with its defaults clamp_step=0, clamp_first=True): at the target positions (mask = 1) only, or everywhere
    without a mask."""
    t_vec = torch.full((x.shape[0],), t, dtype=torch.long, device=x.device)
    x0 = process.denoise(model, x, t_vec)
    if not clamp:
        return x0
    return round_targets(model, x0, torch.ones(x0.shape[:-1], device=x0.device) if mask is None else mask)[0]


@torch.no_grad()
def target_recovery(process: DiffuSeqProcess, model, input_ids: torch.Tensor, input_mask: torch.Tensor, t: int, *,
                    ignore_id: int | None = None, rng: torch.Generator | None = None) -> float:
    """Fraction of target tokens (mask = 1, `ignore_id` e.g. padding excluded) that rounding f_θ(z_t, t) to the
    nearest embedding recovers. A diagnostic, not in DiffuSeq: near t = T the target is noise and only the
    source can tell the word, so this is how much of the conditioning has been learned (the denoising loss is
    dominated by small t, where z_t alone identifies the token)."""
    x0 = process.x_start(model.get_embeds(input_ids), rng)
    t_vec = torch.full((input_ids.shape[0],), t, dtype=torch.long, device=input_ids.device)
    xt = process.forward_sample(x0, t_vec, randn_like(x0, rng), input_mask)
    predicted = nearest_token(predict_x0(process, model, xt, t, clamp=False), model.word_embedding.weight)
    scored = input_mask.bool() if ignore_id is None else input_mask.bool() & (input_ids != ignore_id)
    return (predicted[scored] == input_ids[scored]).float().mean().item()


@torch.no_grad()
def sample_ancestral(process: DiffuSeqProcess, model, x_src: torch.Tensor, mask: torch.Tensor, *,
                     steps: int | None = None, clamp: bool = True, variance: str = "fixedlarge",
                     rng: torch.Generator | None = None) -> torch.Tensor:
    """DiffuSeq `p_sample_loop`: z_prev ~ N(μ̃(z_t, x̂0), σ²) with the posterior mean of q(z_prev | z_t, x0)
        μ̃ = √ᾱ_prev β/(1−ᾱ_t) · x̂0 + √(1−β)(1−ᾱ_prev)/(1−ᾱ_t) · z_t,   β = 1 − ᾱ_t/ᾱ_prev,
    σ² = β ("fixedlarge", DiffuSeq's sigma_small=False) or β(1−ᾱ_prev)/(1−ᾱ_t) ("fixedsmall"); no noise on the last
    step, which returns x̂0. steps < T uses the "kept" respacing (DiffuSeq's p_sample_loop has no gap; its
    SpacedDiffusion respaces this way). Source positions are re-anchored after every step. Returns z_0 [B, L, E].
    """
    if variance not in VARIANCES:
        raise ValueError(f"unknown variance {variance!r}; valid: {list(VARIANCES)}")
    plan = step_plan(process, steps or process.num_steps, "kept")
    x = process.prior_sample(x_src, mask, rng)
    for i, (t, ab, ab_prev) in enumerate(zip(*plan)):
        ab, ab_prev = ab.item(), ab_prev.item()
        beta = 1.0 - ab / ab_prev
        x0 = predict_x0(process, model, x, t.item(), clamp=clamp, mask=mask)               # 1. x̂0
        mean = (math.sqrt(ab_prev) * beta / (1 - ab)) * x0 + (math.sqrt(1 - beta) * (1 - ab_prev) / (1 - ab)) * x
        if i < len(plan[0]) - 1:                                                            # 2. add noise
            var = beta if variance == "fixedlarge" else beta * (1 - ab_prev) / (1 - ab)
            mean = mean + math.sqrt(var) * randn_like(x, rng)
        x = anchor(mean, x_src, mask)                                                       # 3. re-anchor source
    return x


@torch.no_grad()
def sample_ddim(process: DiffuSeqProcess, model, x_src: torch.Tensor, mask: torch.Tensor, *, steps: int,
                respace: str = "kept", clamp: bool = True, rng: torch.Generator | None = None) -> torch.Tensor:
    """DDIM with η = 0 (Song et al., 2021, eq. 12):
        ε̂ = (z_t − √ᾱ_t x̂0)/√(1−ᾱ_t),   z_prev = √ᾱ_prev x̂0 + √(1−ᾱ_prev) ε̂,
    over `step_plan(process, steps, respace)`. Only the prior draw is random. Returns the last z [B, L, E]."""
    x = process.prior_sample(x_src, mask, rng)
    for t, ab, ab_prev in zip(*step_plan(process, steps, respace)):
        ab, ab_prev = ab.item(), ab_prev.item()
        x0 = predict_x0(process, model, x, t.item(), clamp=clamp, mask=mask)                # 1. x̂0
        eps = (x - math.sqrt(ab) * x0) / math.sqrt(1 - ab)                                  # 2. implied noise
        x = math.sqrt(ab_prev) * x0 + math.sqrt(1 - ab_prev) * eps                          # 3. jump to prev
        x = anchor(x, x_src, mask)                                                          # 4. re-anchor source
    return x


@torch.no_grad()
def sample_seq2seq(process: DiffuSeqProcess, model, batch: dict, *, steps: int, k_candidates: int = 1,
             seeds: Sequence[int] | None = None, sampler: str = "ddim", respace: str = "kept",
             clamp: bool = True) -> torch.Tensor:
    """k candidates per source. batch: {"input_ids": [B, L], "input_mask": [B, L]} (target slots of input_ids are
    ignored). Candidate i uses seeds[i] (default i). Returns LongTensor [B, k, L]: the source ids where mask = 0,
    the argmax-decoded target elsewhere. The seeds are user-facing; the noise comes from
    `derived_rng(seed, SAMPLING_STREAM)`. MBR selection is `core.evaluate.seq2seq.mbr_select`'s job."""
    if sampler not in SAMPLERS:
        raise ValueError(f"unknown sampler {sampler!r}; valid: {list(SAMPLERS)}")
    seeds = list(range(k_candidates)) if seeds is None else list(seeds)
    if len(seeds) != k_candidates:
        raise ValueError(f"got {len(seeds)} seeds for k_candidates={k_candidates}")
    ids, mask = batch["input_ids"], batch["input_mask"]
    x_src = model.get_embeds(ids)
    candidates = []
    for seed in seeds:
        rng = derived_rng(seed, SAMPLING_STREAM, ids.device)   # never the model-init stream (core/seeding.py)
        if sampler == "ddim":
            z = sample_ddim(process, model, x_src, mask, steps=steps, respace=respace, clamp=clamp, rng=rng)
        else:
            if respace != "kept":
                raise ValueError("respace='diffuseq' is a DDIM behaviour; the ancestral sampler only respaces 'kept'")
            z = sample_ancestral(process, model, x_src, mask, steps=steps, clamp=clamp, rng=rng)
        candidates.append(decode_ids(model, z, ids, mask))
    return torch.stack(candidates, dim=1)
