"""Entropy-matched control for a result row: sample the row's teacher at the same steps with the softmax temperature
whose samples have the row's entropy, evaluate it like any run, and write it as its own result row.

    python -m experiments.match_temperature results/<row>.json [key=value ...]

Lower entropy buys lower GenPPL for free (a cooler teacher looks "better"); a distilled student must be compared
with its teacher at matched entropy. The search (bisection over T, `core.evaluate.temperature_match`) uses
`match.num_samples` sequences per probe with a fixed seed, then the final row uses `sampling.num_samples`.
Keys after the path override the row's config (e.g. teacher_path=..., sampling.num_samples=...).
"""
from __future__ import annotations

from pathlib import Path

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
from experiments.tables import main as build_tables

PROBE_SAMPLES = 32


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

    def entropy_at(temperature: float) -> float:
        probe = OmegaConf.merge(cfg, {"sampling": {"num_samples": PROBE_SAMPLES}})
        ids, _, _ = draw_samples(teacher, probe, device, temperature=temperature)
        return unigram_entropy(ids)

    temperature, probe_entropy = match_temperature(entropy_at, target, lo=0.5, hi=1.5, tol=0.01)
    ids, nfe, speed = draw_samples(teacher, cfg, device, temperature=temperature)
    tokenizer = load_tokenizer(teacher.tokenizer_name)
    texts = tokenizer.batch_decode(ids.tolist())
    evaluation = evaluate_texts(texts, ids, cfg, device, tokenizer)
    record = {"method": "sample (entropy-matched)", "teacher": cfg.teacher, "corpus": cfg.corpus, "preset": cfg.preset,
              "steps": cfg.steps, "nfe": nfe, "temperature": temperature, "matched_to": row_path.name,
              "target_entropy": target, "probe_entropy": probe_entropy, "n_samples": len(texts),
              "seconds_per_sample": speed["seconds_per_sample"], "speed": speed, "seed": cfg.seed,
              "teacher_path": repo_relative(folder), "samples": texts[: cfg.eval.num_show], **evaluation}
    path = write_result(record, results_dir(cfg), f"{row_path.stem}-matched-T{temperature:.3f}")
    atomic_write_text(path.with_suffix(".config.yaml"), OmegaConf.to_yaml(cfg))
    build_tables(["--results-dir", str(results_dir(cfg))])
    print(f"T*={temperature:.4f} (probe entropy {probe_entropy:.4f}, target {target:.4f}) -> {path}")
    return 0


if __name__ == "__main__":
    run_cli(main, extra_errors=(ValueError,))
