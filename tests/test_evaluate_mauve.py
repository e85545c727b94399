"""MAUVE on MiniLM features: a set against itself ~ 1, against character-shuffled text << 1."""
import os
import random

import numpy as np
import pytest
import torch

os.environ["HF_HUB_OFFLINE"] = "1"

from core.evaluate.mauve_score import mauve_score, minilm_features  # noqa: E402

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
