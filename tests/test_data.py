"""Data: embedded corpora and splits, MDLM block layout, DiffuSeq layout, and one clear error per bad input."""
import gzip

import pytest
import torch

from core.data import (SEQ2SEQ_TASKS, diffuseq_batch, diffuseq_encode, lm_blocks, load_lm_text, load_seq2seq,
                       normalize_for_split, read_seq2seq_jsonl, seq2seq_pairs, split_pairs_by_group)
from core.errors import ConfigError, DataError
from core.tokenizers import CharTokenizer, load_tokenizer

# (pairs, distinct sources) per task and split, as documented in data/PROVENANCE.md.
SEQ2SEQ_COUNTS = {
    "qqp": {"train": (3657, 3482), "valid": (447, 432), "test": (444, 427)},
    "qg": {"train": (9727, 9551), "valid": (1202, 1177), "test": (1119, 1112)},
    "ts": {"train": (12800, 1600), "valid": (1592, 199), "test": (1608, 201)},
}


# ------------------------------------------------------------------------------------------------ LM corpora

def test_shakespeare_is_contiguous_90_5_5():
    parts = [load_lm_text("shakespeare", s) for s in ("train", "valid", "test")]
    full = "".join(parts)
    assert len(full) == 1115394 and full.startswith("First Citizen:\nBefore we proceed")
    assert [len(p) for p in parts] == [1003854, 1059624 - 1003854, 1115394 - 1059624]
    assert len(set(full)) == 65


def test_english_documents_split_disjoint():
    splits = {s: load_lm_text("english", s) for s in ("train", "valid", "test")}
    assert {s: len(d) for s, d in splits.items()} == {"train": 3213, "valid": 84, "test": 76}
    train = set(splits["train"])
    assert not train & set(splits["valid"]) and not train & set(splits["test"])
    assert not set(splits["valid"]) & set(splits["test"])
    assert any(d.startswith("= Chad at the 2008 Summer Olympics =") for d in splits["valid"])
    assert not any("@-@" in d for d in splits["train"])  # WikiText tokenisation undone


def test_local_corpus_folder(tmp_path):
    (tmp_path / "train.txt").write_text("hello world\n")
    with gzip.open(tmp_path / "valid.jsonl.gz", "wt") as f:
        f.write('{"text": "doc one"}\n\n{"text": "doc two"}\n')
    (tmp_path / "test.txt").write_text("  \n")
    assert load_lm_text(str(tmp_path), "train") == "hello world\n"
    assert load_lm_text(str(tmp_path), "valid") == ["doc one", "doc two"]
    with pytest.raises(DataError, match=r"test\.txt: the corpus file is empty"):
        load_lm_text(str(tmp_path), "test")
    with pytest.raises(DataError, match=r"nowhere: folder not found"):
        load_lm_text(str(tmp_path / "nowhere"), "train")


def test_unknown_corpus_and_split():
    with pytest.raises(ConfigError, match="unknown corpus 'shakespear'.*shakespeare, english, openwebtext"):
        load_lm_text("shakespear", "train")
    with pytest.raises(ConfigError, match="unknown split 'validation'; valid splits: train, valid, test"):
        load_lm_text("english", "validation")


def test_unreachable_hub_dataset_says_how_to_provide_it(monkeypatch):
    import datasets
    import huggingface_hub.constants

    monkeypatch.setattr(datasets.config, "HF_HUB_OFFLINE", True)  # fail at once instead of retrying the network
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    with pytest.raises(DataError, match=r"dataset 'wikitext2' \(wikitext/wikitext-2-raw-v1.*data\.path="):
        load_lm_text("wikitext2", "valid")


# ------------------------------------------------------------------------------------------------ lm_blocks

@pytest.fixture
def abcd():
    return CharTokenizer.from_text("abcd")  # a=0 b=1 c=2 d=3, <eos>=4 is also BOS


def test_lm_blocks_wrap_follows_mdlm_group_texts(abcd):
    # stream "abc" EOS "d" EOS = [0,1,2,4,3,4]; chunks of seq_len - 2 = 3, each wrapped in BOS ... EOS.
    ids, mask = lm_blocks(["abc", "d"], abcd, seq_len=5, return_mask=True)
    assert ids.tolist() == [[4, 0, 1, 2, 4], [4, 4, 3, 4, 4]]
    assert ids.dtype == torch.long and mask.tolist() == [[1] * 5] * 2
    # the remainder is dropped: 7 stream tokens -> 2 chunks of 3
    assert lm_blocks(["abc", "dd"], abcd, seq_len=5).tolist() == [[4, 0, 1, 2, 4], [4, 4, 3, 3, 4]]
    assert lm_blocks([[0, 1], [2]], abcd, seq_len=4).tolist() == [[4, 0, 1, 4], [4, 4, 2, 4]]


