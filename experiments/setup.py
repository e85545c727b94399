"""Config → components helpers shared by the experiment commands (device, tokenizer, data blocks)."""
from __future__ import annotations

import re
from pathlib import Path

import torch

from core import distributed
from core.checkpoint import pretrained_folder, read_json
from core.data import lm_blocks, load_lm_text, local_split_file
from core.errors import ConfigError, DataError
from core.token_cache import lm_text_batches, read_lm_blocks, write_lm_blocks
from core.paths import CHECKPOINTS_DIR, RUNS_DIR
from core.tokenizers import UnknownCharacter, load_tokenizer
from experiments.keys import CORPUS_TOKENIZERS

EMBEDDED_CORPORA = ("shakespeare", "english")
TOKEN_CACHE_DIR = RUNS_DIR / "cache"   # token blocks of the `datasets` corpora (delete a file to tokenize again)


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
    """(train blocks [N, L], valid blocks [M, L], tokenizer) for cfg.corpus (or cfg.data.path) at cfg.data.seq_len.
    The `datasets` corpora are tokenized once, streamed to runs/cache/ by rank 0, and memory-mapped by every
    process; the embedded ones are small enough to tokenize at every start."""
    tokenizer = load_tokenizer(tokenizer_name)
    source = cfg.data.path or cfg.corpus
    if cfg.corpus in EMBEDDED_CORPORA:
        train, valid = (split_blocks(cfg, split, tokenizer, cfg.data.seq_len) for split in ("train", "valid"))
        return train, valid, tokenizer
    from experiments.data_identity import data_tag

    blocks = []
    for split in ("train", "valid"):
        # named by the data's content: moved data keeps its cache, changed data is tokenized again
        path = TOKEN_CACHE_DIR / f"{data_tag(cfg) if cfg.data.path else source}-" \
                                 f"{tokenizer_name}-{cfg.data.seq_len}-{split}.int64"
        if not path.is_file():
            if distributed.is_main():
                rows = write_lm_blocks(lm_text_batches(source, split), tokenizer, cfg.data.seq_len, path)
                print(f"tokenized {source} {split}: {rows} blocks of {cfg.data.seq_len} -> {path}")
            distributed.barrier()
        blocks.append(read_lm_blocks(path, cfg.data.seq_len))
    return blocks[0], blocks[1], tokenizer


def slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "--", text.strip("/"))


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
        choices = ", ".join(f"corpus={c} selects {CORPUS_TOKENIZERS[c]}" for c in EMBEDDED_CORPORA)   # text folders
        raise DataError(f"{file}: {where}: {err} ({tokenizer.name} is the tokenizer of corpus={cfg.corpus}; "
                        f"{choices}, which encodes any text)") from None


PUBLISHED_DIR = RUNS_DIR / "published"   # published checkpoints converted once into the project's format


def find_pretrained(name: str, explicit: str | None, *, convert_published: bool = True) -> Path:
    """A pretrained folder: the explicit path, else the committed checkpoint, else this machine's last run. An
    explicit published checkpoint (hub name, hub snapshot, Lightning .ckpt, SEDD .pth, DiffuSeq ema_*.pt or its
    folder) is converted once into runs/published/ and that folder returned, unless `convert_published` is False
    (the AR baselines are transformers folders, which have no project `family` and need no conversion)."""
    local = pretrained_folder(explicit) if explicit else None   # a hub name: its snapshot in the HF cache
    if local is not None and convert_published and is_published(local):
        return converted_published(explicit)
    candidates = [local] if explicit else [CHECKPOINTS_DIR / name, RUNS_DIR / name / "pretrained"]
    for path in candidates:
        if (path / "config.json").is_file():
            return path
    raise FileNotFoundError(f"no pretrained model found at {', '.join(map(str, candidates))}; train one with "
                            f"`python -m experiments.pretrain ...` or pass teacher_path=")


def teacher_folder(cfg) -> Path:
    """The teacher a command uses, said on stdout: teacher_path=, else the committed checkpoints/<run name>, else this
    machine's pretraining run of the same identity, runs/<run folder name>/pretrained. With data.path= that is only
    a teacher pretrained on that folder (the committed ones were trained on the embedded corpora and tasks)."""
    from experiments.naming import run_folder_name

    folder = find_pretrained(run_folder_name(cfg), cfg.teacher_path)
    print(f"teacher: {folder}")
    return folder


def is_published(path: Path) -> bool:
    """A file or folder in a published layout rather than a project folder (whose config.json names its `family`)."""
    if path.is_file():
        return True
    if (path / "training_args.json").is_file():
        return True
    return (path / "config.json").is_file() and "family" not in read_json(path / "config.json")


def converted_published(source: str) -> Path:
    """The project-format folder of a published checkpoint, converted by rank 0 on first use (delete the folder to
    convert again)."""
    from teachers.diffuseq_checkpoint import convert_published_checkpoint
    from teachers.published import convert_published

    out = PUBLISHED_DIR / slug(str(source))
    if not (out / "config.json").is_file():
        if distributed.is_main():
            path = Path(source).expanduser()
            diffuseq = (path / "training_args.json").is_file() or (path.is_file() and path.name.startswith("ema_"))
            (convert_published_checkpoint if diffuseq else convert_published)(source, out)
            print(f"converted the published checkpoint {source} into {out}")
        distributed.barrier()
    return out


def held_out_texts(cfg, tokenizer, n: int, *, seq_len: int, split: str = "test") -> tuple[list[str], torch.Tensor]:
    """n blocks of `seq_len` tokens of `split`, drawn without replacement with the row's seed: (texts, ids [n, L])."""
    blocks = split_blocks(cfg, split, tokenizer, seq_len)
    if len(blocks) < n:
        raise DataError(f"the {split} split has {len(blocks)} blocks of {seq_len} tokens, fewer than the {n} requested")
    g = torch.Generator().manual_seed(cfg.seed)
    rows = blocks[torch.randperm(len(blocks), generator=g)[:n]]
    return tokenizer.batch_decode(rows.tolist()), rows
