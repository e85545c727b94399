"""The data a run is given and the data a model folder was trained on.

A run's data is {"name", "digest"}: the name of its data.path folder (or data.name=) or of the embedded corpus or
task, and the sha256 of its training split's bytes (core.data_digest). Every exported teacher, evaluator and student
records it in its provenance, `run` refuses a model trained on other data (unless data.allow_mismatch=true), and the
run folders and rows of a data.path are named after it (experiments.naming), so the same data in another folder
keeps them.
"""
from __future__ import annotations

import functools
import re
import time
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from core.data_digest import embedded_train_files, files_digest, short, train_split_files
from core.errors import ConfigError
from experiments.methods import is_seq2seq

# the corpus an embedded model's tokenizer means (experiments.setup.CORPUS_TOKENIZERS of the embedded corpora)
EMBEDDED_BY_TOKENIZER = {"char": "shakespeare", "small_bpe": "english"}
TAG_DIGITS = 6   # hex digits of the digest in run folder and row names


def safe_name(name: str) -> str:
    """A name as a file name part: letters, digits, '.' and '_' only, at most 24 characters."""
    return re.sub(r"[^A-Za-z0-9._]+", "_", name)[:24] or "root"


def data_name(cfg: DictConfig) -> str:
    if cfg.data.path:
        return cfg.data.name or Path(cfg.data.path).expanduser().resolve().name
    return cfg.task if is_seq2seq(cfg) else cfg.corpus


def data_identity(cfg: DictConfig) -> dict:
    """{"name", "digest"} of the data cfg gives a command; digest None for a `datasets` corpus of the HF cache."""
    seq2seq = is_seq2seq(cfg)
    files = (train_split_files(Path(cfg.data.path).expanduser(), seq2seq) if cfg.data.path
             else embedded_train_files(data_name(cfg)))
    return {"name": data_name(cfg), "digest": digest_of(files)}


def digest_of(files: list[Path]) -> str | None:
    """files_digest, once per version of the files within a process: load_config, the run folder, the checks and
    the provenance all ask."""
    return _digest(tuple((str(f.resolve()), f.stat().st_size, f.stat().st_mtime_ns) for f in files)) if files else None


@functools.lru_cache(maxsize=32)
def _digest(stamps: tuple) -> str:
    return files_digest([Path(s[0]) for s in stamps])


def data_tag(cfg: DictConfig) -> str:
    """<name>-<6 hex digits of the content digest>: the data.path= data in one word (its token cache's file name;
    run folders and rows put the name in the corpus's place, experiments.naming)."""
    identity = data_identity(cfg)
    return f"{safe_name(identity['name'])}-{identity['digest'][:TAG_DIGITS]}"


def given_data(cfg: DictConfig) -> str:
    """The data of this run, as a message names it."""
    identity = data_identity(cfg)
    if cfg.data.path:
        return f"data.path={cfg.data.path} ({identity['name']!r}, sha256 {short(identity['digest'])})"
    kind = "task" if is_seq2seq(cfg) else "corpus"
    return f"the embedded {kind} {identity['name']!r} (sha256 {short(identity['digest'])})"


def recorded_data(folder: Path) -> dict | None:
    """{"name", "digest"} of the data the model in `folder` was trained on; None when that cannot be known."""
    from core.checkpoint import read_json
    from experiments.reports.training import exported_provenance

    provenance = exported_provenance(folder)
    provenance = provenance if isinstance(provenance, dict) else {}
    if isinstance(provenance.get("data"), dict) and provenance["data"].get("digest"):
        return provenance["data"]
    # Folders exported before the data was recorded (the committed checkpoints among them) were trained on the
    # embedded corpus or task they name, and are taken as such. A converted published checkpoint, or one trained on
    # a data.path of then, was trained on data nobody can digest now: nothing to compare.
    if "source" in provenance or "data.path=" in str(provenance.get("command", "")):
        return None
    config = read_json(folder / "config.json") if (folder / "config.json").is_file() else {}
    config = config if isinstance(config, dict) else {}
    tokenizer = config.get("tokenizer", config.get("dlm_tokenizer"))
    name = (config.get("task") or provenance.get("task") or provenance.get("corpus")
            or EMBEDDED_BY_TOKENIZER.get(tokenizer if isinstance(tokenizer, str) else None))
    digest = digest_of(embedded_train_files(name)) if name else None
    return {"name": name, "digest": digest} if digest else None


def data_mismatch(cfg: DictConfig, folder: Path) -> str | None:
    """What differs when the model in `folder` was trained on other data than cfg gives it, else None."""
    recorded = recorded_data(folder)
    if recorded is None:
        return None
    given = data_identity(cfg)
    if given["digest"] is None or given["digest"] == recorded["digest"]:
        return None
    return (f"was trained on data {recorded['name']!r} (sha256 {short(recorded['digest'])}), but this run is given "
            f"{given_data(cfg)}")


def check_data_matches(cfg: DictConfig, folder: Path, key: str) -> None:
    """Refuse a model trained on other data than the run's, unless data.allow_mismatch=true (the rows then say so)."""
    mismatch = data_mismatch(cfg, folder)
    if mismatch and not cfg.data.allow_mismatch:
        raise ConfigError(f"{key}={folder} {mismatch}; pass the data it was trained on, or data.allow_mismatch=true "
                          f"to run it anyway")


def run_provenance(cfg: DictConfig, **fields) -> dict:
    """What every export records of the command that made it: the command line, the commit, when, and the data."""
    from core.evaluate.results import current_command, git_commit

    return {"command": current_command(), "commit": git_commit(), "started": time.strftime("%Y-%m-%d %H:%M:%S"),
            "data": data_identity(cfg), **fields}


def saved_run_config(cfg: DictConfig) -> dict:
    """The config a training state keeps, with the data's digest: a resume compares the data by content, so the same
    data moved to another folder resumes (experiments.folder_checks.check_resume)."""
    config = OmegaConf.to_container(cfg)
    if cfg.data.path:
        config["data"]["digest"] = data_identity(cfg)["digest"]
    return config
