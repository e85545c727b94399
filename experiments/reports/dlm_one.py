"""DLM-One students beside their teacher, from the rows (never from typed numbers):
`python -m experiments.reports dlm-one [--results-dir results] [--run runs/dlm_one-diffuseq-<task>-small ...]` writes
<results_dir>/tables/dlm_one.md, and per run a learning-curve figure <results_dir>/figures/<run name>-learning.png
(validation BLEU and the discriminator's mean logits against generator updates, stages laid end to end) from the
run's logs.

First the seq2seq targets with their verdicts (seq2seq_targets.py). Then per task: every DLM-One row (stage, steps,
MBR-k, [PAD] probability) with DiffuSeq's metric set and its speed, then the paired per-source BLEU gaps each row
stores against the teacher's rows of the same task (student − teacher on the sources both decoded, bootstrap 95%
interval: an interval above 0 is a win the sources resolve), and the teacher rows themselves for reference.
`comparison_lines` is the table. `settings_lines` adds the settings re-check on the valid split
(scripts/dlm_one_settings.sh): per variant, its run's validation BLEU from <results_dir>/training/.
"""
from __future__ import annotations

from pathlib import Path

from core.checkpoint import atomic_write_text
from core.data import read_jsonl
from core.evaluate.bootstrap import paired_gap
from core.paths import FIGURES, TABLES, TRAINING
from experiments.reports.kinds import (first_teacher, from_other_seq2seq_teacher, is_ar, load_rows,
                                       teacher_folder, variant)
from experiments.reports.seq2seq_targets import target_lines
from experiments.reports.seq2seq import (SCORES, bleu_ratio, load_benchmarks, row_label, sampler_times,
                                          selection_bleus, selection_metrics, single_teacher_row,
                                          speedup_over_diffuseq)

GAP_STEPS = (1, 10, 2000)
# DLM-One's CPU settings (t_init, the fake lr, the discriminator read-out) were first chosen on the first 64 test
# sources of qqp; a gap that holds beyond them holds on sources that chose nothing
SETTINGS_SOURCES = 64
HELDOUT_STEPS = 10   # the teacher whose rows cover every test source (2000 steps: the first 64 only)


def _num(value, digits: int = 4) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def _row(r: dict) -> str:
    m = selection_metrics(r)
    ci = m["bleu_ci95"]
    bleu = _num(m["bleu"]) + (f" [{ci[0]:.4f}, {ci[1]:.4f}]" if ci else "")
    cells = [bleu, *(_num(m[k]) for k in SCORES)]
    return f"| {row_label(r)} | {' | '.join(cells)} | {r['nfe']} | {r['seconds_per_sample']:.4g} |"


def _gap(r: dict, steps: int, times: dict | None) -> str:
    g = r.get("paired_gaps", {}).get(f"teacher_steps{steps}")
    if g is None:
        return "–"
    low, high = g["bleu_gap_ci95"]
    speedup = speedup_over_diffuseq(r, times, steps) if steps > 1 else None
    return f"{g['bleu_gap']:+.4f} [{low:+.4f}, {high:+.4f}]" + ("" if speedup is None else f", {speedup:.0f}×")


def paired_gap_cell(row: dict, base: dict | None, start: int = 0) -> str:
    """The paired per-source BLEU gap row − base on the sources both decoded from index `start` on, [95% CI] and
    their count; "–" without a base row or without shared sources there."""
    found = base is not None and paired_gap(selection_bleus(row), selection_bleus(base), start=start)
    if not found:
        return "–"
    gap, (low, high), n = found
    return f"{gap:+.4f} [{low:+.4f}, {high:+.4f}] ({n} sources)"


def heldout_gap(student: dict, teacher: dict | None) -> str:
    """The paired gap on the test sources after the first SETTINGS_SOURCES (paired_gap_cell)."""
    return paired_gap_cell(student, teacher, start=SETTINGS_SOURCES)