def test_lm_blocks_unwrapped_pads_each_document(abcd):
    ids, mask = lm_blocks(["abcd", "d"], abcd, seq_len=4, wrap=False, return_mask=True)
    assert ids.tolist() == [[4, 0, 1, 4], [4, 3, 4, 4]]  # truncated to seq_len - 2; padded with EOS
    assert mask.tolist() == [[1, 1, 1, 1], [1, 1, 1, 0]]
    assert lm_blocks(["d"], abcd, seq_len=5, wrap=False, pad_id=9).tolist() == [[4, 3, 4, 9, 9]]


def test_lm_blocks_gpt2_on_english():
    gpt2 = load_tokenizer("gpt2")
    blocks = lm_blocks(load_lm_text("english", "test")[:5], gpt2, seq_len=128)
    assert blocks.shape[1] == 128 and blocks.shape[0] > 10
    assert (blocks[:, 0] == 50256).all() and (blocks[:, -1] == 50256).all()


def test_lm_blocks_bad_seq_len(abcd):
    with pytest.raises(DataError, match="seq_len=2 is too small"):
        lm_blocks(["abc"], abcd, seq_len=2)
    with pytest.raises(DataError, match="fewer than one block of seq_len - 2 = 8"):
        lm_blocks(["abc"], abcd, seq_len=10)


# ------------------------------------------------------------------------------------------------ seq2seq files

def test_read_seq2seq_jsonl_errors_name_file_and_line(tmp_path):
    path = tmp_path / "file.jsonl"
    path.write_text('{"src": "a", "trg": "b"}\n\n{"src": "a", "trg": \n')
    with pytest.raises(DataError, match=r"file\.jsonl:3: malformed JSON"):
        read_seq2seq_jsonl(path)
    path.write_text('{"src": "a", "trg": "b"}\n{"src": "c"}\n')
    with pytest.raises(DataError, match=r"file\.jsonl:2: missing key 'trg'"):
        read_seq2seq_jsonl(path)
    path.write_text('{"src": 3, "trg": "b"}\n')
    with pytest.raises(DataError, match=r"file\.jsonl:1: 'src' must be a string, got int"):
        read_seq2seq_jsonl(path)
    path.write_text('["src", "trg"]\n')
    with pytest.raises(DataError, match=r"file\.jsonl:1: expected a JSON object, got list"):
        read_seq2seq_jsonl(path)
    path.write_text("\n\n")
    with pytest.raises(DataError, match=r"file\.jsonl: no records"):
        read_seq2seq_jsonl(path)
    with pytest.raises(DataError, match=r"missing\.jsonl: file not found"):
        read_seq2seq_jsonl(tmp_path / "missing.jsonl")


def test_load_seq2seq_from_folder_groups_refs(tmp_path):
    (tmp_path / "train.jsonl").write_text(
        '{"src": " x ", "trg": "y1"}\n{"src": "z", "trg": "w"}\n{"src": "x", "trg": "y2"}\n')
    examples = load_seq2seq(str(tmp_path), "train")
    assert [(e.src, e.refs) for e in examples] == [("x", ["y1", "y2"]), ("z", ["w"])]
    assert seq2seq_pairs(examples) == [("x", "y1"), ("x", "y2"), ("z", "w")]
    with pytest.raises(DataError, match=r"no valid file \(looked for valid\.jsonl, valid\.jsonl\.gz\)"):
        load_seq2seq(str(tmp_path), "valid")
    with pytest.raises(DataError, match=r"absent: folder not found"):
        load_seq2seq(str(tmp_path / "absent"), "train")


@pytest.mark.parametrize("task", SEQ2SEQ_TASKS)
def test_embedded_splits_counts_and_disjoint_by_source_and_target(task):
    splits = {s: load_seq2seq(task, s) for s in ("train", "valid", "test")}
    for split, examples in splits.items():
        assert (len(seq2seq_pairs(examples)), len(examples)) == SEQ2SEQ_COUNTS[task][split]
    strings = {s: {normalize_for_split(x) for e in ex for x in (e.src, *e.refs)} for s, ex in splits.items()}
    assert not strings["train"] & strings["valid"]
    assert not strings["train"] & strings["test"]
    assert not strings["valid"] & strings["test"]
    if task == "ts":  # every Turk source keeps its 8 references, in every split
        assert all(len(e.refs) == 8 for ex in splits.values() for e in ex)


