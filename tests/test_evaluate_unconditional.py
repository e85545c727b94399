"""GenPPL and entropy on toy problems with hand-computed answers."""
import math
import os
from types import SimpleNamespace

import pytest
import torch
from torch import nn

os.environ["HF_HUB_OFFLINE"] = "1"

from core.evaluate.unconditional import (generative_perplexity, genppl_interval, load_evaluator,  # noqa: E402
                                         unigram_entropy)

VOCAB = 5          # ids 0..3 are letters a..d, id 4 is EOS
EOS = 4


class LetterTokenizer:
    """'a'..'d' -> 0..3, '#' -> EOS (so a text can contain an EOS)."""
    eos_id = EOS

    def encode(self, text):
        return [EOS if c == "#" else ord(c) - ord("a") for c in text]


class ZeroLogitsLM(nn.Module):
    """Uniform LM: every next-token distribution is uniform over VOCAB."""

    def __init__(self):
        super().__init__()
        self.dummy = nn.Parameter(torch.zeros(()))

    def forward(self, input_ids, attention_mask):
        return SimpleNamespace(logits=torch.zeros(*input_ids.shape, VOCAB, dtype=self.dummy.dtype))


class BigramLM(nn.Module):
    """p(x_t+1 | x_<=t) = softmax(table[x_t]); ignores the mask, which right padding never needs."""

    def __init__(self):
        super().__init__()
        self.table = nn.Parameter(torch.arange(VOCAB * VOCAB, dtype=torch.float32).reshape(VOCAB, VOCAB).sin() * 2)

    def forward(self, input_ids, attention_mask):
        return SimpleNamespace(logits=self.table[input_ids])


def hand_log_prob(model, prev, nxt):
    row = model.table[prev].tolist()
    return row[nxt] - math.log(sum(math.exp(v) for v in row))


def test_unigram_entropy_known_lists():
    assert unigram_entropy([[1, 1, 2, 2]]) == pytest.approx(math.log(2), abs=1e-12)
    # (log 4 + 0) / 2: entropy is per sample, then averaged
    assert unigram_entropy(torch.tensor([[1, 2, 3, 4], [5, 5, 5, 5]])) == pytest.approx(math.log(4) / 2, abs=1e-12)
    # 3 a's, 1 b: -(3/4 log 3/4 + 1/4 log 1/4)
    expected = -(0.75 * math.log(0.75) + 0.25 * math.log(0.25))
    assert unigram_entropy([[7, 7, 7, 9, 0, 0]], ignore_ids=[0]) == pytest.approx(expected, abs=1e-12)


def test_unigram_entropy_rejects_bad_shape():
    with pytest.raises(ValueError, match=r"\(B, L\)"):
        unigram_entropy(torch.zeros(3, dtype=torch.long))


def test_genppl_of_uniform_lm_is_vocab_size_in_float64():
    texts = ["abcd", "a", "ddcba", "bb"]
    model = ZeroLogitsLM()
    result = generative_perplexity(texts, model, LetterTokenizer(), batch_size=3, max_length=1024, float64=True)
    assert result["gen_ppl"] == pytest.approx(VOCAB, abs=1e-6)
    # each text predicts len(text) letters... minus the unscored first token, plus its appended EOS
    assert result["n_tokens"] == sum(len(t) for t in texts)
    assert model.dummy.dtype == torch.float32   # float64 is only for the forward


def test_nll_counts_first_eos_ignores_padding_and_later_eos():
    model = BigramLM()
    texts = ["abc", "d#b", "a"]
    # "abc"+EOS: a->b, b->c, c->EOS.  "d#b"+EOS: d->EOS (first EOS counts), EOS->b (b is not EOS: counts),
    # b->EOS is the second EOS: ignored.  "a"+EOS: a->EOS.
    pairs = [(0, 1), (1, 2), (2, EOS), (3, EOS), (EOS, 1), (0, EOS)]
    nll = -sum(hand_log_prob(model, p, n) for p, n in pairs) / len(pairs)
    for batch_size in (1, 2, 3):   # padding differs with the batch size; the answer must not
        result = generative_perplexity(texts, model, LetterTokenizer(), batch_size=batch_size, float64=True)
        assert result["n_tokens"] == len(pairs)
        assert result["nll"] == pytest.approx(nll, abs=1e-9)
        assert result["gen_ppl"] == pytest.approx(math.exp(nll), rel=1e-9)
        assert result["text_tokens"] == [3, 2, 1]     # per text, in input order whatever the batching
        per_text = [-sum(hand_log_prob(model, p, n) for p, n in pairs[a:b]) for a, b in ((0, 3), (3, 5), (5, 6))]
        assert result["text_nll"] == pytest.approx(per_text, abs=1e-9)


def test_long_texts_are_split_into_independent_windows():
    model = BigramLM()
    # "abcda"+EOS = 6 tokens, max_length 4 -> windows [a b c d] [a EOS]; each window's first token is context only
    pairs = [(0, 1), (1, 2), (2, 3), (0, EOS)]
    nll = -sum(hand_log_prob(model, p, n) for p, n in pairs) / len(pairs)
    result = generative_perplexity(["abcda"], model, LetterTokenizer(), max_length=4, float64=True)
    assert result["n_tokens"] == 4
    assert result["nll"] == pytest.approx(nll, abs=1e-9)


def test_genppl_needs_an_eos_id():
    class NoEos:
        def encode(self, text):
            return [0]

    with pytest.raises(ValueError, match="eos_id"):
        generative_perplexity(["a"], ZeroLogitsLM(), NoEos())


def test_load_evaluator_clear_error_when_nothing_is_available(tmp_path):
    with pytest.raises(FileNotFoundError, match="experiments.pretrain teacher=ar"):
        load_evaluator("no-such-evaluator-xyz", "cpu", fallback_path=tmp_path / "missing")


def test_genppl_interval_exact_on_two_texts():
    """Two one-token texts with NLL 1 and 3: a resample's mean NLL is 1, 2 or 3 with probability 1/4, 1/2, 1/4, so
    the 95% percentile interval is [e^1, e^3]; the 40% interval holds only the middle value e^2."""
    assert genppl_interval([1.0, 3.0], [1, 1]) == pytest.approx((math.e, math.e ** 3))
    assert genppl_interval([1.0, 3.0], [1, 1], level=0.4) == pytest.approx((math.e ** 2, math.e ** 2))
    assert genppl_interval([2.0, 4.0, 6.0], [1, 2, 3]) == pytest.approx((math.e ** 2, math.e ** 2))  # equal per-token NLL
    with pytest.raises(ValueError, match="2 NLL sums and 1 token counts"):
        genppl_interval([1.0, 3.0], [1])
    with pytest.raises(ValueError, match="level"):
        genppl_interval([1.0], [1], level=1.0)
