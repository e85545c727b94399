"""Re-score seq2seq result rows from the outputs they store, with the current metric code.

    python -m experiments.rescore results/diffuseq-qqp-small-steps*-k*.json

Every seq2seq row keeps all its candidate texts (`outputs`), so a metric fix or a new metric field (e.g. the
per-source `sentence_bleu` that the paired step comparison in results/README.md needs) does not require sampling
again. The sources and references are re-read from the row's test split (its `.config.yaml` names a `data.path`
when one was used); the row keeps its original command and commit, and gains a `rescored` entry with this command's.
A row whose stored BLEU the new scores do not reproduce is reported and left unchanged: its outputs and its
references no longer belong together.
"""
from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

from omegaconf import OmegaConf

from core.data import load_seq2seq
from core.errors import DataError
from core.evaluate.results import current_command, git_commit, load_result, utc_timestamp, write_result
from core.tokenizers import load_tokenizer
from experiments.seq2seq import evaluate_candidates, task_source, viewed_references, viewed_sources

BLEU_TOLERANCE = 1e-9


def row_source(path: Path, record: dict) -> str:
    """The task or data folder the row's test sources came from: as the run resolved it, from its saved config."""
    config = path.with_suffix(".config.yaml")
    return task_source(OmegaConf.load(config)) if config.exists() else record["task"]


def rescore_row(path: Path, *, bertscore: bool = True, device: str = "cpu") -> Path:
    """Recompute the metrics of the seq2seq row at `path` from its `outputs` and rewrite it atomically."""
    record = load_result(path)
    if "task" not in record or "outputs" not in record:
        raise DataError(f"{path}: not a seq2seq row with stored outputs (needs 'task' and 'outputs')")
    outputs = record["outputs"]
    examples = load_seq2seq(row_source(path, record), "test")[: len(outputs)]
    if len(examples) != len(outputs):
        raise DataError(f"{path}: {len(outputs)} stored outputs but the test split has {len(examples)} sources")
    tokenizer = load_tokenizer("bert")
    metrics = evaluate_candidates(outputs, viewed_references(examples, tokenizer), viewed_sources(examples, tokenizer),
                                  bertscore=bertscore, device=device)
    for selection, values in metrics.items():
        stored = record["metrics"].get(selection, {}).get("bleu")
        if stored is not None and not math.isclose(stored, values["bleu"], abs_tol=BLEU_TOLERANCE):
            raise DataError(f"{path}: stored {selection} BLEU {stored:.6f} but its outputs score {values['bleu']:.6f} "
                            "against the current test split; not rewritten")
    record["metrics"] = metrics
    record["rescored"] = {"command": current_command(), "commit": git_commit(), "timestamp": utc_timestamp()}
    return write_result(record, path.parent, path.stem)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("rows", nargs="+", type=Path, help="seq2seq result JSON files")
    args = parser.parse_args(argv)
    failed = 0
    for path in args.rows:
        try:
            print(f"rescored {rescore_row(path)}")
        except (DataError, FileNotFoundError) as error:
            print(f"experiments.rescore: {error}", file=sys.stderr)
            failed += 1
    if failed:
        return 2   # a user error, as every command reports one (experiments.cli)
    from experiments.tables import main as build_tables
    return build_tables(["--results-dir", str(args.rows[0].parent)])


if __name__ == "__main__":
    sys.exit(main())