def test_split_pairs_by_group_keeps_connected_pairs_together():
    pairs = [{"src": "A", "trg": "b"}, {"src": "c", "trg": "B"}, {"src": "c", "trg": "d"},  # A-b, b==B via case
             {"src": "e", "trg": "f"}, {"src": "g", "trg": "h"}, {"src": "f", "trg": "e"}]
    out = split_pairs_by_group(pairs, fractions=(1 / 3, 1 / 3, 1 / 3))
    assert sorted(len(v) for v in out.values()) == [1, 2, 3]  # groups {A,b,c,d}, {e,f}, {g,h}
    by_size = {len(v): v for v in out.values()}
    assert by_size[3] == pairs[:3] and by_size[2] == [pairs[3], pairs[5]] and by_size[1] == [pairs[4]]
    assert split_pairs_by_group(pairs, fractions=(1 / 3, 1 / 3, 1 / 3)) == out  # deterministic


def test_split_pairs_by_source_alone_lets_a_common_target_join_nothing():
    pairs = [{"src": f"question {i}", "trg": "thank you."} for i in range(30)] + [{"src": "question 0", "trg": "ok"}]
    out = split_pairs_by_group(pairs, keys=("src",))
    [home] = [s for s in out if any(p["src"] == "question 0" for p in out[s])]   # its two pairs stay together
    groups = {"train": 24, "valid": 3, "test": 3}                                 # 30 sources: 80 / 10 / 10
    assert {s: len(v) for s, v in out.items()} == {s: n + (s == home) for s, n in groups.items()}
    assert [len(v) for v in split_pairs_by_group(pairs).values()].count(31) == 1   # by sentence: one group


# ------------------------------------------------------------------------------------------------ DiffuSeq layout

def test_diffuseq_encode_layout_and_mask():
    ids, mask = diffuseq_encode([11, 12, 13], [21, 22], seq_len=10, cls_id=101, sep_id=102, pad_id=0)
    assert ids == [101, 11, 12, 13, 102, 21, 22, 102, 0, 0]
    assert mask == [0, 0, 0, 0, 0, 1, 1, 1, 1, 1]


def test_diffuseq_encode_trims_longer_side_first():
    ids, mask = diffuseq_encode([11, 12, 13, 14, 15, 16], [21, 22], seq_len=8, cls_id=101, sep_id=102, pad_id=0)
    assert ids == [101, 11, 12, 13, 102, 21, 22, 102] and mask == [0] * 5 + [1] * 3
    ids, _ = diffuseq_encode([11, 12, 13, 14], [21, 22, 23], seq_len=7, cls_id=101, sep_id=102, pad_id=0)
    assert ids == [101, 11, 12, 102, 21, 22, 102]  # 4+3 -> 3+3 -> equal lengths: both sides drop one
    ids, mask = diffuseq_encode([11], [21, 22, 23, 24, 25], seq_len=6, cls_id=1, sep_id=2, pad_id=0)
    assert ids == [1, 11, 2, 21, 22, 2] and mask == [0, 0, 0, 1, 1, 1]
    with pytest.raises(DataError, match="seq_len=4 is too small"):
        diffuseq_encode([11], [21], seq_len=4, cls_id=1, sep_id=2, pad_id=0)


def test_diffuseq_batch_with_bert():
    bert = load_tokenizer("bert")
    batch = diffuseq_batch([("hello world", "hello"), {"src": "world", "trg": "hello world"}], bert, seq_len=8)
    assert batch["input_ids"].tolist() == [[101, 7592, 2088, 102, 7592, 102, 0, 0],
                                           [101, 2088, 102, 7592, 2088, 102, 0, 0]]
    assert batch["input_mask"].tolist() == [[0, 0, 0, 0, 1, 1, 1, 1], [0, 0, 0, 1, 1, 1, 1, 1]]
    with pytest.raises(ConfigError, match="lacks \\[CLS\\]/\\[SEP\\]/\\[PAD\\]"):
        diffuseq_batch([("a", "b")], load_tokenizer("gpt2"), seq_len=8)
