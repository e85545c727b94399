"""Filesystem locations of the repository, its embedded data and its outputs.

Everything is derived from this file's location, so the code works from any working directory and from a fresh
clone (the embedded data lives inside the repository, never in a sibling folder).
"""
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
CHECKPOINTS_DIR = REPO_ROOT / "checkpoints"  # committed models: teachers, evaluators, students (checkpoints/README.md)
DATA_DIR = REPO_ROOT / "data"  # embedded corpora, seq2seq splits, tokenizer files (see data/PROVENANCE.md)
RESULTS_DIR = REPO_ROOT / "results"  # the committed rows, tables and figures (folders below)
RUNS_DIR = REPO_ROOT / "runs"  # checkpoints and logs of individual runs (gitignored)
SCRATCH_RESULTS_DIR = RUNS_DIR / "results"  # rows of runs that did not ask for results_dir=results (gitignored)

# The folders of a results folder (results/ or runs/results): rows/ holds each evaluated configuration's JSON row with
# its .config.yaml and .samples.json.gz; figures/ and tables/ what `python -m experiments.reports` draws and writes from them
# (results/README.md embeds both); benchmarks/ the speed and step measurements; training/ the pretraining summaries
# and the distillations' learning curves.
ROWS, FIGURES, TABLES, BENCHMARKS, TRAINING = "rows", "figures", "tables", "benchmarks", "training"


def rows_dir(results_dir) -> Path:
    """Where the rows of `results_dir` are written and read."""
    return Path(results_dir) / ROWS


def row_file(path) -> Path:
    """A row named by its path: the file itself, or, for a path from before results/ had folders
    (results/<name>.json), the same name in rows/ beside it when only that exists."""
    path = Path(path)
    moved = rows_dir(path.parent) / path.name
    return moved if not path.exists() and moved.exists() else path


def results_dir_of(row) -> Path:
    """The results folder a row file belongs to (the parent of its rows/, or its own folder for a flat one)."""
    folder = Path(row).parent
    return folder.parent if folder.name == ROWS else folder
