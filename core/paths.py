"""Filesystem locations of the repository, its embedded data and its outputs.

Everything is derived from this file's location, so the code works from any working directory and from a fresh
clone (the embedded data lives inside the repository, never in a sibling folder).
"""
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
DATA_DIR = REPO_ROOT / "data"  # embedded corpora, seq2seq splits, tokenizer files (see data/PROVENANCE.md)
RESULTS_DIR = REPO_ROOT / "results"  # committed tables and figures
RUNS_DIR = REPO_ROOT / "runs"  # checkpoints and logs of individual runs (gitignored)
SCRATCH_RESULTS_DIR = RUNS_DIR / "results"  # rows of runs that did not ask for results_dir=results (gitignored)
