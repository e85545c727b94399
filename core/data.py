"""Corpora, sequence layouts and seq2seq splits.

Language modelling (IDLM teachers/students):
  load_lm_text(corpus, split)         -> str (one running text) | list[str] (documents)
  lm_blocks(texts, tokenizer, seq_len) -> LongTensor [N, seq_len]   (MDLM `wrap`: BOS chunk EOS)
Seq2seq (DLM-One / DiffuSeq):
  load_seq2seq(task_or_path, split)   -> list[Seq2SeqExample(src, refs)]
  diffuseq_encode / diffuseq_batch    -> "[CLS] src [SEP] trg [SEP] [PAD]..." ids + input_mask
  split_pairs_by_group(pairs)         -> train/valid/test with no source or target shared across splits

Embedded data lives in data/ (see data/PROVENANCE.md; rebuilt by `python data/build_embedded.py`).
"""
from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import torch

from core.checkpoint import atomic_write_text
from core.errors import ConfigError, DataError
from core.hf_datasets import HF_CORPORA, hf_dataset_split, is_saved_dataset, saved_dataset_split
from core.paths import DATA_DIR

SPLITS = ("train", "valid", "test")
SHAKESPEARE_PATH = DATA_DIR / "lm" / "shakespeare" / "input.txt.gz"
SHAKESPEARE_CUTS = (0.90, 0.95)  # contiguous: train [0, .90), valid [.90, .95), test [.95, 1] of the characters
ENGLISH_DIR = DATA_DIR / "lm" / "english"
SEQ2SEQ_DIR = DATA_DIR / "seq2seq"
SEQ2SEQ_TASKS = ("qqp", "qg", "ts")
LM_CORPORA = ("shakespeare", "english", *HF_CORPORA)


def _check_split(split: str) -> None:
    if split not in SPLITS:
        raise ConfigError(f"unknown split {split!r}; valid splits: {', '.join(SPLITS)}")


def open_text(path: Path):
    """A UTF-8 text file (gunzipped when `*.gz`) as a stream of lines. The file is read and decoded whole first, so
    a file that is not gzip or not UTF-8 is one DataError naming it (read_text), never an error halfway through."""
    return io.StringIO(read_text(path))


