"""One JSON per evaluated configuration in results/rows/ (core.paths.rows_dir), the input of `python -m experiments.reports`.

Every record holds the method, the teacher (unconditional) or task (seq2seq), steps, NFE, a metrics dict, sample
count, seconds per sample, the evaluator used, the seed, and — added here — the git commit, the exact command,
a timestamp and the device, so every number in results/README.md can be traced and re-run. An unconditional row's
sample texts, all of them, are kept beside it in <name>.samples.json.gz (`write_result`, `load_samples`).
"""
from __future__ import annotations

import datetime
import gzip
import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import torch

from core.checkpoint import atomic_write_text, read_json
from core.errors import DataError
from core.paths import REPO_ROOT, row_file, rows_dir

REQUIRED_KEYS = ("method", "steps", "nfe", "metrics", "n_samples", "seconds_per_sample", "evaluator", "seed",
                 "commit", "command")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._=+-]*$")


# What the commands themselves write (result rows, their tables and figures): changing them does not change the code
# a row was made with, so a sequence of commands run from a clean commit keeps recording that commit.
OUTPUT_PATHS = ("results",)


def git_commit(repo: str | os.PathLike = REPO_ROOT) -> str:
    """HEAD commit hash, with "+dirty" when tracked files other than the commands' own outputs (OUTPUT_PATHS) differ
    from it; "unknown" outside a git checkout."""
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True, text=True, check=True)
        status = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no", "--", ".",
                                 *(f":(exclude){path}" for path in OUTPUT_PATHS)], cwd=repo,
                                capture_output=True, text=True, check=True)
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head.stdout.strip() + ("+dirty" if status.stdout.strip() else "")


def current_command() -> str:
    """The command line of this process, as `python -m package.module args` when run with -m."""
    main = sys.modules.get("__main__")
    spec = getattr(main, "__spec__", None)
    if spec is not None and spec.name and spec.name != "__main__":
        return shlex.join(["python", "-m", spec.name.removesuffix(".__main__"), *sys.argv[1:]])
    return shlex.join(["python", *sys.argv])


def utc_timestamp() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")


def validate_result(record: dict, source: str = "result") -> None:
    """Raise DataError (a ValueError) naming `source` and every missing required key."""
    missing = [key for key in REQUIRED_KEYS if key not in record]
    if "teacher" not in record and "task" not in record:
        missing.append("teacher or task")
    if missing:
        raise DataError(f"{source}: missing required keys {missing}")
    if not isinstance(record["metrics"], dict):
        raise DataError(f"{source}: 'metrics' must be a dict, got {type(record['metrics']).__name__}")


# Every sample text of an unconditional row (record[SAMPLE_TEXTS]) is written beside the row as <name>.samples.json.gz,
# not into it (the row keeps `samples`, the few the tables show), and the row names that file in `samples_file`.
SAMPLE_TEXTS = "sample_texts"
SAMPLES_SUFFIX = ".samples.json.gz"


def samples_path(row_path: str | os.PathLike) -> Path:
    return Path(row_path).with_suffix(SAMPLES_SUFFIX)


def load_samples(row_path: str | os.PathLike) -> list[str]:
    """Every sample text of the row at `row_path`, from its samples file; DataError when it has none."""
    path = samples_path(row_file(row_path))
    if not path.is_file():
        raise DataError(f"{row_path}: no stored samples ({path.name}); only rows written since the samples file "
                        f"exists have one")
    try:
        with gzip.open(path, "rt", encoding="utf-8") as f:
            texts = json.load(f)
    except (OSError, EOFError, ValueError) as error:   # not gzip, cut short, or not JSON
        raise DataError(f"{path}: unreadable samples file ({error})") from None
    if not isinstance(texts, list) or not all(isinstance(t, str) for t in texts):
        raise DataError(f"{path}: expected a JSON list of sample texts")
    return texts


