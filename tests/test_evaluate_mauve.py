"""MAUVE on MiniLM features and on the GenPPL evaluator's: a set against itself ~ 1, against character-shuffled text,
a far cluster or frequent-word soup << 1."""
import os
import random

import numpy as np
import pytest
import torch

os.environ["HF_HUB_OFFLINE"] = "1"

from core.data import load_lm_text  # noqa: E402
from core.evaluate.diversity import top_words, word_counts  # noqa: E402
from core.evaluate.mauve_score import (evaluator_features, frontier_area, mauve_from_features, mauve_score,  # noqa: E402
                                       minilm_features)
from core.evaluate.reference_ar import ar_config, build_ar_model  # noqa: E402
from core.evaluate.unconditional import load_evaluator  # noqa: E402
from core.paths import CHECKPOINTS_DIR  # noqa: E402
from core.tokenizers import load_tokenizer  # noqa: E402

SUBJECTS = ["the old man", "a young girl", "my neighbour", "the teacher", "our dog", "the little bird"]
VERBS = ["walked to", "looked at", "talked about", "painted", "dreamed of", "ran past", "cleaned"]
OBJECTS = ["the river", "a quiet garden", "the busy market", "an empty house", "the tall mountain", "a small boat"]
TAILS = ["in the morning", "after the rain", "with a smile", "before dinner", "on sunday", "without a word"]


def grammar_sentences(seed, n=60):
    rng = random.Random(seed)
    return [f"{rng.choice(SUBJECTS)} {rng.choice(VERBS)} {rng.choice(OBJECTS)} {rng.choice(TAILS)} ."
            for _ in range(n)]


def test_minilm_features_are_unit_norm_sentence_embeddings():
    torch.set_num_threads(1)
    features = minilm_features(["the cat sat on the mat", "a dog ran", "the cat sat on the mat"], batch_size=2)
    assert features.shape == (3, 384)
    np.testing.assert_allclose(np.linalg.norm(features, axis=1), 1.0, atol=1e-5)
    # padding in a batch of two must not change the embedding of the same sentence
    np.testing.assert_allclose(features[0], features[2], atol=1e-5)


def test_mauve_self_is_one_and_shuffled_tokens_score_far_lower():
    torch.set_num_threads(1)
    texts = grammar_sentences(0)
    assert mauve_score(texts, texts) == pytest.approx(1.0, abs=1e-6)
    rng = random.Random(1)
    # shuffle the character tokens (the project's char tokenizer) of held-out sentences from the same grammar
    shuffled = ["".join(rng.sample(s, len(s))) for s in grammar_sentences(1)]
    assert mauve_score(texts, shuffled) < 0.1


def test_mauve_on_features_identical_sets_score_one_and_disjoint_clusters_zero():
    rng = np.random.default_rng(0)
    p = rng.normal(size=(48, 16)).astype(np.float32)
    assert mauve_from_features(p, p) == pytest.approx(1.0, abs=1e-6)
    far = p + np.float32(20.0) * np.eye(16, dtype=np.float32)[0]     # the same cloud, moved far along one axis
    assert mauve_from_features(far, p) < 0.02
    # mauve's own curve for identical histograms: its ties at x = 1 must not decide the score
    tied = np.array([[1.0, 0.0]] + [[1.0, 1.0]] * 25 + [[0.0, 1.0]])
    assert frontier_area(tied) == pytest.approx(1.0)


def test_evaluator_features_mean_pool_each_texts_tokens_and_one_eos():
    torch.manual_seed(0)
    tokenizer = load_tokenizer("char")
    model = build_ar_model(ar_config("tiny", tokenizer.vocab_size, 64, eos_id=tokenizer.eos_id))
    texts = ["To be", "or not to be, that is the question"]
    batched = evaluator_features(texts, model, tokenizer, max_length=64, batch_size=2)
    alone = np.concatenate([evaluator_features([t], model, tokenizer, max_length=64) for t in texts])
    assert batched.shape == (2, 32)
    np.testing.assert_allclose(batched, alone, atol=1e-5)            # padding is not pooled
    ids = torch.tensor([tokenizer.encode(texts[0]) + [tokenizer.eos_id]])
    hidden = model(input_ids=ids, output_hidden_states=True).hidden_states[-1][0]
    np.testing.assert_allclose(batched[0], hidden.mean(0).detach().numpy(), atol=1e-5)


def test_evaluator_features_tell_real_text_from_a_frequent_word_sampler():
    """On the embedded evaluator's features two held-out sets (test, valid) score high, and a stand-in for a
    collapsed sampler (runs of the 50 most frequent training words) scores near 0."""
    torch.set_num_threads(1)
    model, tokenizer, _ = load_evaluator(CHECKPOINTS_DIR / "ar-shakespeare-small")
    test, valid = ([text[i * 128:(i + 1) * 128] for i in range(32)]
                   for text in (load_lm_text("shakespeare", s) for s in ("test", "valid")))
    top = sorted(top_words(word_counts(load_lm_text("shakespeare", "train"))))
    rng = random.Random(0)
    frequent = [" ".join(rng.choice(top) for _ in range(28)) for _ in range(32)]

    def features(texts):
        return evaluator_features(texts, model, tokenizer, max_length=model.config.n_positions)
    reference = features(test)
    assert mauve_from_features(features(valid), reference) > 0.5
    assert mauve_from_features(features(frequent), reference) < 0.1