def read_text(path: Path) -> str:
    """The UTF-8 text of a file, gunzipped when its name ends in .gz; DataError naming the file (and the line of the
    first byte that is not UTF-8) otherwise."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: file not found")
    raw = path.read_bytes()
    if path.suffix == ".gz":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as err:
            raise DataError(f"{path}: not a gzip file ({err}); rename it without .gz if it is plain text") from None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as err:
        line = raw[:err.start].count(b"\n") + 1
        raise DataError(f"{path}:{line}: not UTF-8 text (byte 0x{raw[err.start]:02x}); save the file as UTF-8") \
            from None


def _find_split_file(folder: Path, split: str, suffixes: Sequence[str]) -> Path:
    """`folder/<split><suffix>` for the first suffix that exists (e.g. .jsonl then .jsonl.gz)."""
    if not folder.is_dir():
        raise DataError(f"{folder}: folder not found")
    for suffix in suffixes:
        candidate = folder / f"{split}{suffix}"
        if candidate.is_file():
            return candidate
    tried = ", ".join(f"{split}{s}" for s in suffixes)
    raise DataError(f"{folder}: no {split} file (looked for {tried})")


# ----------------------------------------------------------------------------------------------------------------
# Language-modelling text
# ----------------------------------------------------------------------------------------------------------------

def read_jsonl(path: str | Path, *, torn_tail: bool = False):
    """(line number, record) for every JSON object of a `.jsonl` or `.jsonl.gz` file, blank lines skipped.
    DataError "<path>:<line>: ..." for a line that is not a JSON object; "<path>: file not found" when missing.
    torn_tail: the file is a log that a killed process may have left in the middle of a write (a run's log.jsonl),
    so a last line that is not JSON is skipped."""
    path = Path(path)
    with open_text(path) as f:
        for lineno, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line.rstrip())   # a trailing newline would move the error column to line 2
            except json.JSONDecodeError as e:
                if torn_tail and not f.read().strip():
                    return
                raise DataError(f"{path}:{lineno}: malformed JSON ({e.msg} at column {e.colno})") from None
            if not isinstance(record, dict):
                raise DataError(f"{path}:{lineno}: expected a JSON object, got {type(record).__name__}")
            yield lineno, record


def read_text_documents(path: Path) -> list[str]:
    """Documents of a `*.jsonl(.gz)` file with one {"text": ...} object per line (blank lines skipped)."""
    docs = []
    for lineno, record in read_jsonl(path):
        if not isinstance(record.get("text"), str):
            raise DataError(f"{path}:{lineno}: expected a string field 'text'")
        docs.append(record["text"])
    return docs


def local_split_file(folder: str | Path, split: str) -> Path:
    """The file of one split in a user corpus folder: `<split>.txt(.gz)` or `<split>.jsonl(.gz)`."""
    return _find_split_file(Path(folder), split, (".txt", ".txt.gz", ".jsonl", ".jsonl.gz"))


def _load_local_text(folder: Path, split: str) -> str | list[str]:
    """A user folder: `<split>.txt(.gz)` is one running text; `<split>.jsonl(.gz)` holds documents; a folder
    written by `datasets`' save_to_disk holds documents in its "text" column."""
    if is_saved_dataset(folder):
        return list(saved_dataset_split(folder, split)["text"])
    path = local_split_file(folder, split)
    if ".jsonl" in path.name:
        text = read_text_documents(path)
    else:
        text = read_text(path)
    if not any(t.strip() for t in ([text] if isinstance(text, str) else text)):
        raise DataError(f"{path}: the corpus file is empty")
    return text


def load_lm_text(corpus: str, split: str) -> str | list[str]:
    """Text of one split of a language-modelling corpus.

    corpus: "shakespeare" (one running text, contiguous 90/5/5 character split), "english" (list of documents:
    Wikipedia articles, ABC news stories, State of the Union addresses; split by document), one of
    "openwebtext", "lm1b", "wikitext103", "wikitext2" (via `datasets`; list of rows), or a path to a folder with
    train/valid/test as .txt (one text) or .jsonl ({"text"} per line, documents).
    """
    _check_split(split)
    if corpus == "shakespeare":
        full = read_text(SHAKESPEARE_PATH)
        a, b = (int(c * len(full)) for c in SHAKESPEARE_CUTS)
        text = {"train": full[:a], "valid": full[a:b], "test": full[b:]}[split]
    elif corpus == "english":
        text = read_text_documents(_find_split_file(ENGLISH_DIR, split, (".jsonl.gz",)))
    elif corpus in HF_CORPORA:
        text = list(hf_dataset_split(corpus, split)["text"])
    elif os.sep in corpus or "/" in corpus or Path(corpus).exists():
        text = _load_local_text(Path(corpus), split)
    else:
        raise ConfigError(f"unknown corpus {corpus!r}; valid: {', '.join(LM_CORPORA)} or a folder path")
    if not text or (isinstance(text, list) and not any(t.strip() for t in text)):
        raise DataError(f"corpus {corpus!r} split {split!r} is empty")
    return text


def lm_blocks(texts_or_ids, tokenizer, seq_len: int, wrap: bool = True, return_mask: bool = False,
              pad_id: int | None = None):
    """Token blocks for language modelling, following MDLM's dataloader.

    texts_or_ids: a str (one document), a list of str (documents) or a list of id lists (pre-tokenized).
    wrap=True (MDLM `wrap`, `_group_texts`): each document's ids are followed by EOS, all are concatenated, cut
        into chunks of seq_len - 2, and each chunk becomes [BOS] chunk [EOS]; the remainder is dropped.
        A document may continue across blocks, as in MDLM.
    wrap=False (MDLM unwrapped): one row per document, [BOS] ids[:seq_len-2] [EOS] then padding; the pad id is
        `pad_id`, else tokenizer.pad_id, else EOS (the attention mask tells padding from a real EOS).
    Returns ids LongTensor [N, seq_len]; with return_mask also the attention mask LongTensor [N, seq_len]
    (all ones when wrapping, as in MDLM).
    """
    if seq_len < 3:
        raise DataError(f"seq_len={seq_len} is too small: a block needs BOS, at least one token and EOS (>= 3)")
    bos, eos = tokenizer.bos_id, tokenizer.eos_id
    if bos is None or eos is None:
        raise ConfigError(f"tokenizer {tokenizer.name!r} has no BOS/EOS id; lm_blocks needs both")
    docs = _tokenized_documents(texts_or_ids, tokenizer)
    body = seq_len - 2
    if wrap:
        stream = [i for doc in docs for i in (*doc, eos)]
        n_blocks = len(stream) // body
        if n_blocks == 0:
            raise DataError(f"the text has {len(stream)} tokens (with EOS), fewer than one block of "
                            f"seq_len - 2 = {body}; use a smaller seq_len or more text")
        chunks = torch.tensor(stream[: n_blocks * body], dtype=torch.long).view(n_blocks, body)
        ids = torch.cat([torch.full((n_blocks, 1), bos), chunks, torch.full((n_blocks, 1), eos)], dim=1)
        mask = torch.ones_like(ids)
    else:
        if not docs:
            raise DataError("lm_blocks got no documents")
        fill = pad_id if pad_id is not None else (tokenizer.pad_id if tokenizer.pad_id is not None else eos)
        ids = torch.full((len(docs), seq_len), fill, dtype=torch.long)
        mask = torch.zeros_like(ids)
        for row, doc in enumerate(docs):
            seq = [bos, *doc[:body], eos]
            ids[row, : len(seq)] = torch.tensor(seq)
            mask[row, : len(seq)] = 1
    return (ids, mask) if return_mask else ids


def _tokenized_documents(texts_or_ids, tokenizer) -> list[list[int]]:
    if isinstance(texts_or_ids, str):
        texts_or_ids = [texts_or_ids]
    items = list(texts_or_ids)
    if not items:
        return []
    if all(isinstance(t, str) for t in items):
        return tokenizer.encode_batch(items)
    return [[int(i) for i in doc] for doc in items]


# ----------------------------------------------------------------------------------------------------------------
# Seq2seq (DiffuSeq jsonl)
# ----------------------------------------------------------------------------------------------------------------

@dataclass
class Seq2SeqExample:
    """One source with all its references (8 for `ts`; usually 1 for `qqp`/`qg`)."""

    src: str
    refs: list[str] = field(default_factory=list)


def read_seq2seq_jsonl(path) -> list[dict]:
    """Records {"src": str, "trg": str} of a DiffuSeq `.jsonl` or `.jsonl.gz` file, in file order.

    Blank lines are skipped. Raises DataError("<path>:<line>: ...") for malformed JSON, a missing key or a
    non-string value, and DataError("<path>: ...") for a missing or empty file.
    """
    path = Path(path)
    records = []
    for lineno, record in read_jsonl(path):
        for key in ("src", "trg"):
            if key not in record:
                raise DataError(f"{path}:{lineno}: missing key {key!r} (DiffuSeq records need 'src' and 'trg')")
            if not isinstance(record[key], str):
                raise DataError(f"{path}:{lineno}: {key!r} must be a string, got {type(record[key]).__name__}")
        # DiffuSeq strips both sides when reading (get_corpus).
        records.append({"src": record["src"].strip(), "trg": record["trg"].strip()})
    if not records:
        raise DataError(f"{path}: no records (the file is empty)")
    return records


def write_seq2seq_jsonl(path, pairs: Sequence[dict]) -> None:
    """Write {"src","trg"} records, one JSON object per line (gzip when the name ends in .gz), atomically."""
    atomic_write_text(path, "".join(json.dumps({"src": p["src"], "trg": p["trg"]}, ensure_ascii=False) + "\n"
                                    for p in pairs))


def group_by_source(pairs: Sequence[dict]) -> list[Seq2SeqExample]:
    """Collect the references of each distinct source, in order of first appearance."""
    by_src: dict[str, Seq2SeqExample] = {}
    for p in pairs:
        by_src.setdefault(p["src"], Seq2SeqExample(p["src"])).refs.append(p["trg"])
    return list(by_src.values())


def seq2seq_pairs(examples: Sequence[Seq2SeqExample]) -> list[tuple[str, str]]:
    """Flatten examples to (src, trg) training pairs: one pair per reference."""
    return [(ex.src, ref) for ex in examples for ref in ex.refs]


def load_seq2seq(task_or_path: str, split: str) -> list[Seq2SeqExample]:
    """One split of an embedded task ("qqp", "qg", "ts") or of a DiffuSeq folder with train/valid/test.jsonl."""
    _check_split(split)
    folder = SEQ2SEQ_DIR / task_or_path if task_or_path in SEQ2SEQ_TASKS else Path(task_or_path)
    path = _find_split_file(folder, split, (".jsonl", ".jsonl.gz"))
    return group_by_source(read_seq2seq_jsonl(path))


def normalize_for_split(text: str) -> str:
    """Key under which two strings count as "the same sentence" for split disjointness (case, spacing)."""
    return " ".join(text.lower().split())


def split_pairs_by_group(pairs: Sequence[dict], fractions=(0.8, 0.1, 0.1), salt: str = "dlm-distill",
                         keys: Sequence[str] = ("src", "trg")) -> dict:
    """Deterministic train/valid/test split in which no string of the `keys` fields appears in two splits.

    Union-find over the normalized strings: every pair joins its src and trg, so pairs sharing any sentence (a
    question asked of several contexts, a paraphrase pair listed in both directions) form one group. Groups are
    ordered by sha256(salt + smallest string of the group) and the first round(f_train * G) groups go to train, the
    next round(f_valid * G) to valid, the rest to test. Pairs keep their input order inside each split.
    keys=("src",) groups by source alone: a target as common as "thank you." then joins nothing.
    """
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]  # path halving
            x = parent[x]
        return x

    for p in pairs:
        first = normalize_for_split(p[keys[0]])
        for key in keys[1:]:
            a, b = find(first), find(normalize_for_split(p[key]))
            if a != b:
                parent[max(a, b)] = min(a, b)  # the root is the smallest string of the group
        find(first)
    roots = sorted({find(k) for k in parent}, key=lambda r: hashlib.sha256((salt + r).encode()).hexdigest())
    n_train = round(fractions[0] * len(roots))
    n_valid = round(fractions[1] * len(roots))
    split_of = {r: ("train" if i < n_train else "valid" if i < n_train + n_valid else "test")
                for i, r in enumerate(roots)}
    out = {s: [] for s in SPLITS}
    for p in pairs:
        out[split_of[find(normalize_for_split(p[keys[0]]))]].append(p)
    return out


