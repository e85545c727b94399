"""The corpora that come through Hugging Face `datasets`: from the hub cache by name (`HF_CORPORA`), or from a folder
written by `save_to_disk` (`data.path=`). Each returns a `datasets.Dataset` with a "text" column; `core.data` reads
them as documents and `core.token_cache` streams them into token blocks."""
from __future__ import annotations

from pathlib import Path

from core.errors import DataError

# Hugging Face datasets: (path, config, {our split: their split}). OpenWebText ships only "train"; like MDLM's
# "openwebtext-split" we hold out its last 100k documents (used for both valid and test). LM1B has no
# validation split; MDLM validates on its test split, and so do we.
HF_CORPORA = {
    "openwebtext": ("Skylion007/openwebtext", None,
                    {"train": "train[:-100000]", "valid": "train[-100000:]", "test": "train[-100000:]"}),
    "lm1b": ("lm1b", None, {"train": "train", "valid": "test", "test": "test"}),
    "wikitext103": ("wikitext", "wikitext-103-raw-v1", {"train": "train", "valid": "validation", "test": "test"}),
    "wikitext2": ("wikitext", "wikitext-2-raw-v1", {"train": "train", "valid": "validation", "test": "test"}),
}

# Split names a saved `datasets` folder may use for ours, in order of preference (LM1B has no validation split:
# MDLM validates on test).
SAVED_SPLITS = {"train": ("train",), "valid": ("validation", "valid", "test"), "test": ("test", "validation", "valid")}
OWT_HELD_OUT = 100_000   # OpenWebText ships only "train": MDLM's openwebtext-split holds out its last 100k documents


def is_saved_dataset(folder: Path) -> bool:
    """A folder written by `datasets`' save_to_disk (a DatasetDict or one Dataset)."""
    return (folder / "dataset_dict.json").is_file() or (folder / "dataset_info.json").is_file()


def saved_dataset_split(folder: Path, split: str):
    """Our split of a `datasets` save_to_disk folder's "text" column (a DatasetDict, or one Dataset). A folder with only a
    train split (OpenWebText) holds out its last 100k documents as valid and test, as MDLM; a smaller one its last
    tenth."""
    import datasets

    try:
        saved = datasets.load_from_disk(str(folder))
    except Exception as e:
        raise DataError(f"{folder}: not a readable `datasets` folder ({type(e).__name__}: {str(e)[:200]})") from None
    if isinstance(saved, datasets.Dataset):
        saved = datasets.DatasetDict({"train": saved})
    if "text" not in saved[next(iter(saved))].column_names:
        raise DataError(f"{folder}: the dataset has no 'text' column (columns: {saved[next(iter(saved))].column_names})")
    if list(saved) == ["train"]:
        train = saved["train"]
        held_out = min(OWT_HELD_OUT, len(train) // 10)
        rows = range(len(train) - held_out) if split == "train" else range(len(train) - held_out, len(train))
        return train.select(rows)
    name = next((n for n in SAVED_SPLITS[split] if n in saved), None)
    if name is None:
        raise DataError(f"{folder}: no split for {split!r} (looked for {', '.join(SAVED_SPLITS[split])}; "
                        f"found {', '.join(saved)})")
    return saved[name]


def hf_dataset_split(corpus: str, split: str):
    repo, config, split_names = HF_CORPORA[corpus]
    try:
        import datasets

        ds = datasets.load_dataset(repo, config, split=split_names[split])
    except Exception as e:  # offline, missing cache, hub error: all mean "not reachable from here"
        raise DataError(
            f"dataset {corpus!r} ({repo}{'/' + config if config else ''}, split {split_names[split]!r}) could not be "
            f"loaded with the `datasets` library ({type(e).__name__}: {str(e)[:200]}). Put it in the Hugging Face "
            f"cache (HF_DATASETS_OFFLINE=1 reads it without network), or save it on a machine with network "
            f"(`datasets.load_dataset({repo!r}{', ' + repr(config) if config else ''}).save_to_disk(DIR)`) and pass "
            f"data.path=DIR, or point data.path= at a folder with train/valid/test .txt or .jsonl ({{\"text\": ...}})."
        ) from None
    return ds
