"""DiffuSeq seq2seq metrics on hand-computed cases."""
import math
import os

import pytest
import torch

os.environ["HF_HUB_OFFLINE"] = "1"

from core.evaluate.mauve_score import minilm_path  # noqa: E402
from core.evaluate.seq2seq import (bert_score_f1, corpus_sacrebleu, diffuseq_bleu, diffuseq_sentence_bleu,  # noqa: E402
                                   dist1, div4, mbr_select, rouge_l, self_bleu, seq2seq_metrics)

SENTENCE = "the cat sat on the mat today"


def test_bleu_of_identical_strings_is_one():
    assert diffuseq_sentence_bleu([SENTENCE], [SENTENCE]) == pytest.approx(1.0)
    assert corpus_sacrebleu([SENTENCE], [[SENTENCE]]) == pytest.approx(100.0)
    assert rouge_l([SENTENCE], [SENTENCE]) == pytest.approx(1.0)


def test_bleu_uses_diffuseq_argument_order():
    # generated "a b c d e f" sits in nltk's reference slot: the 4-token reference is the "hypothesis", all its
    # n-grams match, and the brevity penalty is exp(1 - 6/4).
    assert diffuseq_bleu("a b c d e f", "a b c d") == pytest.approx(math.exp(1 - 6 / 4))
    assert diffuseq_sentence_bleu(["a b c d e f"], [["a b c d"]]) == pytest.approx(math.exp(1 - 6 / 4))


def test_multi_reference_bleu_uses_the_best_matching_reference():
    refs = [["completely different words here now", SENTENCE]]
    assert diffuseq_sentence_bleu([SENTENCE], refs) == pytest.approx(1.0)
    assert corpus_sacrebleu([SENTENCE, "x y z w v"], [refs[0], ["x y z w v"]]) == pytest.approx(100.0)
    assert rouge_l([SENTENCE], refs) == pytest.approx(1.0)


def test_dist1_known_values():
    assert dist1(["a a b"]) == pytest.approx(2 / 3)
    assert dist1(["a a b", "c d"]) == pytest.approx((2 / 3 + 1) / 2)


def test_self_bleu_and_div4():
    # identical candidates: pairwise BLEU 1, one distinct 4-gram set of 4 repeated twice -> 4 / 8
    assert self_bleu([[SENTENCE, SENTENCE]]) == pytest.approx(1.0)
    assert div4([["a b c d e", "a b c d e"]]) == pytest.approx(2 / 4)
    # disjoint candidates: no shared n-gram -> BLEU 0, every 4-gram distinct
    assert self_bleu([["a b c d e", "f g h i j"]]) == pytest.approx(0.0)
    assert div4([["a b c d e", "f g h i j"], ["a b c"]]) == pytest.approx((1.0 + 0.0) / 2)


def test_mbr_picks_the_consensus_candidate():
    candidates = [
        "the quick brown fox jumps over dogs",
        "the quick brown fox jumps over the lazy dog",     # shares the most n-grams with the others
        "a quick brown fox jumps over the lazy dog",
        "the quick brown cat sleeps over the lazy dog",
        "completely unrelated words appear here",
    ]
    assert mbr_select(candidates) == 1


def test_length_mismatch_is_an_error():
    with pytest.raises(ValueError, match="2 hypotheses but 1 reference sets"):
        diffuseq_sentence_bleu(["a", "b"], ["a"])


def test_bertscore_with_local_minilm_identical_is_one():
    torch.set_num_threads(1)
    f1 = bert_score_f1([SENTENCE, "hello world"], [[SENTENCE], ["something else", "hello world"]],
                       model_type=str(minilm_path()), num_layers=6)
    assert f1 == pytest.approx(1.0, abs=1e-4)
    unrelated = bert_score_f1([SENTENCE], ["purple engines whistle loudly"], model_type=str(minilm_path()),
                              num_layers=6)
    assert unrelated < 0.9
    # an empty output (a model that writes [SEP] first) scores 0, as bert_score itself rules, and does not crash
    with_empty = bert_score_f1([SENTENCE, ""], [[SENTENCE], ["hello world"]], model_type=str(minilm_path()),
                               num_layers=6)
    assert with_empty == pytest.approx(0.5, abs=1e-4)


def test_seq2seq_metrics_keys():
    metrics = seq2seq_metrics(["a b c d e"], [["a b c d e"]], [["a b c d e", "f g h i j"]], with_bertscore=False)
    assert set(metrics) == {"bleu", "bleu_ci95", "sentence_bleu", "sacrebleu", "rouge_l", "dist1", "avg_len",
                            "self_bleu", "div4"}
    assert metrics["avg_len"] == 5
    assert metrics["bleu_ci95"] == pytest.approx([1.0, 1.0])     # one perfect sentence: no spread


def test_bleu_interval_is_the_bootstrap_of_sentence_scores():
    """Two sources scoring 1 and 0: resampled means are k/2, k ∈ {0, 1, 2}, with probabilities 1/4, 1/2, 1/4,
    so the 95% interval is [0, 1] and the 40% interval is [1/2, 1/2]."""
    from core.evaluate.bootstrap import mean_interval

    metrics = seq2seq_metrics(["a b c d e", "v w x y z"], ["a b c d e", "f g h i j"], with_bertscore=False)
    assert metrics["bleu"] == pytest.approx(0.5, abs=1e-6)
    assert metrics["sentence_bleu"] == pytest.approx([1.0, 0.0], abs=1e-6)   # per source, in source order
    assert metrics["bleu_ci95"] == pytest.approx([0.0, 1.0], abs=1e-6)
    assert mean_interval([1.0, 0.0], level=0.4) == pytest.approx((0.5, 0.5))
    with pytest.raises(ValueError, match="equal length"):
        mean_interval([])


def test_paired_gap_pairs_the_shared_prefix_from_start():
    """Rows decode the first n sources: the gap pairs the shorter prefix, and `start` skips its first items."""
    from core.evaluate.bootstrap import paired_gap

    gap, interval, n = paired_gap([1.0, 2.0, 3.0], [0.0, 2.0])       # differences 1 and 0
    assert (gap, n) == (0.5, 2) and interval == pytest.approx((0.0, 1.0))
    assert paired_gap([1.0, 2.0, 3.0], [0.0, 2.0, 5.0], start=1) == (-1.0, pytest.approx((-2.0, 0.0)), 2)
    assert paired_gap([1.0, 2.0], [0.0, 2.0], start=2) is None
