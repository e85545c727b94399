"""Figures from results/*.json (never from typed numbers).

    python -m experiments.plots [--results-dir results]

Writes results/genppl_vs_steps.png (discrete teachers at temperature 1, with the held-out-text line) and
results/bleu_vs_steps.png (DiffuSeq per task, single sample and MBR), with 95% bootstrap error bars where the
rows have them; the shapes of the MDLM/Duo and DLM-One
(Figure 3) plots that show the few-step gap distillation has to close. For IDLM: results/idlm_frontier_<family>.png
(GenPPL against entropy, see experiments/idlm_report.py) and results/idlm_learning_curves.png.
"""
from __future__ import annotations

import argparse
from collections import defaultdict
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from core.evaluate.results import load_results  # noqa: E402
from core.paths import RESULTS_DIR  # noqa: E402
from experiments.idlm_report import frontier_figure, learning_curve_figure, predictor  # noqa: E402


def plot_curve(ax, points, label: str) -> None:
    """points: (steps, value, interval or None); the line, plus a 95% error bar where the row has an interval."""
    points = sorted(points, key=lambda p: p[0])
    line, = ax.plot([p[0] for p in points], [p[1] for p in points], marker="o", label=label)
    with_ci = [p for p in points if p[2]]
    if with_ci:
        ax.errorbar([p[0] for p in with_ci], [p[1] for p in with_ci], fmt="none", ecolor=line.get_color(), capsize=3,
                    yerr=[[p[1] - p[2][0] for p in with_ci], [p[2][1] - p[1] for p in with_ci]])


def genppl_figure(records: list[dict], out: Path) -> Path | None:
    curves = defaultdict(list)
    real = [r for r in records if r["method"] == "real_text"]
    for r in records:
        if r["method"] == "teacher" and "task" not in r and r.get("temperature", 1.0) == 1.0 \
                and predictor(r) == "default":
            m = r["metrics"]
            curves[f"{r['teacher']} ({r.get('corpus', '?')})"].append(
                (r["steps"], m["gen_ppl"], m.get("gen_ppl_ci95"), m["entropy"]))
    if not curves:
        return None
    fig, (ax_ppl, ax_ent) = plt.subplots(1, 2, figsize=(10, 4))
    for name, points in sorted(curves.items()):
        plot_curve(ax_ppl, [p[:3] for p in points], name)
        plot_curve(ax_ent, [(p[0], p[3], None) for p in points], name)
    for r in real:
        ax_ppl.axhline(r["metrics"]["gen_ppl"], color="k", ls="--", lw=1, label=f"held-out text ({r.get('corpus')})")
        ax_ent.axhline(r["metrics"]["entropy"], color="k", ls="--", lw=1)
    for ax, label in ((ax_ppl, "GenPPL (reference evaluator) ↓"), (ax_ent, "unigram entropy (nats)")):
        ax.set_xscale("log", base=2)
        ax.set_xlabel("sampling steps")
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
    ax_ppl.set_yscale("log")
    ax_ppl.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out, dpi=120)
    plt.close(fig)
    return out


def bleu_figure(records: list[dict], out: Path) -> Path | None:
    curves = defaultdict(list)
    for r in records:
        if "task" in r and r["method"] == "teacher":
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
        ax.set_xscale("log")
        ax.set_xlabel("sampling steps")
        ax.set_ylabel("BLEU (DiffuSeq sentence BLEU) ↑")
        ax.set_title(task)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out, dpi=120)
    plt.close(fig)
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results-dir", type=Path, default=RESULTS_DIR)
    args = parser.parse_args(argv)
    records = load_results(args.results_dir)
    paths = [genppl_figure(records, args.results_dir / "genppl_vs_steps.png"),
             bleu_figure(records, args.results_dir / "bleu_vs_steps.png"),
             learning_curve_figure(args.results_dir / "training", plt, args.results_dir / "idlm_learning_curves.png"),
             *frontier_figure(records, plt, args.results_dir)]
    for path in paths:
        if path:
            print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