def comparison_lines(records: list[dict], benchmarks: dict | None = None) -> list[str]:
    """The report's tables, one per task and teacher folder the students were distilled from (the reported teacher
    first, kinds.reported_teacher; `records` may hold other teachers' rows); the speed-ups come from `benchmarks`
    (the speed benchmark records by task), none without one for the task."""
    blocks: dict[tuple, list[dict]] = {}
    for r in (r for r in records if r["method"] == "dlm_one"):
        folder = teacher_folder(r) or variant(r)    # a stage-0 row samples the teacher folder itself
        other = bool(folder) and from_other_seq2seq_teacher({**r, "teacher_path": folder})
        blocks.setdefault((r["task"], other, folder), []).append(r)
    lines = []
    for (task, other, folder), students in sorted(blocks.items(), key=lambda item: (item[0][0], item[0][1],
                                                                                      item[0][2] or "")):
        times = sampler_times(benchmarks, task)
        mine = sorted(students, key=lambda r: (r.get("stage", 0), r["steps"], r.get("candidates", 1),
                                               r.get("pad_prob", 0)))
        teacher = sorted((r for r in records if r["method"] == "sample" and r.get("task") == task
                          and r.get("candidates", 1) == 1 and (is_ar(r) or teacher_folder(r) == folder)),
                         key=lambda r: r["steps"])
        lines += [f"## {task}" + (f", students of the candidate teacher {folder}" if other else ""), "",
                  "| row | BLEU [95% CI] | ROUGE-L | BERTScore | dist-1 | self-BLEU | div-4 | NFE | s/sample |",
                  "|---|---|---|---|---|---|---|---|---|", *(_row(r) for r in mine + teacher), ""]
        speed = (f"from `{times['command']}` at `{times['commit'][:7]}`, batch {times['batch_size']}" if times
                 else "none: no speed benchmark of this task with DiffuSeq")
        heldout = next((r for r in teacher if r["steps"] == HELDOUT_STEPS), None)
        lines += ["Paired per-source BLEU gap, student − teacher at n steps [95% CI], and the speed-up (teacher "
                  f"s/sample ÷ student's, one speed benchmark: {speed}); the last column is the gap against "
                  f"{HELDOUT_STEPS} steps on the test sources after the first {SETTINGS_SOURCES}, which chose none "
                  "of DLM-One's settings:", "",
                  "| row | " + " | ".join(f"vs {n} steps" for n in GAP_STEPS) + f" | vs {HELDOUT_STEPS} steps, "
                  f"sources {SETTINGS_SOURCES + 1}+ |",
                  "|---|" + "---|" * (len(GAP_STEPS) + 1),
                  *(f"| {row_label(r)} | " + " | ".join(_gap(r, n, times) for n in GAP_STEPS)
                    + f" | {heldout_gap(r, heldout)} |" for r in mine), ""]
    return lines


def teacher_lines(records: list[dict]) -> list[str]:
    """Candidate DiffuSeq teachers beside the reported one, per task (`records` with other_teachers=True): every
    single-candidate sampling row at the report's step counts with BLEU [95% CI], copy-source BLEU and output length,
    and the paired per-source BLEU gap against the reported teacher's row at the same steps, on the sources both
    decoded, and the ratio of its BLEU to the first committed teacher's (kinds.first_teacher) at the same steps
    when both decoded the same sources (the retraining target is that ratio). Empty when no other teacher has
    rows."""
    def single(r: dict) -> bool:
        return single_teacher_row(r) and r["steps"] in GAP_STEPS

    candidates = [r for r in records if single(r) and from_other_seq2seq_teacher(r)]
    if not candidates:
        return []
    lines = ["## DiffuSeq teachers", "",
             "Each teacher folder's single-candidate rows; *gap*: per-source BLEU minus that of the reported "
             "teacher's row at the same steps (the teacher whose students the tables above show), on the sources "
             "both decoded [95% CI]; *× first*: BLEU ÷ that of the first committed teacher's row at the same steps "
             "on the same sources (how each folder was trained: its config.json's provenance and the row's "
             "command).", "",
             "| task | teacher | steps | sources | BLEU [95% CI] | copy BLEU | length | gap vs reported | × first |",
             "|---|---|---|---|---|---|---|---|---|"]
    for task in sorted({r["task"] for r in candidates}):
        reported = {r["steps"]: r for r in records if single(r) and r["task"] == task
                    and not from_other_seq2seq_teacher(r)}
        mine = [r for r in candidates if r["task"] == task]
        rows = [*reported.values(), *mine]
        first = {r["steps"]: r for r in rows if teacher_folder(r) == first_teacher(r)}
        for r in sorted(rows, key=lambda r: (r["steps"], r in mine, r["_file"])):
            m, base, origin = selection_metrics(r), reported.get(r["steps"]), first.get(r["steps"])
            gap = paired_gap_cell(r, None if base is r else base)
            same = None if origin is r else bleu_ratio(r, origin)
            ratio = "–" if same is None else f"{same:.2f}×"
            low, high = m["bleu_ci95"]
            lines.append(f"| {task} | {teacher_folder(r)} | {r['steps']} | {r['n_samples']} | "
                         f"{m['bleu']:.4f} [{low:.4f}, {high:.4f}] | {_num(m['copy_source_bleu'])} | "
                         f"{_num(m['avg_len'], 1)} | {gap} | {ratio} |")
    return lines + [""]


