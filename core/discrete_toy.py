"""Toy discrete distributions with known answers, for ground-truth tests of discrete diffusion teachers.

A toy data distribution is an explicit pmf over all V^L sequences (V ≤ ~4, L ≤ ~3), so every quantity the teachers
approximate can be computed exactly by enumeration: the masked posterior p(x^l | unmasked part of z), the entropy H,
the total-variation distance of a sampler's output.

API (all pmfs are float64 tensors of shape [V] * L, i.e. pmf[x^1, ..., x^L] = p(x); flat index = row of
`all_sequences`):
    toy_pmf(vocab_size, length, seed)               → pmf [V]*L, strictly positive, *not* a product of marginals
    all_sequences(vocab_size, length)               → LongTensor [V^L, L], row n ↔ pmf.flatten()[n]
    sample_pmf(pmf, n, rng=None)                    → LongTensor [n, L] i.i.d. draws from the pmf
    pmf_entropy(pmf)                                → H(p) in nats for the whole sequence (divide by L for per token)
    total_variation(samples, pmf)                   → ½ Σ_x |p̂(x) − p(x)|, p̂ the empirical pmf of samples [n, L]
    exact_masked_posterior(pmf, z, mask_id)         → probs [B, L, V]: p(x^l = v | z) under the data pmf
    exact_denoiser(pmf, mask_id)                    → callable (x, sigma) → log-probs [B, L, V+1] (see its doc)

"Masked posterior": for a partially masked z (entries == mask_id are unknown), p(x^l = v | z) is the pmf restricted
to sequences agreeing with z on its unmasked positions, renormalised, then marginalised to position l. At an
unmasked position this is the one-hot of the observed token (the SUBS "carry-over" of MDLM); at a masked position it
is the exact denoiser every absorbing-state model (MDLM x_θ, SEDD's score ratios) is trying to learn.
"""
from __future__ import annotations

import torch

LOG_FLOOR = -1e4  # finite stand-in for log 0 (exp() of it is exactly 0.0 in float32/64, and no NaN from −inf − −inf)


def toy_pmf(vocab_size: int, length: int, seed: int = 0, *, spread: float = 1.5) -> torch.Tensor:
    """A random strictly positive pmf over V^L sequences: softmax of i.i.d. N(0, spread²) logits (float64 [V]*L).

    Generic random logits make the pmf non-product (positions are correlated), which is what exercises the
    factorisation error of the samplers; `spread` controls how peaked it is.
    """
    if vocab_size < 2 or length < 1:
        raise ValueError(f"toy_pmf needs vocab_size >= 2 and length >= 1, got V={vocab_size}, L={length}")
    rng = torch.Generator().manual_seed(seed)
    logits = spread * torch.randn(vocab_size ** length, generator=rng, dtype=torch.float64)
    return logits.softmax(0).reshape([vocab_size] * length)


def all_sequences(vocab_size: int, length: int) -> torch.Tensor:
    """Every sequence in row-major order, LongTensor [V^L, L]; row n has flat index n in pmf.flatten()."""
    grids = torch.meshgrid(*[torch.arange(vocab_size)] * length, indexing="ij")
    return torch.stack([g.reshape(-1) for g in grids], dim=-1)


def _flat_index(x: torch.Tensor, vocab_size: int) -> torch.Tensor:
    """[n, L] ids → [n] row-major flat index Σ_l x^l · V^(L−1−l)."""
    powers = vocab_size ** torch.arange(x.shape[-1] - 1, -1, -1, device=x.device)
    return (x * powers).sum(-1)


def sample_pmf(pmf: torch.Tensor, n: int, rng: torch.Generator | None = None) -> torch.Tensor:
    """n i.i.d. sequences from the pmf, LongTensor [n, L] (on the pmf's device)."""
    vocab_size, length = pmf.shape[0], pmf.dim()
    flat = torch.multinomial(pmf.reshape(-1), n, replacement=True, generator=rng)
    return all_sequences(vocab_size, length).to(pmf.device)[flat]


def pmf_entropy(pmf: torch.Tensor) -> float:
    """H(p) = −Σ_x p(x) log p(x) in nats, over whole sequences."""
    p = pmf.reshape(-1)
    return float(-(p * p.clamp_min(1e-300).log()).sum())


