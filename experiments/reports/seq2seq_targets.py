"""The seq2seq targets per task, read off the rows and the speed benchmarks (never typed), with a verdict each:

* teacher: the best teacher folder's BLEU at 2000 steps ÷ the first committed teacher's on the same sources
  (the "× first" of the DiffuSeq teachers table) ≥ TEACHER_RATIO, and on qqp also BLEU ≥ MIN_TEACHER_BLEU;
* student: the reported teacher's last-stage one-step student (its committed folder) beats the teacher's one step
  (the paired gap's interval lies above 0) and is within the teacher's 2000 steps (the gap's interval contains 0 or
  lies above it);
* speed-up of the one step over DiffuSeq at 2000 steps, per sample, and the one-step sampler's overhead ÷ network
  time, each the worst over the batch sizes of the task's speed benchmark, against the benchmark's own targets.
"""
from __future__ import annotations

from experiments.reports.kinds import first_teacher, from_other_seq2seq_teacher, is_ar, teacher_folder
from experiments.reports.markdown import verdict
from experiments.reports.seq2seq import bleu_ratio, selection_metrics, single_teacher_row

TEACHER_RATIO = 1.5
MIN_TEACHER_BLEU = {"qqp": 0.12}
TEACHER_STEPS = 2000


def teacher_ratios(records: list[dict], task: str) -> list[tuple[str, float, float]]:
    """(folder, BLEU at TEACHER_STEPS, ratio to the first committed teacher's row on the same sources) for every
    teacher folder of `task` with a single-candidate row at those steps, best ratio first."""
    rows = [r for r in records if single_teacher_row(r) and r["task"] == task and r["steps"] == TEACHER_STEPS
            and teacher_folder(r)]
    first = next((r for r in rows if teacher_folder(r) == first_teacher(r)), None)
    found = [(teacher_folder(r), selection_metrics(r)["bleu"], bleu_ratio(r, first)) for r in rows]
    return sorted((f for f in found if f[2] is not None), key=lambda f: -f[2])


def reported_student(records: list[dict], task: str) -> dict | None:
    """The row of the reported teacher's last-stage one-step student from a committed folder, if any."""
    rows = [r for r in records if r["method"] == "dlm_one" and r.get("task") == task and r.get("stage")
            and r["steps"] == 1 and r.get("candidates", 1) == 1 and not r.get("pad_prob")
            and str(r.get("student_path", "")).startswith("checkpoints/") and not from_other_seq2seq_teacher(r)]
    return max(rows, key=lambda r: r["stage"], default=None)


def _gap(row: dict, steps: int) -> tuple[float, float, float] | None:
    g = row.get("paired_gaps", {}).get(f"teacher_steps{steps}")
    return None if g is None else (g["bleu_gap"], *g["bleu_gap_ci95"])


def _gap_text(gap) -> str:
    return "–" if gap is None else f"{gap[0]:+.4f} [{gap[1]:+.4f}, {gap[2]:+.4f}]"


def target_lines(records: list[dict], benchmarks: dict[str, dict]) -> list[str]:
    """The "Targets" section: one row per task with a teacher row at TEACHER_STEPS."""
    tasks = sorted({r["task"] for r in records if r["method"] == "sample" and r.get("task") and not is_ar(r)})
    lines = ["## Targets", "",
             f"Per task: the best teacher folder at {TEACHER_STEPS} steps against the first committed one (≥ "
             f"{TEACHER_RATIO}×; qqp also BLEU ≥ {MIN_TEACHER_BLEU['qqp']}); the reported teacher's last-stage "
             "one-step student against that teacher at 1 step (gap above 0) and at 2000 steps (gap's interval "
             "reaching 0); the speed benchmark's speed-up over 2000 steps and sampler overhead, the worst over its "
             "batch sizes (experiments/reports/seq2seq_targets.py).", "",
             "| task | best teacher | BLEU@2000 | × first | teacher target | reported teacher's student | vs 1 step "
             "| vs 2000 steps | student target | speed-up | overhead |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for task in tasks:
        ratios = teacher_ratios(records, task)
        if not ratios:
            continue
        folder, bleu, ratio = ratios[0]
        teacher_met = ratio >= TEACHER_RATIO and bleu >= MIN_TEACHER_BLEU.get(task, 0.0)
        student = reported_student(records, task)
        one, full = (_gap(student, 1), _gap(student, TEACHER_STEPS)) if student else (None, None)
        student_met = None if one is None or full is None else one[1] > 0 and full[2] >= 0
        targets = (benchmarks.get(task) or {}).get("targets", {})
        speedups = [s["vs_steps2000"] for s in targets.get("dlm_one_vs_diffuseq", [])]
        fraction = targets.get("dlm_one_max_overhead_fraction")
        speedup = "–" if not speedups else \
            f"{min(speedups):.0f}×, {verdict(min(speedups) >= targets['seq2seq_speedup_target'])}"
        overhead = "–" if fraction is None else f"{fraction:.1%}, {verdict(fraction <= targets['overhead_target'])}"
        lines.append(f"| {task} | {folder} | {bleu:.4f} | {ratio:.2f}× | {verdict(teacher_met)} | "
                     f"{student['student_path'].split('/')[-1] if student else '–'} | {_gap_text(one)} | "
                     f"{_gap_text(full)} | {verdict(student_met)} | {speedup} | {overhead} |")
    return lines + [""]
