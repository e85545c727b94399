"""The distribution metrics of an unconditional row, as the config asks for them: diversity of the sample set
(core.evaluate.diversity) and MAUVE against held-out text (core.evaluate.mauve_score).

    eval.diversity: true           metrics.diversity: distinct-1..4, self-BLEU, word types per
                                   `eval.diversity_valid_words` valid words, valid-word fraction, top-50 share; the
                                   valid words are those of the corpus's training split (`train_word_counts`)
    eval.mauve: auto|true|false    MAUVE against as many held-out texts as the row has samples; auto: on where the
                                   features are the evaluator's (the model is loaded already, and on the char corpus
                                   MiniLM scores <= 0.04 for every row), off where they would be MiniLM's
    eval.mauve_features: auto|evaluator|minilm    auto: the evaluator's for character-level corpora, else MiniLM's.
                                   MAUVE on the evaluator's features is metrics.mauve_ar, on MiniLM's metrics.mauve:
                                   numbers of two feature spaces never share a column.

The held-out set is `experiments.setup.held_out_texts` of the test split (the row's seed). A real_text row is that set
itself, so it is compared with the valid split instead: its MAUVE is that of two held-out sets, not 1 by design. A
row with more samples than the split has blocks (Shakespeare: 442 of 128 tokens) gets MAUVE None, said on
stdout, rather than losing its samples.
"""
from __future__ import annotations

from collections import Counter
from functools import lru_cache

from core.errors import DataError
from core.evaluate.diversity import diversity_metrics, word_counts
from core.evaluate.mauve_score import evaluator_features, mauve_from_features, mauve_score
from experiments.setup import corpus_tokenizer_name, held_out_texts

VOCABULARY_CHARS = 50_000_000   # enough text for a vocabulary; a `datasets` corpus is read only this far


def mauve_features(cfg) -> str:
    """eval.mauve_features with auto resolved: "evaluator" for a character-level corpus, else "minilm"."""
    if cfg.eval.mauve_features != "auto":
        return cfg.eval.mauve_features
    return "evaluator" if corpus_tokenizer_name(cfg.corpus) == "char" else "minilm"


def mauve_wanted(cfg) -> bool:
    """eval.mauve with auto resolved (module docstring)."""
    if cfg.eval.mauve == "auto":
        return mauve_features(cfg) == "evaluator"
    return bool(cfg.eval.mauve)


def mauve_key(cfg) -> str:
    return "mauve_ar" if mauve_features(cfg) == "evaluator" else "mauve"


def wanted_metrics(cfg) -> list[str]:
    """The metrics.* keys of the distribution metrics `cfg` asks for (a reused row must have them)."""
    return (["diversity"] if cfg.eval.diversity else []) + ([mauve_key(cfg)] if mauve_wanted(cfg) else [])


@lru_cache(maxsize=4)
def train_word_counts(source: str) -> Counter:
    """Word counts of the training split of `source` (cfg.data.path or cfg.corpus): all of an embedded corpus, the
    first VOCABULARY_CHARS characters of a larger one."""
    from core.token_cache import lm_text_batches

    counts, seen = Counter(), 0
    for batch in lm_text_batches(source, "train"):
        counts.update(word_counts(batch))
        seen += sum(len(doc) for doc in batch)
        if seen >= VOCABULARY_CHARS:
            break
    return counts


def without_special_tokens(texts: list[str], tokenizer) -> list[str]:
    """The texts with the markers a decoded sample carries for the tokenizer's special ids ("<eos>", "[SEP]", ...)
    replaced by a space: they are not words of the text ("<eos>" would count as the invalid word "eos")."""
    ids = {getattr(tokenizer, f"{role}_id", None) for role in ("bos", "eos", "pad", "cls", "sep", "mask")} - {None}
    markers = sorted({tokenizer.decode([i]) for i in ids} - {""}, key=len, reverse=True)
    out = []
    for text in texts:
        for marker in markers:
            text = text.replace(marker, " ")
        out.append(text)
    return out


def distribution_metrics(texts: list[str], cfg, device, evaluator, tokenizer, *, seq_len: int,
                         reference_split: str = "test") -> dict:
    """The metrics.* entries `cfg` asks for (wanted_metrics). evaluator: (model, tokenizer, name) of the GenPPL
    evaluator; tokenizer: the samples' own, which cuts the held-out blocks of `seq_len` tokens."""

    metrics = {}
    if cfg.eval.diversity:
        try:
            vocabulary = train_word_counts(str(cfg.data.path or cfg.corpus))
        except DataError as error:   # a `datasets` corpus not on this machine: the row is kept, without them
            print(f"no diversity metrics for this row: {error}")
            vocabulary = None
        metrics["diversity"] = None if vocabulary is None else diversity_metrics(
            without_special_tokens(texts, tokenizer), vocabulary, n_valid=cfg.eval.diversity_valid_words)
    if mauve_wanted(cfg):
        try:
            reference, _ = held_out_texts(cfg, tokenizer, len(texts), seq_len=seq_len, split=reference_split)
        except DataError as error:   # more samples than the split has blocks: the row is kept, without MAUVE
            print(f"no MAUVE for this row: {error}")
            return {**metrics, mauve_key(cfg): None}
        if mauve_features(cfg) == "minilm":
            metrics["mauve"] = mauve_score(texts, reference, device=device, batch_size=cfg.sampling.batch_size)
        else:
            model, eval_tokenizer, _ = evaluator
            p, q = (evaluator_features(t, model, eval_tokenizer, max_length=model.config.n_positions,
                                       batch_size=cfg.sampling.batch_size, device=device) for t in (texts, reference))
            metrics["mauve_ar"] = mauve_from_features(p, q)
    return metrics