def write_result(record: dict, results_dir: str | os.PathLike, name: str) -> Path:
    """Complete `record` (commit, command, timestamp, device unless given), validate it and write it as the row
    <results_dir>/rows/<name>.json (`write_row`)."""
    if not _NAME.match(name):
        raise ValueError(f"write_result: bad result name {name!r} (letters, digits, . _ = + - only)")
    return write_row(record, rows_dir(results_dir) / f"{name}.json")


def write_row(record: dict, path: str | os.PathLike) -> Path:
    """`record`, completed and validated, written atomically to `path`; record[SAMPLE_TEXTS], when given, goes to
    <path stem>.samples.json.gz first."""
    record = dict(record)
    texts = record.pop(SAMPLE_TEXTS, None)
    record.setdefault("commit", git_commit())
    record.setdefault("command", current_command())
    record.setdefault("timestamp", utc_timestamp())
    record.setdefault("device", "cuda" if torch.cuda.is_available() else "cpu")
    # seconds_per_sample depends on what else ran: the 1-minute load average says whether the machine was shared
    if hasattr(os, "getloadavg"):
        record.setdefault("load_average", round(os.getloadavg()[0], 2))
    path = Path(path)
    if texts is not None:
        record["samples_file"] = samples_path(path).name
    validate_result(record, str(path))
    refuse_another_students_row(record, path)
    if texts is not None:   # before the row, so a row never names a samples file that is not there
        atomic_write_text(samples_path(path), json.dumps(list(texts), ensure_ascii=False) + "\n")
    atomic_write_text(path, json.dumps(record, indent=2, sort_keys=True) + "\n")
    return path


def refuse_another_students_row(record: dict, path: Path) -> None:
    """A row never replaces, under the same name, the row of another student (a name that leaves its student out,
    as a committed student's does, is shared by every folder copied there): DataError naming both students; the same
    student's row is rewritten."""
    new = record.get("student_path")
    if new is None or not path.is_file():
        return
    try:
        old = json.loads(path.read_text()).get("student_path")
    except ValueError:   # an unreadable row is replaced, as before
        return
    if old is not None and old != new:
        raise DataError(f"{path}: holds the row of the student {old}, and this row's student is {new}: its name "
                        "does not tell them apart; write it to another results_dir=, or remove that file first")


def row_paths(results_dir: str | os.PathLike) -> list[Path]:
    """The rows of a results folder, sorted by file name: <results_dir>/rows/*.json, and rows a checkout from before
    rows/ existed keeps in <results_dir>/*.json (a name in rows/ wins)."""
    by_name = {path.name: path for folder in (Path(results_dir), rows_dir(results_dir))
               for path in folder.glob("*.json")}
    return [by_name[name] for name in sorted(by_name)]


def load_results(results_dir: str | os.PathLike) -> list[dict]:
    """Every row of `results_dir` (`row_paths`), validated; each gets `_file` (its name). A missing folder is a
    DataError, not an empty set (a mistyped folder would otherwise build an empty table)."""
    if not Path(results_dir).is_dir():
        raise DataError(f"{results_dir}: no such results folder")
    records = []
    for path in row_paths(results_dir):
        record = load_result(path)
        record["_file"] = path.name
        records.append(record)
    return records


# Rows written before the sampling method took the CLI's name (`method=sample`) say "teacher"; they are read under the
# current name so that one name serves the CLI, the rows and the tables.
LEGACY_METHOD_NAMES = {"teacher": "sample", "teacher (entropy-matched)": "sample (entropy-matched)"}


def load_result(path: str | os.PathLike) -> dict:
    """One validated result record; DataError naming the file (and line) when it is not one. A path from before
    results/ had folders (results/<name>.json) finds the row in results/rows/ (core.paths.row_file)."""
    record = read_json(row_file(path), missing="result row not found")
    validate_result(record, str(path))
    record["method"] = LEGACY_METHOD_NAMES.get(record["method"], record["method"])
    return record
