"""Re-score result rows from the texts they store, with the current metric code.

    python -m experiments.rescore results/rows/diffuseq-qqp-small-steps*-k*.json
    python -m experiments.rescore runs/results/rows/mdlm-shakespeare-small-steps8.json   # distribution metrics

Every seq2seq row keeps all its candidate texts (`outputs`), so a metric fix or a new metric field (e.g. the
per-source `sentence_bleu` that the paired step comparison in results/README.md needs) does not require sampling
again. The sources and references are re-read from the row's test split (its `.config.yaml` names a `data.path`
when one was used); the row keeps its original command and commit, and gains a `rescored` entry with this command's.
A row whose stored BLEU the new scores do not reproduce is reported and left unchanged: its outputs and its
references no longer belong together.

An unconditional row keeps every sample beside it (<row>.samples.json.gz); its distribution metrics
(experiments.distribution: metrics.diversity, MAUVE against held-out text) are recomputed from those, with the
row's own settings (its `.config.yaml` over the current defaults, else the defaults with the row's corpus, data
folder and seed) and its own evaluator. GenPPL and entropy are left as they are. A samples file whose count or first
texts differ from the row's is refused.
"""
from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

from omegaconf import OmegaConf

from core.data import load_seq2seq
from core.errors import DataError
from core.evaluate.results import current_command, git_commit, load_result, load_samples, utc_timestamp, write_row
from core.evaluate.unconditional import load_evaluator
from core.paths import REPO_ROOT, results_dir_of, row_file
from core.tokenizers import load_tokenizer
from experiments.keys import CONFIG_DIR
from experiments.seq2seq import evaluate_candidates, task_source, viewed_references, viewed_sources
from experiments.setup import corpus_tokenizer_name

BLEU_TOLERANCE = 1e-9


def row_source(path: Path, record: dict) -> str:
    """The task or data folder the row's test sources came from: as the run resolved it, from its saved config."""
    config = path.with_suffix(".config.yaml")
    return task_source(OmegaConf.load(config)) if config.exists() else record["task"]


def rescore_row(path: Path, *, bertscore: bool = True, device: str = "cpu") -> Path:
    """Recompute the metrics of the row at `path` (results/<name>.json finds results/rows/<name>.json) from its
    stored texts and rewrite it atomically."""
    path = row_file(path)
    record = load_result(path)
    if "task" not in record:
        return rescore_unconditional(path, record, device=device)
    if "outputs" not in record:
        raise DataError(f"{path}: a seq2seq row without stored outputs")
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
    return rewrite(record, path)


def rewrite(record: dict, path: Path) -> Path:
    record["rescored"] = {"command": current_command(), "commit": git_commit(), "timestamp": utc_timestamp()}
    return write_row(record, path)


def unconditional_config(path: Path, record: dict):
    """The settings a row was scored with: its saved config over the current defaults (keys added since it was made
    keep their defaults), else the defaults with the row's corpus, data folder and seed."""
    defaults = OmegaConf.load(CONFIG_DIR / "defaults.yaml")
    saved = path.with_suffix(".config.yaml")
    if saved.exists():
        return OmegaConf.merge(defaults, OmegaConf.load(saved))
    return OmegaConf.merge(defaults, {"corpus": record["corpus"], "seed": record["seed"],
                                      "data": {"path": record.get("data_path")}})


def row_evaluator(record: dict, device, cfg=None):
    """The row's own GenPPL evaluator, from its `evaluator` field (a repository-relative folder or a hub name); a
    folder outside the repository, which a row records by its last two parts only, from the row's saved config."""
    name = record["evaluator"].removeprefix("reference-ar:")
    if not (REPO_ROOT / name).is_dir() and cfg is not None and Path(cfg.eval.evaluator).is_dir():
        return load_evaluator(cfg.eval.evaluator, device)
    return load_evaluator(REPO_ROOT / name if (REPO_ROOT / name).is_dir() else name, device)


def rescore_unconditional(path: Path, record: dict, *, device: str = "cpu") -> Path:
    """Recompute the distribution metrics of an unconditional row from its samples file and rewrite the row."""
    from experiments.distribution import distribution_metrics, mauve_features, mauve_wanted

    texts = load_samples(path)
    shown = record.get("samples", [])
    if len(texts) != record["n_samples"] or texts[:len(shown)] != shown:
        raise DataError(f"{path}: its samples file holds {len(texts)} texts that are not the row's "
                        f"{record['n_samples']} samples; not rewritten")
    if "sample_length" not in record:
        raise DataError(f"{path}: the row does not record its sample_length (the held-out blocks' length)")
    cfg = unconditional_config(path, record)
    needs_evaluator = mauve_wanted(cfg) and mauve_features(cfg) == "evaluator"
    evaluator = row_evaluator(record, device, cfg) if needs_evaluator else None
    tokenizer = load_tokenizer(corpus_tokenizer_name(cfg.corpus))
    record["metrics"].update(distribution_metrics(
        texts, cfg, device, evaluator, tokenizer, seq_len=record["sample_length"],
        reference_split="valid" if record["method"] == "real_text" else "test"))
    return rewrite(record, path)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("rows", nargs="+", type=Path, help="result JSON files (seq2seq, or unconditional with "
                                                             "a samples file)")
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
    from experiments.reports.readme import write_readme
    print(f"wrote {write_readme(results_dir_of(row_file(args.rows[0])))}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
