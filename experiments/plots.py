"""Figures from results/*.json (never from typed numbers).

    python -m experiments.plots [--results-dir results]

Writes results/genppl_vs_steps.png (discrete teachers at temperature 1, with the held-out-text line) and
results/bleu_vs_steps.png (DiffuSeq per task, single sample and MBR), the shapes of the MDLM/Duo and DLM-One
(Figure 3) plots that show the few-step gap distillation has to close.
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


def genppl_figure(records: list[dict], out: Path) -> Path | None:
    curves = defaultdict(list)
    real = [r for r in records if r["method"] == "real_text"]
    for r in records:
        if r["method"] == "teacher" and "task" not in r and r.get("temperature", 1.0) == 1.0:
            curves[f"{r['teacher']} ({r.get('corpus', '?')})"].append((r["steps"], r["metrics"]["gen_ppl"], r["metrics"]["entropy"]))
    if not curves:
        return None
    fig, (ax_ppl, ax_ent) = plt.subplots(1, 2, figsize=(10, 4))
    for name, points in sorted(curves.items()):
        points.sort()
        steps = [p[0] for p in points]
        ax_ppl.plot(steps, [p[1] for p in points], marker="o", label=name)
        ax_ent.plot(steps, [p[2] for p in points], marker="o", label=name)
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
            curves[(r["task"], "single")].append((r["steps"], r["metrics"]["single"]["bleu"]))
            if "mbr" in r["metrics"]:
                curves[(r["task"], f"MBR-{r.get('candidates')}")].append((r["steps"], r["metrics"]["mbr"]["bleu"]))
    if not curves:
        return None
    fig, ax = plt.subplots(figsize=(5.5, 4))
    for (task, kind), points in sorted(curves.items()):
        points = sorted(dict(points).items())
        ax.plot([p[0] for p in points], [p[1] for p in points], marker="o", label=f"DiffuSeq {task} ({kind})")
    for r in records:
        if "task" in r and r["method"] == "copy_source":
            ax.axhline(r["metrics"]["single"]["bleu"], ls="--", lw=1, color="gray")
            ax.annotate(f"copy source ({r['task']})", (1, r["metrics"]["single"]["bleu"]), fontsize=7,
                        xytext=(2, 2), textcoords="offset points")
    ax.set_xscale("log")
    ax.set_xlabel("sampling steps")
    ax.set_ylabel("BLEU (DiffuSeq sentence BLEU) ↑")
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
    for path in (genppl_figure(records, args.results_dir / "genppl_vs_steps.png"),
                 bleu_figure(records, args.results_dir / "bleu_vs_steps.png")):
        if path:
            print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
