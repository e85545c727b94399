"""Token lengths of examples and the sequence length that covers them.

An example's length counts the special tokens of its layout, so it is directly comparable with `data.seq_len`:
  language modelling  [BOS] document [EOS]          (core.data.lm_blocks, one document per row)
  seq2seq             [CLS] src [SEP] trg [SEP]     (core.data.diffuseq_encode)
Shared by `experiments.data prepare` (its report), `data.seq_len=auto` and the truncation warning.
"""
from __future__ import annotations

import math
from typing import Sequence

from core.tokenizers import CharTokenizer

LM_SPECIALS = 2
SEQ2SEQ_SPECIALS = 3
COVERED = 0.99            # data.seq_len=auto covers this fraction of the training examples
SEQ_LEN_MULTIPLE = 8      # auto rounds up to a multiple of 8 (friendlier to kernels, and stable under small edits)
PERCENTILES = (50, 90, 99)


def token_counts(texts: Sequence[str], tokenizer) -> tuple[list[int], set[str]]:
    """(tokens of each text without special tokens, characters the tokenizer cannot encode). A `char` tokenizer counts
    one token per character even for a character outside its alphabet, so a report can still be made and the
    characters named; every other tokenizer encodes any text."""
    if not isinstance(tokenizer, CharTokenizer):
        return [len(ids) for ids in tokenizer.encode_batch(list(texts))], set()
    alphabet = set(tokenizer.chars)
    unknown = {c for t in texts for c in t} - alphabet
    return [len(t) for t in texts], unknown


def nearest_rank(sorted_lengths: Sequence[int], q: float) -> int:
    """The smallest length at or below which at least a fraction q of the examples lie."""
    return sorted_lengths[max(0, math.ceil(q * len(sorted_lengths)) - 1)]


def percentiles(lengths: Sequence[int]) -> dict[str, int]:
    """{"p50", "p90", "p99", "max"} of the lengths (nearest rank: each is a length some example has)."""
    ordered = sorted(lengths)
    return {**{f"p{p}": nearest_rank(ordered, p / 100) for p in PERCENTILES}, "max": ordered[-1]}


def covering_seq_len(lengths: Sequence[int], q: float = COVERED) -> int:
    """The length at which at least a fraction q of the examples fit whole, rounded up to a multiple of 8."""
    return SEQ_LEN_MULTIPLE * math.ceil(nearest_rank(sorted(lengths), q) / SEQ_LEN_MULTIPLE)


def truncated_fraction(lengths: Sequence[int], seq_len: int) -> float:
    """The fraction of examples longer than seq_len (cut by the layout's truncation)."""
    return sum(n > seq_len for n in lengths) / len(lengths) if lengths else 0.0


def lm_lengths(documents: Sequence[str], tokenizer) -> tuple[list[int], set[str]]:
    counts, unknown = token_counts(documents, tokenizer)
    return [n + LM_SPECIALS for n in counts], unknown


def seq2seq_lengths(pairs: Sequence[tuple[str, str]], tokenizer) -> tuple[list[int], list[int], list[int]]:
    """(source tokens, target tokens, whole example with its 3 special tokens) of (src, trg) pairs."""
    src, _ = token_counts([s for s, _ in pairs], tokenizer)
    trg, _ = token_counts([t for _, t in pairs], tokenizer)
    return src, trg, [s + t + SEQ2SEQ_SPECIALS for s, t in zip(src, trg)]