# ----------------------------------------------------------------------------------------------------------------
# DiffuSeq sequence layout
# ----------------------------------------------------------------------------------------------------------------

def diffuseq_encode(src_ids: Sequence[int], trg_ids: Sequence[int], seq_len: int, cls_id: int, sep_id: int,
                    pad_id: int) -> tuple[list[int], list[int]]:
    """`[CLS] src [SEP] trg [SEP] [PAD]...` of exactly seq_len ids, and DiffuSeq's input_mask.

    input_mask is 0 on `[CLS] src [SEP]` (kept clean: the condition) and 1 on `trg [SEP] [PAD]...` (noised and
    generated), as DiffuSeq pads its mask with 1.
    Truncation follows DiffuSeq's `merge_and_mask`: while the two sides do not fit, drop the last token of the
    longer side, or of both sides when they are equally long.
    Deviation (layout only): DiffuSeq's BERT path produces `[CLS] src [SEP] [SEP] [CLS] trg [SEP]` (it keeps each
    side's own [CLS]/[SEP] and adds a separator); we use the single-separator layout above, so the budget for
    src + trg is seq_len - 3 plain tokens instead of seq_len - 5.
    """
    if seq_len < 5:
        raise DataError(f"seq_len={seq_len} is too small for [CLS] src [SEP] trg [SEP] with one token per side "
                        f"(needs >= 5)")
    src, trg = list(src_ids), list(trg_ids)
    while len(src) + len(trg) > seq_len - 3:
        if len(src) > len(trg):
            src.pop()
        elif len(trg) > len(src):
            trg.pop()
        else:
            src.pop()
            trg.pop()
    ids = [cls_id, *src, sep_id, *trg, sep_id]
    n_cond = len(src) + 2
    return ids + [pad_id] * (seq_len - len(ids)), [0] * n_cond + [1] * (seq_len - n_cond)


