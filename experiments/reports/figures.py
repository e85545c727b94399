"""Figures from the rows (never from typed numbers), drawn into results/figures/ by `python -m experiments.reports figures`,
and the way every figure of the project is drawn and saved (Agg backend, `save_figure`).

`write_figures` draws genppl_vs_steps.png (discrete teachers at temperature 1, with the held-out-text line) and
bleu_vs_steps.png (DiffuSeq per task, single sample and MBR), with 95% bootstrap error bars where the rows have them,
DLM-One students marked by their NFE, AR seq2seq rows and copying the source as lines; the shapes of the MDLM/Duo and
DLM-One (Figure 3) plots that show the few-step gap distillation has to close. For IDLM: idlm_frontier_<family>.png
(GenPPL against entropy, see experiments/reports/students.py) and idlm_learning_curves.png.
"""
from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from core.paths import FIGURES, TRAINING  # noqa: E402
from experiments.reports.kinds import MATCHED, is_ar, predictor  # noqa: E402
from experiments.reports.students import REFERENCE_STEPS  # noqa: E402


def plot_curve(ax, points, label: str) -> None:
    """points: (steps, value, interval or None); the line, plus a 95% error bar where the row has an interval."""
    points = sorted(points, key=lambda p: p[0])
    line, = ax.plot([p[0] for p in points], [p[1] for p in points], marker="o", label=label)
    with_ci = [p for p in points if p[2]]
    if with_ci:
        ax.errorbar([p[0] for p in with_ci], [p[1] for p in with_ci], fmt="none", ecolor=line.get_color(), capsize=3,
                    yerr=[[p[1] - p[2][0] for p in with_ci], [p[2][1] - p[1] for p in with_ci]])


def teacher_curve(record: dict) -> str | None:
    """The curve of a discrete teacher's temperature-1 row with its default sampler; None for every other row."""
    if record["method"] == "sample" and "task" not in record and record.get("temperature", 1.0) == 1.0 \
            and predictor(record) == "default":
        return f"{record['teacher']} ({record.get('corpus', '?')})"
    return None


def genppl_figure(records: list[dict], out: Path, curve_name=teacher_curve) -> Path | None:
    """GenPPL (log) and entropy against steps (log 2), one curve per `curve_name(row)` (rows it names None are left
    out), with the held-out text as a dashed line."""
    curves = defaultdict(list)
    real = [r for r in records if r["method"] == "real_text"]
    for r in records:
        name = curve_name(r) if r["method"] != "real_text" else None
        if name is not None:
            m = r["metrics"]
            curves[name].append((r["steps"], m["gen_ppl"], m.get("gen_ppl_ci95"), m["entropy"]))
    if not curves:
        return None
    fig, (ax_ppl, ax_ent) = plt.subplots(1, 2, figsize=(10, 4))
    for name, points in sorted(curves.items()):
        plot_curve(ax_ppl, [p[:3] for p in points], name)
        plot_curve(ax_ent, [(p[0], p[3], None) for p in points], name)
    for r in real:
        ax_ppl.axhline(r["metrics"]["gen_ppl"], color="k", ls="--", lw=1, label=f"held-out text ({r.get('corpus')})")
        ax_ent.axhline(r["metrics"]["entropy"], color="k", ls="--", lw=1)
    return finish_panels(fig, ((ax_ppl, "GenPPL (reference evaluator) ↓"), (ax_ent, "unigram entropy (nats)")),
                         xlabel="sampling steps", out=out, log2_x=True)


def save_figure(fig, out: Path) -> Path:
    """Every figure of the project is written the same way: tight layout, 120 dpi, the figure closed."""
    fig.tight_layout()
    fig.savefig(out, dpi=120)
    plt.close(fig)
    return out


def finish_panels(fig, panels, *, xlabel: str, out: Path, log2_x: bool = False) -> Path:
    """The (GenPPL, entropy) figure layout: labels and grid on each panel, GenPPL on a log axis, legend, save."""
    for ax, label in panels:
        if log2_x:
            ax.set_xscale("log", base=2)
        ax.set_xlabel(xlabel)
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
    panels[0][0].set_yscale("log")
    panels[0][0].legend(fontsize=7)
    return save_figure(fig, out)


