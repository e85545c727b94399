"""Config → components helpers shared by the experiment commands (device, tokenizer, data blocks)."""
from __future__ import annotations

from pathlib import Path

import torch

from core.data import lm_blocks, load_lm_text, local_split_file
from core.errors import ConfigError, DataError
from core.paths import REPO_ROOT, RUNS_DIR
from core.tokenizers import UnknownCharacter, load_tokenizer

# The embedded default pairs each corpus with the vocabulary a small CPU model can learn fast.
CORPUS_TOKENIZERS = {"shakespeare": "char", "english": "small_bpe"}


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise ConfigError("device=cuda but CUDA is not available on this machine (use device=cpu or auto)")
    return torch.device(name)


def corpus_tokenizer_name(corpus: str) -> str:
    return CORPUS_TOKENIZERS[corpus]


def corpus_blocks(cfg, tokenizer_name: str):
    """(train blocks [N, L], valid blocks [M, L], tokenizer) for cfg.corpus (or cfg.data.path) at cfg.data.seq_len."""
    tokenizer = load_tokenizer(tokenizer_name)
    train, valid = (split_blocks(cfg, split, tokenizer, cfg.data.seq_len) for split in ("train", "valid"))
    return train, valid, tokenizer


def split_blocks(cfg, split: str, tokenizer, seq_len: int):
    """lm_blocks of one split of cfg.data.path or cfg.corpus; a character the tokenizer cannot encode is one
    DataError naming the file, the line (or document) and the character, and how `corpus=` picks the tokenizer."""
    source = cfg.data.path or cfg.corpus
    text = load_lm_text(source, split)
    try:
        return lm_blocks(text, tokenizer, seq_len)
    except UnknownCharacter as err:
        docs = [text] if isinstance(text, str) else text
        k = next(i for i, doc in enumerate(docs) if err.char in doc)
        where = (f"line {docs[0][:docs[0].index(err.char)].count(chr(10)) + 1}" if isinstance(text, str)
                 else f"document {k + 1}")
        file = local_split_file(source, split) if cfg.data.path else f"corpus={cfg.corpus} ({split})"
        choices = ", ".join(f"corpus={c} selects {t}" for c, t in CORPUS_TOKENIZERS.items())
        raise DataError(f"{file}: {where}: {err} ({tokenizer.name} is the tokenizer of corpus={cfg.corpus}; "
                        f"{choices}, which encodes any text)") from None


CHECKPOINTS_DIR = REPO_ROOT / "checkpoints"  # committed embedded teachers (see checkpoints/README.md)


def find_pretrained(name: str, explicit: str | None) -> Path:
    """A pretrained folder: the explicit path, else the committed checkpoint, else this machine's last run."""
    candidates = [Path(explicit)] if explicit else [CHECKPOINTS_DIR / name, RUNS_DIR / name / "pretrained"]
    for path in candidates:
        if (path / "config.json").is_file():
            return path
    raise FileNotFoundError(f"no pretrained model found at {', '.join(map(str, candidates))}; train one with "
                            f"`python -m experiments.pretrain ...` or pass teacher_path=")


def teacher_folder(cfg) -> Path:
    """The teacher a command uses, said on stdout: teacher_path=, else the committed checkpoints/<run name>, else this
    machine's pretraining run of the same identity, runs/<run folder name>/pretrained. With data.path= that is only
    a teacher pretrained on that folder (the committed ones were trained on the embedded corpora and tasks)."""
    from experiments.config import run_folder_name

    folder = find_pretrained(run_folder_name(cfg), cfg.teacher_path)
    print(f"teacher: {folder}")
    return folder
