"""Sequence length against the data: token lengths count the layout's special tokens, data.seq_len=auto takes the
99th percentile rounded up to a multiple of 8, and a length that cuts more than 1% of the user's examples is warned
about in one line."""
import re

import pytest

from core.data import diffuseq_encode, lm_blocks
from core.data_stats import covering_seq_len, lm_lengths, percentiles, seq2seq_lengths, truncated_fraction
from core.errors import ConfigError
from core.tokenizers import load_tokenizer
from experiments.config import load_config
from tests.own_data import lm_folder, seq2seq_folder

EVALUATOR = "eval.evaluator=checkpoints/ar-shakespeare-small"   # a sampling run on own data needs one trained on it


def test_percentiles_are_lengths_some_example_has():
    lengths = list(range(1, 101))                      # 1..100
    assert percentiles(lengths) == {"p50": 50, "p90": 90, "p99": 99, "max": 100}
    assert percentiles([7]) == {"p50": 7, "p90": 7, "p99": 7, "max": 7}
    assert covering_seq_len(lengths) == 104            # 99 rounded up to a multiple of 8
    assert covering_seq_len([16] * 99 + [1000]) == 16  # one outlier in 100 does not move it
    assert covering_seq_len([17] * 100) == 24
    assert truncated_fraction([10, 20, 30, 40], 25) == 0.5 and truncated_fraction([], 8) == 0.0


def test_a_pair_is_cut_exactly_when_its_length_exceeds_seq_len():
    bert = load_tokenizer("bert")
    src, trg, total = seq2seq_lengths([("what is a item 1", "item 1 of a")], bert)
    assert (src, trg, total) == ([5], [4], [12])       # [CLS] 5 [SEP] 4 [SEP]
    ids, _ = diffuseq_encode(bert.encode("what is a item 1"), bert.encode("item 1 of a"), 12, 101, 102, 0)
    assert ids[-1] == 102 and 0 not in ids             # fits exactly: both sides whole, no padding
    ids, _ = diffuseq_encode(bert.encode("what is a item 1"), bert.encode("item 1 of a"), 11, 101, 102, 0)
    assert ids.count(102) == 2 and len([i for i in ids if i not in (101, 102)]) == 8   # one token cut
    assert truncated_fraction(total, 12) == 0.0 and truncated_fraction(total, 11) == 1.0


def test_a_document_is_cut_exactly_when_its_length_exceeds_seq_len():
    char = load_tokenizer("char")
    [n], unknown = lm_lengths(["To be."], char)
    assert n == 8 and not unknown                      # [BOS] 6 characters [EOS]
    ids, mask = lm_blocks(["To be."], char, 8, wrap=False, return_mask=True)
    assert mask.sum() == 8 and char.decode(ids[0, 1:-1].tolist()) == "To be."
    assert lm_lengths(["café"], char) == ([6], {"é"})  # still counted, and the character named


def test_auto_takes_the_99th_percentile_of_the_training_pairs(tmp_path, capsys):
    pairs = {"train": [("what is a item 1", "item 1 of a")] * 99 + [("a " * 40, "b " * 40)],
             "valid": [("x", "y")], "test": [("x", "y")]}
    seq2seq_folder(tmp_path / "d", pairs)
    cfg = load_config(["teacher=diffuseq", f"data.path={tmp_path / 'd'}", "data.seq_len=auto"], command="pretrain")
    assert cfg.data.seq_len == 16                      # 12 tokens for 99 of 100 pairs, rounded up to 16
    assert re.search(r"^data.seq_len=auto: 16 tokens hold 99.0% of the 100 train pairs of \S+/d whole$",
                     capsys.readouterr().out, re.M)


def test_auto_on_documents_and_what_it_cannot_measure(tmp_path):
    lm_folder(tmp_path / "docs", {"train": ["To be, or not to be."] * 10, "valid": ["x"], "test": ["y"]})
    cfg = load_config(["teacher=mdlm", f"data.path={tmp_path / 'docs'}", "data.seq_len=auto"], command="pretrain")
    assert cfg.data.seq_len == 24                      # 20 characters + BOS + EOS
    (tmp_path / "text").mkdir()
    for split in ("train", "valid", "test"):
        (tmp_path / "text" / f"{split}.txt").write_text("To be, or not to be.\n")
    with pytest.raises(ConfigError, match=r"^data.seq_len=auto measures the training examples \(documents of a "
                                          r".jsonl corpus, or seq2seq pairs\), but \S+/text is one running text, "
                                          r"cut into blocks: give data.seq_len=<tokens>$"):
        load_config(["teacher=mdlm", f"data.path={tmp_path / 'text'}", "data.seq_len=auto"], command="pretrain")
    with pytest.raises(ConfigError, match=r"^config key 'data.seq_len' expects int or auto, got 'abc'$"):
        load_config(["data.seq_len=abc"])


def test_a_length_that_cuts_more_than_one_percent_is_warned_about(tmp_path, capsys):
    from experiments.data_lengths import warn_truncation

    seq2seq_folder(tmp_path / "d", {"train": [("what is a item 1", "item 1 of a")] * 7 + [("a", "b")] * 3,
                                    "valid": [("x", "y")], "test": [("x", "y")]})
    cfg = load_config(["teacher=diffuseq", f"data.path={tmp_path / 'd'}", "data.seq_len=11"], command="pretrain")
    assert warn_truncation(cfg, "train", 11) == pytest.approx(0.7)
    assert re.fullmatch(r"warning: data.seq_len=11 truncates 70.0% of the train pairs of \S+/d; data.seq_len=auto "
                        r"covers 99%\n", capsys.readouterr().err)
    assert warn_truncation(cfg, "test", 11, teacher=True) == 0.0 and capsys.readouterr().err == ""
    assert warn_truncation(cfg, "train", 12) == 0.0 and capsys.readouterr().err == ""
    warn_truncation(cfg, "train", 8, teacher=True)
    assert re.fullmatch(r"warning: the teacher's seq_len=8 truncates 70.0% of the train pairs of \S+/d; a teacher "
                        r"pretrained with data.seq_len=auto covers 99%\n", capsys.readouterr().err)
    # the embedded data have their lengths set on purpose: nothing to warn about
    assert warn_truncation(load_config(["teacher=diffuseq"], command="pretrain"), "train", 8) is None