def diffuseq_batch(examples_pairs, tokenizer, seq_len: int) -> dict:
    """Tokenize (src, trg) pairs (tuples or {"src","trg"} dicts) into the DiffuSeq layout.

    Returns {"input_ids": LongTensor [B, seq_len], "input_mask": LongTensor [B, seq_len]}.
    """
    if None in (tokenizer.cls_id, tokenizer.sep_id, tokenizer.pad_id):
        raise ConfigError(f"tokenizer {tokenizer.name!r} lacks [CLS]/[SEP]/[PAD]; DiffuSeq layout needs them "
                          f"(use the 'bert' tokenizer)")
    pairs = [(p["src"], p["trg"]) if isinstance(p, dict) else tuple(p) for p in examples_pairs]
    if not pairs:
        raise DataError("diffuseq_batch got no examples")
    src_ids = tokenizer.encode_batch([s for s, _ in pairs])
    trg_ids = tokenizer.encode_batch([t for _, t in pairs])
    rows = [diffuseq_encode(s, t, seq_len, tokenizer.cls_id, tokenizer.sep_id, tokenizer.pad_id)
            for s, t in zip(src_ids, trg_ids)]
    return {"input_ids": torch.tensor([r[0] for r in rows], dtype=torch.long),
            "input_mask": torch.tensor([r[1] for r in rows], dtype=torch.long)}