def bleu_figure(records: list[dict], out: Path) -> Path | None:
    curves = defaultdict(list)
    for r in records:
        if "task" in r and r["method"] == "sample" and not is_ar(r):
            for kind, m in r["metrics"].items():
                name = "single" if kind == "single" else f"MBR-{r.get('candidates')}"
                curves[(r["task"], name)].append((r["steps"], m["bleu"], m.get("bleu_ci95")))
    if not curves:
        return None
    tasks = sorted({task for task, _ in curves})
    fig, axes = plt.subplots(1, len(tasks), figsize=(5 * len(tasks), 4), squeeze=False)
    for ax, task in zip(axes[0], tasks):     # one panel per task: their BLEU scales differ (ts copy-source ≈ 1)
        for (curve_task, kind), points in sorted(curves.items()):
            if curve_task == task:
                # a k = 1 and a k = 10 row at the same steps both carry the single-sample score: keep one
                plot_curve(ax, list({p[0]: p for p in points}.values()), f"DiffuSeq {task} ({kind})")
        for r in records:
            if r.get("task") == task and r["method"] == "copy_source":
                ax.axhline(r["metrics"]["single"]["bleu"], ls="--", lw=1, color="gray", label="copy the source")
            if r.get("task") == task and is_ar(r) and r.get("candidates", 1) == 1:
                ax.axhline(r["metrics"]["single"]["bleu"], ls=":", lw=1.5, color="k",
                           label=f"AR seq2seq, {r['nfe']:g} NFE")
            if r.get("task") == task and r["method"] == "dlm_one" and r.get("stage") and not r.get("pad_prob"):
                # the students, by NFE
                kind = f"MBR-{r['candidates']}" if "mbr" in r["metrics"] else "single"
                m = r["metrics"]["mbr" if kind != "single" else "single"]
                low, high = m["bleu_ci95"]
                ax.errorbar([r["nfe"]], [m["bleu"]], yerr=[[m["bleu"] - low], [high - m["bleu"]]], fmt="*", ms=10,
                            capsize=3, label=f"DLM-One stage {r.get('stage')}, {r['nfe']} NFE ({kind})")
        ax.set_xscale("log")
        ax.set_xlabel("sampling steps")
        ax.set_ylabel("BLEU (DiffuSeq sentence BLEU) ↑")
        ax.set_title(task)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    return save_figure(fig, out)


def frontier_figure(records: list[dict], out_dir: Path) -> list[Path]:
    """GenPPL against entropy per family: teacher rows (every temperature, K of any student and 1024) and students."""
    students = defaultdict(list)
    for r in records:
        if r["method"] == "idlm":
            students[r["teacher"]].append(r)
    written = []
    for family, rows in sorted(students.items()):
        steps = {r["steps"] for r in rows} | {REFERENCE_STEPS}
        teacher_rows = [r for r in records if r["method"] in ("sample", MATCHED) and r.get("teacher") == family
                        and "task" not in r and r["steps"] in steps]
        fig, ax = plt.subplots(figsize=(6, 4.5))
        curves = defaultdict(list)
        for r in teacher_rows:
            curves[(r["steps"], predictor(r))].append(r)
        for (k, pred), points in sorted(curves.items()):
            points.sort(key=lambda r: r["metrics"]["entropy"])
            ax.plot([p["metrics"]["entropy"] for p in points], [p["metrics"]["gen_ppl"] for p in points],
                    marker="o", ms=4, label=f"teacher, {k} steps" + ("" if pred == "default" else f" ({pred})"))
        student_curves = defaultdict(list)
        for r in rows:
            student_curves[(r["steps"], predictor(r))].append(r)
        for (k, pred), points in sorted(student_curves.items()):   # a student sampled at several temperatures
            points.sort(key=lambda r: r["metrics"]["entropy"])
            ax.plot([p["metrics"]["entropy"] for p in points], [p["metrics"]["gen_ppl"] for p in points],
                    marker="*", ms=11, lw=1.5, ls="--", zorder=5,
                    label=f"IDLM student, {k} steps" + ("" if pred == "default" else f" ({pred})"))
        ax.set_xlabel("unigram entropy (nats)")
        ax.set_ylabel("GenPPL ↓")
        ax.set_yscale("log")
        ax.set_title(f"{family}: GenPPL against entropy", fontsize=10)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
        written.append(save_figure(fig, out_dir / f"idlm_frontier_{family}.png"))
    return written


def learning_curve_figure(training_dir: Path, out: Path) -> Path | None:
    """Validation GenPPL and entropy against distillation step, one line per run log in results/training/."""
    logs = sorted(training_dir.glob("idlm-*.log.jsonl"))
    if not logs:
        return None
    fig, (ax_ppl, ax_ent) = plt.subplots(1, 2, figsize=(10, 4))
    for path in logs:
        rows = [json.loads(line) for line in path.read_text().splitlines() if '"val/gen_ppl"' in line]
        name = path.name.removesuffix(".log.jsonl")
        ax_ppl.plot([r["step"] for r in rows], [r["val/gen_ppl"] for r in rows], label=name)
        ax_ent.plot([r["step"] for r in rows], [r["val/entropy"] for r in rows], label=name)
    return finish_panels(fig, ((ax_ppl, "validation GenPPL ↓"), (ax_ent, "validation unigram entropy (nats)")),
                         xlabel="generator updates", out=out)



def write_figures(records: list[dict], results_dir: Path) -> list[Path]:
    """The figures above, into <results_dir>/figures/ (the learning curves from <results_dir>/training/)."""
    out_dir = Path(results_dir) / FIGURES
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = [genppl_figure(records, out_dir / "genppl_vs_steps.png"),
             bleu_figure(records, out_dir / "bleu_vs_steps.png"),
             learning_curve_figure(Path(results_dir) / TRAINING, out_dir / "idlm_learning_curves.png"),
             *frontier_figure(records, out_dir)]
    return [path for path in paths if path is not None]