SETTINGS_LOGS = "dlm_one-*-settings-*.log.jsonl"


def settings_lines(training_dir: Path) -> list[str]:
    """One line per settings run (dlm_one-<task>-settings-<variant>.log.jsonl: its validation records): the best
    1-step validation BLEU and its update, the first and the last validation. Empty without such logs."""
    logs = sorted(Path(training_dir).glob(SETTINGS_LOGS))
    if not logs:
        return []
    lines = ["## Settings re-checked on the valid split", "",
             "Stage 1 with the committed settings (`default`) and with one of them changed back, or, for "
             "`teacher<N>k`, distilling the task's teacher trained to N thousand updates, with the default settings "
             "or, after a hyphen, one changed (`scripts/dlm_one_settings.sh` lists the variants and their "
             "commands); 1-step BLEU on the first 64 valid sources, the metric that selects the exported "
             "checkpoint:", "",
             "| task | variant | best valid BLEU | at update | first validation | last validation |",
             "|---|---|---|---|---|---|"]
    for log in logs:
        task, variant = log.name.removesuffix(".log.jsonl").removeprefix("dlm_one-").split("-settings-")
        val = [(r["step"], r["val/bleu"]) for _, r in read_jsonl(log) if "val/bleu" in r]
        if not val:
            continue
        step, best = max(val, key=lambda point: point[1])
        lines.append(f"| {task} | {variant} | {best:.4f} | {step} | {val[0][1]:.4f} (update {val[0][0]}) | "
                     f"{val[-1][1]:.4f} (update {val[-1][0]}) |")
    return lines + [""]


def learning_figure(run_dir: Path, out: Path) -> Path:
    """Validation BLEU (valid split, 1 step) and the discriminator's mean real / fake logits per stage."""
    from experiments.reports.figures import plt, save_figure  # matplotlib (Agg) only when a figure is drawn

    fig, (bleu_ax, logit_ax) = plt.subplots(1, 2, figsize=(10, 4))
    offset = 0
    for stage_dir in sorted(run_dir.glob("stage*")):
        records = [r for _, r in read_jsonl(stage_dir / "log.jsonl", torn_tail=True)]
        val = [(offset + r["step"], r["val/bleu"]) for r in records if "val/bleu" in r]
        train = [r for r in records if "fake/real_logit" in r]
        if val:
            bleu_ax.plot(*zip(*val), marker=".", label=stage_dir.name)
        for key in ("real", "fake"):
            if train:
                logit_ax.plot([offset + r["step"] for r in train], [r[f"fake/{key}_logit"] for r in train],
                              label=f"{stage_dir.name} {key}")
        offset += max([r["step"] for r in records], default=0)
    bleu_ax.set(xlabel="generator updates", ylabel="validation BLEU, 1 step ↑", title=run_dir.name)
    logit_ax.set(xlabel="generator updates", ylabel="mean discriminator logit", title="ψ as discriminator")
    for ax in (bleu_ax, logit_ax):
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    return save_figure(fig, out)



def write_dlm_one_report(results_dir: Path, runs: list[Path] = ()) -> list[Path]:
    """<results_dir>/tables/dlm_one.md from its rows (every teacher's: candidate teachers have their own tables),
    and the learning-curve figure of each run folder in `runs`."""
    written, every_teacher = [], load_rows(results_dir, other_teachers=True)
    benchmarks = load_benchmarks(results_dir)
    for run_dir in runs:
        (Path(results_dir) / FIGURES).mkdir(parents=True, exist_ok=True)
        written.append(learning_figure(run_dir, Path(results_dir) / FIGURES / f"{run_dir.name}-learning.png"))
    text = "\n".join(["# DLM-One results", "", "Generated by `python -m experiments.reports dlm-one` from the rows in ../rows/; "
                      "every row names its command and commit.", "",
                      *target_lines(every_teacher, benchmarks),
                      *comparison_lines(every_teacher, benchmarks),
                      *teacher_lines(every_teacher),
                      *settings_lines(Path(results_dir) / TRAINING)])
    out = Path(results_dir) / TABLES / "dlm_one.md"
    atomic_write_text(out, text + "\n")
    return written + [out]
