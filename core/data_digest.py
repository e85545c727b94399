"""Content digests of a data set's training split: what a model was trained on, independent of where the files live.

The digest is the sha256 of the training split's file bytes (for a `datasets` save_to_disk folder, of its training
arrow files in name order), so the same data moved or copied to another folder keeps it. Large files are hashed once
per (path, size, mtime): a cache in runs/cache/ spares a multi-GB corpus a re-read at every start.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

from core.checkpoint import atomic_write_text
from core.data import ENGLISH_DIR, SEQ2SEQ_DIR, SEQ2SEQ_TASKS, SHAKESPEARE_PATH, _find_split_file, local_split_file
from core.errors import DataError
from core.hf_datasets import is_saved_dataset
from core.paths import RUNS_DIR

DIGEST_CACHE = RUNS_DIR / "cache" / "data_digests.json"
CACHED_FROM_BYTES = 64 << 20   # smaller files are hashed at once: faster than reading the cache
SEQ2SEQ_SUFFIXES = (".jsonl", ".jsonl.gz")


def train_split_files(folder: str | Path, seq2seq: bool) -> list[Path]:
    """The files of a data folder's training split: a DiffuSeq folder's train.jsonl(.gz); a corpus folder's
    train.txt(.gz) / train.jsonl(.gz); a save_to_disk folder's training arrow files. DataError when there is none."""
    folder = Path(folder)
    if seq2seq:
        return [_find_split_file(folder, "train", SEQ2SEQ_SUFFIXES)]
    if is_saved_dataset(folder):
        arrows = sorted((folder / "train").glob("*.arrow")) or sorted(folder.glob("*.arrow"))
        if not arrows:
            raise DataError(f"{folder}: a `datasets` folder without training arrow files")
        return arrows
    return [local_split_file(folder, "train")]


def embedded_train_files(name: str) -> list[Path]:
    """The file holding an embedded corpus's or task's training split (shakespeare's is one file cut by position)."""
    if name == "shakespeare":
        return [SHAKESPEARE_PATH]
    if name == "english":
        return [ENGLISH_DIR / "train.jsonl.gz"]
    if name in SEQ2SEQ_TASKS:
        return [_find_split_file(SEQ2SEQ_DIR / name, "train", SEQ2SEQ_SUFFIXES)]
    return []   # a `datasets` corpus from the Hugging Face cache: no file of ours to digest


def files_digest(files: list[Path]) -> str:
    """sha256 hex of one file's bytes; of several, of each name and its bytes' sha256 in turn."""
    if len(files) == 1:
        return _file_sha256(files[0])
    h = hashlib.sha256()
    for path in files:
        h.update(f"{path.name}\0{_file_sha256(path)}\n".encode())
    return h.hexdigest()


def _file_sha256(path: Path) -> str:
    stat = path.stat()
    if stat.st_size < CACHED_FROM_BYTES:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    key = f"{path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}"
    cache = _read_cache()
    if key not in cache:
        h = hashlib.sha256()
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(1 << 24), b""):
                h.update(block)
        cache[key] = h.hexdigest()
        try:
            atomic_write_text(DIGEST_CACHE, json.dumps(cache, indent=0))
        except OSError:
            pass   # a read-only checkout hashes again next time
    return cache[key]


def _read_cache() -> dict:
    try:
        cache = json.loads(DIGEST_CACHE.read_text())
    except (OSError, ValueError):
        return {}
    return cache if isinstance(cache, dict) else {}


def short(digest: str | None) -> str:
    """The 12 hex digits a message shows."""
    return digest[:12] if digest else "unknown"

