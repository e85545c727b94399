"""Token blocks of the `datasets` corpora on disk: tokenized once, batch by batch, and memory-mapped by every process.

    write_lm_blocks(lm_text_batches(source, split), tokenizer, seq_len, path)   # rows as lm_blocks(wrap=True) makes
    read_lm_blocks(path, seq_len)                                               # LongTensor [N, seq_len], mmapped
"""
from __future__ import annotations

import os
from pathlib import Path

import torch

from core.data import load_lm_text
from core.hf_datasets import HF_CORPORA, hf_dataset_split, is_saved_dataset, saved_dataset_split
from core.errors import DataError


def lm_text_batches(source: str, split: str, batch_size: int = 10_000):
    """The documents of one split in lists of `batch_size`: streamed from a `datasets` corpus (hub cache or a
    save_to_disk folder), as one list for the others."""
    folder = Path(source)
    if source in HF_CORPORA:
        yield from (b["text"] for b in hf_dataset_split(source, split).iter(batch_size))
    elif is_saved_dataset(folder):
        yield from (b["text"] for b in saved_dataset_split(folder, split).iter(batch_size))
    else:
        text = load_lm_text(source, split)
        yield [text] if isinstance(text, str) else text


def write_lm_blocks(batches, tokenizer, seq_len: int, path: Path) -> int:
    """lm_blocks(wrap=True) of a stream of document batches, written as raw int64 rows [N, seq_len] to `path`
    (atomically) without holding the corpus in memory; returns N. Read it back with `read_lm_blocks`."""
    body, carry, rows = seq_len - 2, [], 0
    tmp = Path(f"{path}.tmp")
    tmp.parent.mkdir(parents=True, exist_ok=True)
    try:
        with open(tmp, "wb") as f:
            for texts in batches:
                carry += [i for doc in tokenizer.encode_batch(texts) for i in (*doc, tokenizer.eos_id)]
                n = len(carry) // body
                chunks = torch.tensor(carry[: n * body], dtype=torch.long).view(n, body)
                ids = torch.cat([torch.full((n, 1), tokenizer.bos_id), chunks,
                                 torch.full((n, 1), tokenizer.eos_id)], 1)
                f.write(ids.numpy().tobytes())
                carry, rows = carry[n * body:], rows + n
    except BaseException:   # nothing half-written stays behind (an unreachable corpus fails on its first batch)
        tmp.unlink(missing_ok=True)
        raise
    if rows == 0:
        tmp.unlink()
        raise DataError(f"the text has fewer tokens than one block of seq_len - 2 = {body}; use a smaller seq_len")
    os.replace(tmp, path)
    return rows


def read_lm_blocks(path: Path, seq_len: int) -> torch.Tensor:
    """Rows written by write_lm_blocks as a memory-mapped tensor (processes share the pages, nothing is copied)."""
    import warnings

    import numpy as np

    rows = np.memmap(path, dtype=np.int64, mode="r").reshape(-1, seq_len)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)   # read-only pages: torch warns that writing would fail
        return torch.from_numpy(rows)
