"""Distribution metrics of a sample set (core.evaluate.diversity): exact values on hand-made sets, a collapsed sampler
flagged, held-out Shakespeare more diverse than a frequent-word sampler."""
import random
from collections import Counter

import pytest

from core.data import load_lm_text
from core.evaluate.diversity import (diversity_metrics, distinct_n, set_self_bleu, top_k_share, top_words,
                                     types_per_valid_words, valid_words, word_counts, words)


@pytest.fixture(scope="module")
def train_counts():
    return word_counts(load_lm_text("shakespeare", "train"))


@pytest.fixture(scope="module")
def held_out():
    """64 consecutive 128-character blocks of the test split: real text, the yardstick."""
    text = load_lm_text("shakespeare", "test")
    return [text[i * 128:(i + 1) * 128] for i in range(64)]


def test_words_are_lowercase_letters_joined_by_inner_apostrophes():
    assert words("O'er the HILL, 'tis know't -- 3 times_two\nYES!") == ["o'er", "the", "hill", "tis", "know't",
                                                                       "times", "two", "yes"]
    assert word_counts(["a b", "b'c b"]) == Counter({"b": 2, "a": 1, "b'c": 1})


def test_distinct_n_pools_the_set_and_never_crosses_samples():
    texts = ["a b a", "b, c."]
    assert distinct_n(texts, 1) == pytest.approx(3 / 5)      # a b a b c
    assert distinct_n(texts, 2) == 1.0                        # (a b) (b a) (b c): no (a b) across the two samples
    assert distinct_n(texts, 3) == 1.0 and distinct_n(texts, 4) == 0.0
    assert distinct_n(["a b", "A b"], 2) == 0.5               # the same bigram twice


def test_types_per_valid_words_counts_the_first_n_valid_words_in_order():
    vocabulary = {"a", "b", "c", "d"}
    texts = ["a x b a", "c a zz d"]                           # valid, in order: a b a c a d
    assert valid_words(texts, vocabulary) == ["a", "b", "a", "c", "a", "d"]
    assert types_per_valid_words(texts, vocabulary, 4) == 3  # a b a c
    assert types_per_valid_words(texts, vocabulary, 6) == 4
    assert types_per_valid_words(texts, vocabulary, 7) is None   # fewer valid words than asked for


def test_top_k_share_and_the_metric_dict():
    train = Counter({"the": 5, "and": 3, "king": 1, "queen": 1})
    assert top_words(train, 2) == {"the", "and"}
    texts = ["The king and zzz", "the queen"]                 # valid: the king and the queen
    assert top_k_share(texts, train, 2) == pytest.approx(3 / 5)
    metrics = diversity_metrics(texts, train, n_valid=4, k=2)
    assert metrics["types_per_4_valid"] == 3 and metrics["top2_share"] == pytest.approx(3 / 5)
    assert metrics["valid_word_fraction"] == pytest.approx(5 / 6)
    assert (metrics["words"], metrics["valid_words"]) == (6, 5)
    assert metrics["distinct_1"] == pytest.approx(5 / 6)      # "the" twice
    assert top_k_share(["zzz"], train, 2) is None


def test_self_bleu_of_identical_samples_is_one_and_of_disjoint_samples_near_zero():
    assert set_self_bleu(["the quick brown fox jumps over the dog"] * 4) == pytest.approx(1.0)
    assert set_self_bleu(["alpha beta gamma delta epsilon", "one two three four five"]) < 0.01
    assert set_self_bleu(["a lone sample"]) is None


def test_a_collapsed_sampler_is_flagged(held_out, train_counts):
    """The same sample 64 times: distinct-n is that sample's own divided by 64, self-BLEU 1, and far fewer word types
    per 600 valid words than 64 different blocks of real text."""
    collapsed = [held_out[0]] * 64
    one = diversity_metrics(held_out[:1], train_counts)
    same, varied = diversity_metrics(collapsed, train_counts), diversity_metrics(held_out, train_counts)
    for n in range(1, 5):
        assert same[f"distinct_{n}"] == pytest.approx(one[f"distinct_{n}"] / 64)
        assert same[f"distinct_{n}"] <= 1 / 64 < varied[f"distinct_{n}"]
    assert same["self_bleu"] == pytest.approx(1.0) and varied["self_bleu"] < 0.05
    assert same["types_per_600_valid"] <= len(set(words(held_out[0]))) < 30
    assert varied["types_per_600_valid"] > 200                # real text: more than one new word in three


def test_held_out_text_is_more_diverse_than_a_frequent_word_sampler(held_out, train_counts):
    """A low-temperature sampler stand-in: each sample a run of the 50 most frequent training words, punctuated like
    the corpus. Its words are all valid, so only the distribution metrics can tell it from real text."""
    top = sorted(top_words(train_counts, 50))
    rng = random.Random(0)
    frequent = []
    for _ in range(64):
        text = ""
        while len(text) < 110:                              # whole words only, about the blocks' length
            text += rng.choice(top) + rng.choice([" ", " ", ", ", ".\n"])
        frequent.append(text)
    real, cold = diversity_metrics(held_out, train_counts), diversity_metrics(frequent, train_counts)
    assert real["types_per_600_valid"] > 4 * cold["types_per_600_valid"]
    assert cold["types_per_600_valid"] <= 50 and cold["top50_share"] == 1.0
    assert 0.3 < real["top50_share"] < 0.6
    assert real["distinct_1"] > 5 * cold["distinct_1"] and real["distinct_2"] > cold["distinct_2"]
    assert real["self_bleu"] < cold["self_bleu"]
    assert real["valid_word_fraction"] < cold["valid_word_fraction"] == 1.0