def total_variation(samples: torch.Tensor, pmf: torch.Tensor) -> float:
    """TV(p̂, p) = ½ Σ_x |p̂(x) − p(x)| between the empirical pmf of samples [n, L] and pmf.

    Raises ValueError if a sample has an id outside [0, V) (e.g. a leftover [MASK]) or the wrong length.
    """
    vocab_size, length = pmf.shape[0], pmf.dim()
    if samples.dim() != 2 or samples.shape[1] != length:
        raise ValueError(f"samples must have shape [n, {length}], got {list(samples.shape)}")
    if samples.min() < 0 or samples.max() >= vocab_size:
        raise ValueError(f"samples must be ids in [0, {vocab_size}), got range "
                         f"[{int(samples.min())}, {int(samples.max())}]")
    counts = torch.bincount(_flat_index(samples.cpu(), vocab_size), minlength=vocab_size ** length)
    empirical = counts.double() / samples.shape[0]
    return 0.5 * float((empirical - pmf.reshape(-1).cpu()).abs().sum())


def exact_masked_posterior(pmf: torch.Tensor, z: torch.Tensor, mask_id: int) -> torch.Tensor:
    """p(x^l = v | z) for every position, float64 [B, L, V] (on z's device).

        w(x | z)        = p(x) · Π_{l: z^l ≠ m} 1[x^l = z^l]       (sequences compatible with the unmasked tokens)
        p(x^l = v | z)  = Σ_x w(x | z) 1[x^l = v] / Σ_x w(x | z)

    z: LongTensor [B, L] with ids in [0, V) ∪ {mask_id}. Unmasked positions come out one-hot on the observed token.
    """
    vocab_size, length = pmf.shape[0], pmf.dim()
    if z.dim() != 2 or z.shape[1] != length:
        raise ValueError(f"z must have shape [B, {length}], got {list(z.shape)}")
    seqs = all_sequences(vocab_size, length).to(z.device)                          # [N, L]
    agrees = (z[:, None, :] == mask_id) | (z[:, None, :] == seqs[None])            # [B, N, L]
    weights = pmf.reshape(-1).to(z.device)[None] * agrees.all(-1)                  # [B, N]
    onehot = torch.nn.functional.one_hot(seqs, vocab_size).double()                # [N, L, V]
    joint = torch.einsum("bn,nlv->blv", weights, onehot)
    return joint / weights.sum(-1)[:, None, None]


def exact_denoiser(pmf: torch.Tensor, mask_id: int):
    """The exact absorbing-state denoiser as a "network": (x [B, L], sigma [B]) → log-probs [B, L, V+1] (float64).

    Entry v < V is log p(x^l = v | x) (exact_masked_posterior); the [MASK] entry is LOG_FLOOR (probability 0). It
    ignores sigma: under absorbing noise the posterior over clean tokens given z_t does not depend on t. A teacher
    test wraps it into its own parameterization (MDLM: these are already x_θ logits; SEDD: add log V, see
    teachers/sedd.py). The answers for all (V+1)^L inputs are tabulated once, so a call on a batch of 10^5 is a
    gather (samplers call it once per step).
    """
    vocab_size, length = pmf.shape[0], pmf.dim()
    if mask_id != vocab_size:
        raise ValueError(f"exact_denoiser expects the mask id appended after the vocabulary ({vocab_size}), "
                         f"got {mask_id}")
    states = all_sequences(vocab_size + 1, length)                                  # [(V+1)^L, L]
    # inputs impossible under the pmf (p(z) = 0, only if the pmf has zeros) give 0/0: any finite row will do there
    log_p = exact_masked_posterior(pmf, states, mask_id).log().nan_to_num(nan=LOG_FLOOR).clamp_min(LOG_FLOOR)
    table = torch.cat([log_p, torch.full_like(log_p[..., :1], LOG_FLOOR)], dim=-1)  # [(V+1)^L, L, V+1]

    def network(x: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
        return table.to(x.device)[_flat_index(x, vocab_size + 1)]
    return network
