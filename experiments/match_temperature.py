"""Entropy-matched control for a result row: sample the row's teacher at the same steps with the softmax temperature
whose samples have the row's entropy, evaluate it like any run, and write it as its own result row
(experiments.controls.matched_teacher_row, which every distilled student's rows also call).

    python -m experiments.match_temperature results/rows/<row>.json [key=value ...]

Keys after the path override the row's config (e.g. teacher_path=..., sampling.num_samples=...).
"""
from __future__ import annotations

from pathlib import Path

from omegaconf import OmegaConf

from core.checkpoint import atomic_write_text
from core.errors import DataError
from core.evaluate.results import load_result
from experiments.cli import run_cli
from experiments.config import load_config
from experiments.controls import matched_teacher_row
from experiments.naming import results_dir
from experiments.setup import resolve_device, teacher_folder
from experiments.reports.readme import write_readme


def main(argv: list[str]) -> int:
    if not argv or argv[0] in ("-h", "--help"):
        print(__doc__)
        return 0 if argv else 2
    row_path = Path(argv[0])
    row = load_result(row_path)
    if "teacher" not in row:
        raise DataError(f"{row_path}: result row has no 'teacher'")
    # A distilled row names the teacher it was distilled from in "teacher": that teacher is the control.
    defaults = [f"teacher={row['teacher']}", f"steps={row['steps']}"]
    if "corpus" in row:
        defaults.append(f"corpus={row['corpus']}")
    cfg = load_config(defaults + argv[1:])
    device = resolve_device(cfg.device)
    from teachers.registry import load_teacher

    folder = teacher_folder(cfg)
    path = matched_teacher_row(cfg, device, load_teacher(folder, device=device), folder, row_path)
    atomic_write_text(path.with_suffix(".config.yaml"), OmegaConf.to_yaml(cfg))
    write_readme(results_dir(cfg))
    return 0


if __name__ == "__main__":
    run_cli(main, extra_errors=(ValueError,))
