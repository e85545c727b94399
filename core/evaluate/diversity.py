"""Distribution metrics of one row's set of unconditional samples: how varied the set is and how it uses the corpus's
words. GenPPL rewards a sampler that collapses to a few frequent modes and unigram character entropy does not see
it; these metrics do.

Words (`words`): the text is lowercased, and a word is a maximal run of letters in which single apostrophes may join
letters ("know't", "o'er"); digits, punctuation, spaces and apostrophes at a word's ends separate words ("'tis" gives
"tis"). Every metric here, and the reference vocabulary (`word_counts` of the training split), reads words this way.

All metrics pool the whole SET of samples (none is a mean of per-sample values):
    distinct-n            distinct / total word n-grams over the set (n-grams never cross samples), n = 1..4
    self-BLEU             mean BLEU-4 over sample pairs: core.evaluate.seq2seq.self_bleu with the set as one group
    types per N valid     distinct words among the first N valid words of the set, samples in order; a valid word is
                          a word of the training split. None when the set has fewer than N valid words. Unlike
                          distinct-1 it compares sets of different word counts, and misspellings do not count.
    valid-word fraction   valid words / words
    top-k share           share of the valid words that are among the k most frequent training words
"""
from __future__ import annotations

import re
from collections import Counter
from typing import Iterable, Mapping, Sequence

from core.evaluate.seq2seq import distinct_ratio, self_bleu

_WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)*")   # letters, with single inner apostrophes
VALID_WORDS = 600   # the default N of "types per N valid words": 64 samples of 128 characters hold ~1000 valid words
TOP_K = 50
MAX_N = 4


def words(text: str) -> list[str]:
    """The words of `text` as this module defines them (module docstring): lowercase letters and inner apostrophes."""
    return _WORD.findall(text.lower())


def word_counts(texts: str | Iterable[str]) -> Counter:
    """How often each word occurs in a text or a list of documents (the reference vocabulary with its frequencies)."""
    counts = Counter()
    for text in [texts] if isinstance(texts, str) else texts:
        counts.update(words(text))
    return counts


def _word_strings(texts: Sequence[str]) -> list[str]:
    """Each text as its words joined by spaces: the whitespace-token form the seq2seq n-gram and BLEU code reads."""
    return [" ".join(words(t)) for t in texts]


def distinct_n(texts: Sequence[str], n: int) -> float:
    """distinct / total word n-grams pooled over the set; 0 when it has none."""
    return distinct_ratio(_word_strings(texts), n)


def set_self_bleu(texts: Sequence[str]) -> float | None:
    """Mean BLEU-4 over pairs of samples (1 for a set of one repeated text of >= 4 words); None for fewer than 2."""
    return self_bleu([_word_strings(texts)]) if len(texts) > 1 else None


def valid_words(texts: Sequence[str], vocabulary: Mapping[str, int] | set) -> list[str]:
    """The words of the set that are in `vocabulary`, in sample order."""
    return [w for t in texts for w in words(t) if w in vocabulary]


def types_per_valid_words(texts: Sequence[str], vocabulary: Mapping[str, int] | set,
                          n: int = VALID_WORDS) -> int | None:
    """Distinct words among the first `n` valid words of the set; None when it has fewer than `n`."""
    valid = valid_words(texts, vocabulary)
    return len(set(valid[:n])) if len(valid) >= n else None


def top_words(train_counts: Mapping[str, int], k: int = TOP_K) -> set[str]:
    """The k most frequent training words (ties: the word seen first in the training text)."""
    return {w for w, _ in Counter(train_counts).most_common(k)}


def top_k_share(texts: Sequence[str], train_counts: Mapping[str, int], k: int = TOP_K) -> float | None:
    """Share of the valid words of the set that are among the k most frequent training words; None without any."""
    valid = valid_words(texts, train_counts)
    top = top_words(train_counts, k)
    return sum(w in top for w in valid) / len(valid) if valid else None


def diversity_metrics(texts: Sequence[str], train_counts: Mapping[str, int], *, n_valid: int = VALID_WORDS,
                      k: int = TOP_K) -> dict:
    """Every metric of the module docstring for one sample set, as a row stores it under metrics.diversity. Keys name
    their parameters (types_per_<n_valid>_valid, top<k>_share) so rows made with other settings never share a column."""
    if len(texts) == 0:
        raise ValueError("diversity_metrics: no texts given")
    all_words = [w for t in texts for w in words(t)]
    valid = valid_words(texts, train_counts)
    metrics = {f"distinct_{n}": distinct_n(texts, n) for n in range(1, MAX_N + 1)}
    metrics.update({
        "self_bleu": set_self_bleu(texts),
        f"types_per_{n_valid}_valid": types_per_valid_words(texts, train_counts, n_valid),
        "valid_word_fraction": len(valid) / len(all_words) if all_words else 0.0,
        f"top{k}_share": top_k_share(texts, train_counts, k),
        "words": len(all_words), "valid_words": len(valid)})
    return metrics
