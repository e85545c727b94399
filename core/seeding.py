"""Random streams derived from (seed, purpose), so that one user seed never feeds two uses the same numbers.

Why: `torch.manual_seed(s)` and `torch.Generator().manual_seed(s)` produce the same stream. A model initialised after
`torch.manual_seed(0)` draws its N(0, 1) embedding table from it, and a sampler that then draws its N(0, I) prior
from `Generator().manual_seed(0)` receives that very table, row for row: the "noise" at batch row b, position p is
the initial embedding of token b·L + p. A DiffuSeq teacher still carries most of its initial embeddings, so its
sampler started from (scaled) token embeddings instead of independent noise; this showed as outputs running
through consecutive token ids at consecutive positions. Deriving every sampling stream from (seed, purpose) makes
such a coincidence impossible whatever seeds the user picks.
"""
from __future__ import annotations

import hashlib

import torch


def derived_seed(seed: int, purpose: str) -> int:
    """A 63-bit seed that is a fixed function of (seed, purpose) and unrelated to `seed` itself."""
    digest = hashlib.sha256(f"{purpose}:{int(seed)}".encode()).digest()
    return int.from_bytes(digest[:8], "little") >> 1


def derived_rng(seed: int, purpose: str, device="cpu") -> torch.Generator:
    """A torch.Generator on `device` seeded with `derived_seed(seed, purpose)`."""
    return torch.Generator(device=device).manual_seed(derived_seed(seed, purpose))


def validation_seed(seed: int) -> int:
    """The seed of validation and checkpoint selection during training: derived from the run's seed, so the samples
    that choose a checkpoint are never the samples of a reported row (those draw from `seed` itself)."""
    return derived_seed(seed, "validation")
