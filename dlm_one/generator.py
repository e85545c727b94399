"""DLM-One's one-step generator G_θ and its inference variants.

G_θ is a copy of the DiffuSeq teacher evaluated ONCE at t_init (DLM-One Alg. 1; the discrete-t SiD code):
    z ~ N(0, I)                                      [B, L, E]
    x_init = σ_{t_init} z on targets, c on sources   (the generator sees the clean condition, as DiffuSeq's sampler)
    x_g    = f_θ(x_init, t_init), source positions reset to c      (one forward pass = one sequence)
[inferred for DiffuSeq] the source handling: DiffuSeq keeps the source clean in every step, so G does too.

Inference (`student_generate`), shapes as in `teachers.diffuseq.sample_seq2seq` so the same decoding and metrics apply:
  * steps = 1: x_g above, decoded as DiffuSeq decodes (clamp: round to the nearest embedding, then the tied head's
    argmax). The noise comes from the teacher sampler's own stream, so with θ = φ and t_init = T − 1 the student's
    outputs are the teacher's 1-step DDIM outputs (σ_{T−1} = 1 − 1e-7): a row of the undistilled student reproduces
    the teacher's 1-step row, and paired gaps compare the two on common noise.
  * steps = K > 1, "re-noise and denoise" (DLM-One appendix C): x̂0 ← G at t_init, then for j = 1 … K−1
    re-noise x̂0 to t_j = round(t_init (K − j)/K) with fresh noise and denoise with G at t_j. The level schedule is
    our choice (the paper gives no list): evenly spaced below t_init.
  * pad_prob = p: before every source token a [PAD] is inserted with probability p (the diversity knob of DLM-One
    Table 6), capped so that at least half the target slots remain; outputs are written back in the original layout.
"""
from __future__ import annotations

from collections.abc import Sequence

import torch

from core.seeding import derived_rng
from teachers.diffuseq import SAMPLING_STREAM, anchor, randn_like
from teachers.diffuseq_rounding import decode_ids, round_targets


def level(t: int, like: torch.Tensor) -> torch.Tensor:
    return torch.full((like.shape[0],), int(t), dtype=torch.long, device=like.device)


def one_step(process, generator, x_src: torch.Tensor, mask: torch.Tensor, *, t_init: int,
             z: torch.Tensor) -> torch.Tensor:
    """x_g = G_θ(z, c) [B, L, E] (module docstring). Differentiable in θ; z [B, L, E] standard normal."""
    t = level(t_init, x_src)
    _, sigma = process.signal_and_noise(t, x_src)
    x_init = anchor(sigma * z, x_src, mask)
    return anchor(process.denoise(generator, x_init, t), x_src, mask)


def renoise_levels(t_init: int, steps: int) -> list[int]:
    """t_init, then K − 1 evenly spaced lower levels: round(t_init (K − j)/K), j = 0 … K−1."""
    if steps < 1:
        raise ValueError(f"steps must be >= 1, got {steps}")
    return [round(t_init * (steps - j) / steps) for j in range(steps)]


@torch.no_grad()
def sample(process, generator, x_src: torch.Tensor, mask: torch.Tensor, *, t_init: int, steps: int = 1,
           clamp: bool = True, rng: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor | None]:
    """(embeddings [B, L, E] from `steps` generator calls (1 = the one-step generator), their tokens [B, L] or
    None). With clamp every x̂0 is rounded to the nearest embedding, as DiffuSeq's denoised_fn does at every step,
    and the tokens are the last rounding's (-1 on the source)."""
    def rounded(x):
        return round_targets(generator, x, mask) if clamp else (x, None)

    levels = renoise_levels(t_init, steps)
    x, ids = rounded(one_step(process, generator, x_src, mask, t_init=levels[0], z=randn_like(x_src, rng)))
    for t in levels[1:]:
        xt = process.forward_sample(x, level(t, x), randn_like(x, rng), mask)                 # re-noise x̂0 to level t
        x, ids = rounded(anchor(process.denoise(generator, xt, level(t, x)), x_src, mask))   # denoise with G at t
    return x, ids


def insert_pads(ids: torch.Tensor, mask: torch.Tensor, p: float, pad_id: int,
                rng: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Random [PAD] insertion into the condition `[CLS] src [SEP]` (mask = 0 span), row by row.
    Returns (ids, mask) of the same shape; the target span after the new [SEP] is all [PAD] (it is generated)."""
    if p <= 0.0:
        return ids, mask
    out_ids, out_mask = ids.clone(), mask.clone()
    for b in range(ids.shape[0]):
        n_cond = int((mask[b] == 0).sum())
        cls, source, sep = ids[b, 0].item(), ids[b, 1:n_cond - 1].tolist(), ids[b, n_cond - 1].item()
        inserted = []
        for token in source:
            if torch.rand((), generator=rng).item() < p:
                inserted.append(pad_id)
            inserted.append(token)
        budget = len(source) + (ids.shape[1] - n_cond) // 2       # keep at least half the target slots
        row = [cls, *inserted[:budget], sep]
        out_ids[b] = pad_id
        out_ids[b, :len(row)] = torch.tensor(row)
        out_mask[b] = 1
        out_mask[b, :len(row)] = 0
    return out_ids, out_mask


def repack_targets(decoded: torch.Tensor, used_mask: torch.Tensor, ids: torch.Tensor,
                   mask: torch.Tensor) -> torch.Tensor:
    """Write the generated targets (mask = 1 span of `used_mask`) into the original layout (ids, mask)."""
    out = ids.clone()
    for b in range(ids.shape[0]):
        generated = decoded[b][used_mask[b] == 1]
        slots = (mask[b] == 1).nonzero().squeeze(-1)
        n = min(len(generated), len(slots))
        out[b, slots[:n]] = generated[:n]
    return out


@torch.no_grad()
def student_generate(process, student, batch: dict, *, t_init: int, steps: int = 1, k_candidates: int = 1,
             seeds: Sequence[int] | None = None, pad_prob: float = 0.0, pad_id: int = 0,
             clamp: bool = True) -> torch.Tensor:
    """k candidates per source, LongTensor [B, k, L] in the layout of batch["input_ids"] (teachers.diffuseq.sample_seq2seq's
    contract, so teachers.diffuseq_decode decodes both alike). Candidate i draws from seeds[i] (default i)."""
    seeds = list(range(k_candidates)) if seeds is None else list(seeds)
    if len(seeds) != k_candidates:
        raise ValueError(f"got {len(seeds)} seeds for k_candidates={k_candidates}")
    ids, mask = batch["input_ids"], batch["input_mask"]
    candidates = []
    for seed in seeds:
        rng = derived_rng(seed, SAMPLING_STREAM, ids.device)
        used_ids, used_mask = insert_pads(ids, mask, pad_prob, pad_id, rng)
        x_src = student.get_embeds(used_ids)
        x, rounded = sample(process, student, x_src, used_mask, t_init=t_init, steps=steps, clamp=clamp, rng=rng)
        decoded = decode_ids(student, x, used_ids, used_mask, rounded)
        candidates.append(repack_targets(decoded, used_mask, ids, mask) if pad_prob > 0 else decoded)
    return torch.stack(candidates, dim=1)
