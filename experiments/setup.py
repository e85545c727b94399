"""Config → components helpers shared by the experiment commands (device, tokenizer, data blocks)."""
from __future__ import annotations

from pathlib import Path

import torch

from core import distributed
from core.data import lm_blocks, load_lm_text
from core.errors import ConfigError
from core.paths import REPO_ROOT, RUNS_DIR
from core.tokenizers import load_tokenizer

# The embedded default pairs each corpus with the vocabulary a small CPU model can learn fast.
CORPUS_TOKENIZERS = {"shakespeare": "char", "english": "small_bpe"}


def resolve_device(name: str) -> torch.device:
    """The device of `name`; under torchrun also joins the process group (this process's GPU: cuda:LOCAL_RANK)."""
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda" and not torch.cuda.is_available():
        raise ConfigError("device=cuda but CUDA is not available on this machine (use device=cpu or auto)")
    return distributed.init_from_env(torch.device(name))


def global_batch(section) -> int:
    """Rows per optimizer step of a `train` / `distill` config block: `global_batch`, or (0) `batch_size` rows on
    each process. `batch_size` is always the rows of one forward on one process (the micro-batch)."""
    return section.global_batch or section.batch_size * distributed.world_size()


def corpus_tokenizer_name(corpus: str) -> str:
    return CORPUS_TOKENIZERS[corpus]


def corpus_blocks(cfg, tokenizer_name: str):
    """(train blocks [N, L], valid blocks [M, L], tokenizer) for cfg.corpus (or cfg.data.path) at cfg.data.seq_len."""
    tokenizer = load_tokenizer(tokenizer_name)
    source = cfg.data.path or cfg.corpus
    train = lm_blocks(load_lm_text(source, "train"), tokenizer, cfg.data.seq_len)
    valid = lm_blocks(load_lm_text(source, "valid"), tokenizer, cfg.data.seq_len)
    return train, valid, tokenizer


CHECKPOINTS_DIR = REPO_ROOT / "checkpoints"  # committed embedded teachers (see checkpoints/README.md)


def find_pretrained(name: str, explicit: str | None) -> Path:
    """A pretrained folder: the explicit path, else the committed checkpoint, else this machine's last run."""
    candidates = [Path(explicit)] if explicit else [CHECKPOINTS_DIR / name, RUNS_DIR / name / "pretrained"]
    for path in candidates:
        if (path / "config.json").is_file():
            return path
    raise FileNotFoundError(f"no pretrained model found at {', '.join(map(str, candidates))}; train one with "
                            f"`python -m experiments.pretrain ...` or pass teacher_path=")
