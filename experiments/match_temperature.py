"""Entropy-matched control for a result row: sample the row's teacher at the same steps with the softmax temperature
whose samples have the row's entropy, evaluate it like any run, and write it as its own result row.

    python -m experiments.match_temperature results/rows/<row>.json [key=value ...]

Lower entropy buys lower GenPPL for free (a cooler teacher looks "better"); a distilled student must be compared
with its teacher at matched entropy. The match is made on the reported samples themselves: every probe of the
bisection over T (`core.evaluate.temperature_match`) draws the row's full sample set (`sampling.num_samples`) from
the row's seed, so the entropy the search reached is the entropy of the row it writes, and nothing sampled before
changes it. The search stops at |ΔH| <= MATCH_TOLERANCE nats; the row records the residual it reached.
Keys after the path override the row's config (e.g. teacher_path=..., sampling.num_samples=...).
"""
from __future__ import annotations

from pathlib import Path

import torch
from omegaconf import OmegaConf

from core.checkpoint import atomic_write_text
from core.errors import DataError
from core.evaluate.results import load_result, write_result
from core.evaluate.temperature_match import match_temperature
from core.evaluate.unconditional import unigram_entropy
from core.tokenizers import load_tokenizer
from experiments.cli import run_cli
from experiments.config import load_config
from experiments.run import draw_samples, evaluate_texts, repo_relative, results_dir
from experiments.setup import resolve_device, teacher_folder
from reports.readme import write_readme

MATCH_TOLERANCE = 0.01   # nats of unigram entropy; about the spread of a 256-sample row's entropy over seeds


def main(argv: list[str]) -> int:
    if not argv or argv[0] in ("-h", "--help"):
        print(__doc__)
        return 0 if argv else 2
    row_path = Path(argv[0])
    row = load_result(row_path)
    if "teacher" not in row:
        raise DataError(f"{row_path}: result row has no 'teacher'")
    if "entropy" not in row["metrics"]:
        raise DataError(f"{row_path}: result row has no metrics.entropy (only unconditional rows can be matched)")
    # A distilled row names the teacher it was distilled from in "teacher": that teacher is the control.
    defaults = [f"teacher={row['teacher']}", f"steps={row['steps']}"]
    if "corpus" in row:
        defaults.append(f"corpus={row['corpus']}")
    cfg = load_config(defaults + argv[1:])
    device = resolve_device(cfg.device)
    from teachers.registry import load_teacher

    folder = teacher_folder(cfg)
    teacher = load_teacher(folder, device=device)
    target = row["metrics"]["entropy"]

    draws = {}   # temperature -> (ids, nfe, speed): the chosen probe's draw is the row's

    def entropy_at(temperature: float) -> float:
        torch.manual_seed(cfg.seed)   # as score_model: the row's samples come from the row's seed alone
        draws[temperature] = draw_samples(teacher, cfg, device, temperature=temperature)
        return unigram_entropy(draws[temperature][0])

    temperature, matched_entropy = match_temperature(entropy_at, target, lo=0.5, hi=1.5, tol=MATCH_TOLERANCE)
    ids, nfe, speed = draws[temperature]
    tokenizer = load_tokenizer(teacher.tokenizer_name)
    texts = tokenizer.batch_decode(ids.tolist())
    evaluation = evaluate_texts(texts, ids, cfg, device, tokenizer)
    record = {"method": "sample (entropy-matched)", "teacher": cfg.teacher, "corpus": cfg.corpus, "preset": cfg.preset,
              "steps": cfg.steps, "nfe": nfe, "temperature": temperature, "matched_to": row_path.name,
              "target_entropy": target, "entropy_residual": matched_entropy - target,
              "match_tolerance": MATCH_TOLERANCE, "matched_within_tolerance": abs(matched_entropy - target) <= MATCH_TOLERANCE,
              "n_samples": len(texts),
              "seconds_per_sample": speed["seconds_per_sample"], "speed": speed, "seed": cfg.seed,
              "teacher_path": repo_relative(folder), "samples": texts[: cfg.eval.num_show], **evaluation}
    path = write_result(record, results_dir(cfg), f"{row_path.stem}-matched-T{temperature:.3f}")
    atomic_write_text(path.with_suffix(".config.yaml"), OmegaConf.to_yaml(cfg))
    write_readme(results_dir(cfg))
    print(f"T*={temperature:.4f}: entropy {matched_entropy:.4f}, target {target:.4f} (residual "
          f"{matched_entropy - target:+.4f}) -> {path}")
    return 0


if __name__ == "__main__":
    run_cli(main, extra_errors=(ValueError,))
