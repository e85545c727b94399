"""Sequence length against the data: `data.seq_len=auto`, and the warning when a length cuts too many examples.

An example is a document of a .jsonl corpus ([BOS] document [EOS]) or a seq2seq pair ([CLS] src [SEP] trg [SEP]),
counted under the tokenizer the command uses (core.data_stats). A running text (.txt) and a `datasets` corpus have no
examples to measure.
"""
from __future__ import annotations

import sys
from pathlib import Path

from omegaconf import DictConfig

from core.data_stats import COVERED, covering_seq_len, lm_lengths, seq2seq_lengths, truncated_fraction
from core.errors import ConfigError

WARN_ABOVE = 0.01   # warn when more than 1% of the examples do not fit


def split_lengths(cfg: DictConfig, split: str) -> tuple[list[int], str] | str:
    """(lengths of the examples of `split` with their special tokens, "pairs" | "documents"), or why there are
    none to measure."""
    from core.data import load_lm_text, load_seq2seq, seq2seq_pairs
    from core.tokenizers import load_tokenizer
    from experiments.methods import is_seq2seq
    from core.hf_datasets import HF_CORPORA, is_saved_dataset
    from experiments.setup import corpus_tokenizer_name

    if is_seq2seq(cfg):
        from experiments.seq2seq import task_source

        pairs = seq2seq_pairs(load_seq2seq(task_source(cfg), split))
        return seq2seq_lengths(pairs, load_tokenizer("bert"))[2], "pairs"
    if (cfg.corpus in HF_CORPORA and not cfg.data.path) or (cfg.data.path and is_saved_dataset(Path(cfg.data.path))):
        return f"{cfg.data.path or 'corpus=' + cfg.corpus} is streamed through `datasets` into blocks"
    text = load_lm_text(cfg.data.path or cfg.corpus, split)
    if isinstance(text, str):
        return f"{cfg.data.path or 'corpus=' + cfg.corpus} is one running text, cut into blocks"
    return lm_lengths(text, load_tokenizer(corpus_tokenizer_name(cfg.corpus)))[0], "documents"


def data_where(cfg: DictConfig) -> str:
    from experiments.data_identity import data_name

    return cfg.data.path or data_name(cfg)


def resolve_auto_seq_len(cfg: DictConfig) -> int:
    """Set data.seq_len to the length that covers 99% of the training examples, rounded up to a multiple of 8."""
    from core.launch import launched_rank

    found = split_lengths(cfg, "train")
    if isinstance(found, str):
        raise ConfigError(f"data.seq_len=auto measures the training examples (documents of a .jsonl corpus, or "
                          f"seq2seq pairs), but {found}: give data.seq_len=<tokens>")
    lengths, what = found
    cfg.data.seq_len = covering_seq_len(lengths)
    if launched_rank() == 0:
        kept = 1 - truncated_fraction(lengths, cfg.data.seq_len)
        print(f"data.seq_len=auto: {cfg.data.seq_len} tokens hold {kept:.1%} of the {len(lengths)} train {what} of "
              f"{data_where(cfg)} whole")
    return cfg.data.seq_len


def warn_truncation(cfg: DictConfig, split: str, seq_len: int, *, teacher: bool = False) -> float | None:
    """One line on stderr when seq_len cuts more than 1% of the examples of `split` of the user's data (data.path;
    the embedded corpora and tasks have their lengths set on purpose). teacher: the length is the loaded teacher's,
    not data.seq_len. Returns the fraction cut, None when there are no examples to measure."""
    from core.launch import launched_rank

    if not cfg.data.path:
        return None
    found = split_lengths(cfg, split)
    if isinstance(found, str):
        return None
    lengths, what = found
    cut = truncated_fraction(lengths, seq_len)
    if cut > WARN_ABOVE and launched_rank() == 0:
        who = f"the teacher's seq_len={seq_len}" if teacher else f"data.seq_len={seq_len}"
        fix = "a teacher pretrained with data.seq_len=auto" if teacher else "data.seq_len=auto"
        print(f"warning: {who} truncates {cut:.1%} of the {split} {what} of {data_where(cfg)}; {fix} covers "
              f"{COVERED:.0%}", file=sys.stderr)
    return cut
