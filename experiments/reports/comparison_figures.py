"""The comparison figures, from the same rows as the tables (never from typed numbers), in results/figures/:

* genppl_vs_steps_<corpus>.png: GenPPL (log) and entropy against steps (log 2), one curve per method (the table's
  temperature-1 rows), held-out text dashed;
* frontier_<corpus>.png: GenPPL against entropy, one panel per teacher family, every row of every sweep of each
  method as a point and the method's frontier (points no other point of it beats in both GenPPL and entropy) as a
  line; the common entropy H* of the table as a vertical line;
* pareto.png: quality against seconds per sample (log), one panel per corpus (GenPPL, lower is better) and per task
  (BLEU, higher is better), each method's rows as points and the front over all methods as a dashed line;
* targets_<corpus>.png: each few-step student row's GenPPL ÷ its teacher's 1024-step frontier against its steps,
  beside the targets (experiments/reports/targets.py);
* quality_vs_compute.png: each distillation's learning curve (<results>/training/*.log.jsonl) as its validation
  GenPPL divided by the teacher's frontier at K (its temperature sweep at the validation's steps, read off at the
  validation's entropy) against the sequence passes spent (core/cost.py), one curve per run; below 1 beats the
  teacher at every temperature. Curves logged before passes were counted, or without a sweep, are left out.
"""
from __future__ import annotations

import json
import re
from collections import defaultdict
from pathlib import Path

from core.evaluate.temperature_match import frontier_ratio
from experiments.methods import DISCRETE_TEACHERS
from experiments.reports import seq2seq, targets, unconditional
from experiments.reports.figures import genppl_figure, plt, save_figure


def _front(points: list[tuple[float, float]], lower_is_better: bool) -> list[tuple[float, float]]:
    """The points that no other beats on both axes: larger x is better for entropy, smaller x for seconds; the caller
    orders x so that the first point is the best on x (sorted by `key`)."""
    front, best = [], None
    for x, y in points:
        if best is None or (y < best if lower_is_better else y > best):
            front.append((x, y))
            best = y
    return front


def _panels(n: int, width: float, height: float) -> tuple:
    """A figure with n panels, two to a row, the spare cell of an odd count hidden; (figure, the n axes)."""
    columns = min(n, 2)
    rows = -(-n // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(width * columns, height * rows), squeeze=False)
    flat = list(axes.flat)
    for spare in flat[n:]:
        spare.set_visible(False)
    return fig, flat[:n]


def frontier_figure(corpus: str, rows: list[dict], target: float | None, out: Path) -> Path | None:
    by_family = defaultdict(lambda: defaultdict(list))
    for r in rows:
        if r["method"] != "real_text" and r["metrics"].get("entropy") is not None and r["metrics"].get("gen_ppl"):
            label = unconditional.method_label(r)
            by_family[r.get("teacher", "?")][label].append((r["metrics"]["entropy"], r["metrics"]["gen_ppl"]))
    if not by_family:
        return None
    fig, axes = _panels(len(by_family), 6, 4.5)
    for ax, (family, methods) in zip(axes, sorted(by_family.items())):
        for label, points in sorted(methods.items()):
            dots = ax.scatter(*zip(*points), s=12, alpha=0.5)
            front = _front(sorted(points, key=lambda p: -p[0]), lower_is_better=True)   # highest entropy first
            ax.plot(*zip(*front), marker="o", ms=4, color=dots.get_facecolor()[0][:3], label=label)
        if target is not None:
            ax.axvline(target, color="k", ls="--", lw=1, label=f"H* = {target:.3f} (held-out text)")
        ax.set(xlabel="unigram entropy (nats)", ylabel="GenPPL ↓", yscale="log", title=f"{corpus}: {family}")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    return save_figure(fig, out)


def pareto_figure(by_corpus: dict[str, list[dict]], by_task: dict[str, list[dict]], out: Path) -> Path | None:
    """by_corpus / by_task: the rows the tables show. Yardsticks that take no time (held-out text, copying the
    source) are horizontal lines."""
    panels = [(f"{c}: GenPPL ↓", rows, True) for c, rows in by_corpus.items()]
    panels += [(f"{t}: BLEU ↑", rows, False) for t, rows in by_task.items()]
    if not panels:
        return None
    fig, axes = _panels(len(panels), 6, 4.5)
    for ax, (title, rows, lower_is_better) in zip(axes, panels):
        methods = defaultdict(list)
        for r in rows:
            quality = r["metrics"]["gen_ppl"] if lower_is_better else seq2seq.selection_metrics(r)["bleu"]
            if r["seconds_per_sample"] <= 0:
                ax.axhline(quality, color="gray", ls="--", lw=1, label=_pareto_label(r))
            else:
                methods[_pareto_label(r)].append((r["seconds_per_sample"], quality))
        for label, points in sorted(methods.items()):
            ax.scatter(*zip(*points), s=18, label=label)
        everything = sorted((p for points in methods.values() for p in points), key=lambda p: p[0])
        if everything:
            ax.plot(*zip(*_front(everything, lower_is_better)), color="k", ls="--", lw=1, drawstyle="steps-post",
                    label="front")
        ax.set(xlabel="seconds per sample (log)", xscale="log", ylabel=title.split(": ")[1], title=title)
        if lower_is_better:
            ax.set_yscale("log")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=6)
    return save_figure(fig, out)


def _pareto_label(record: dict) -> str:
    if "task" not in record:
        return unconditional.method_label(record)
    label = seq2seq.row_label(record)
    return label.split(",")[0] + (f", MBR-{record['candidates']}" if record.get("candidates", 1) > 1 else "")


def compute_curves(records: list[dict], training_dir: Path) -> dict[str, list[tuple[float, float]]]:
    """Per learning curve: (million sequence passes, validation GenPPL ÷ the teacher's frontier at K) points."""
    curves = {}
    for log in sorted(training_dir.glob("*.log.jsonl")):
        points = [json.loads(line) for line in log.read_text().splitlines() if line.strip()]
        points = [p for p in points if "sequence_passes" in p and "val/gen_ppl" in p and "val/steps" in p]
        if not points:
            continue
        # <method>[-<variant>]-<teacher>-...: the first part that names a discrete teacher
        teacher = next((part for part in log.name.split("-")[1:] if part in DISCRETE_TEACHERS), None)
        # the teacher's rows at the validation's steps and sampler, at every temperature (any other variant part is
        # another seed or data); a log from before validation recorded its sampler used the default one
        predictor = points[0].get("val/predictor", "default")
        variant = "" if predictor == "default" else f"-{predictor}"
        sweep = [r for r in records if r["method"] == "sample" and r.get("teacher") == teacher
                 and re.sub(r"-T[0-9.]+", "", r.get("variant") or "") == variant
                 and r["steps"] == points[0]["val/steps"] and r["metrics"].get("gen_ppl")]
        if not sweep:
            continue
        ratios = [(p["sequence_passes"] / 1e6, frontier_ratio(p["val/gen_ppl"], p["val/entropy"], sweep)["ratio"])
                  for p in points]
        ratios = [(x, y) for x, y in ratios if y is not None]
        if ratios:
            curves[log.name.removesuffix(".log.jsonl")] = ratios
    return curves


def compute_figure(records: list[dict], training_dir: Path, out: Path) -> Path | None:
    curves = compute_curves(records, training_dir)
    if not curves:
        return None
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for name, ratios in curves.items():
        ax.plot(*zip(*ratios), marker=".", label=name)
    ax.axhline(1.0, color="k", lw=1, ls="--")
    ax.set(xlabel="training compute (million sequence passes)", ylabel="validation GenPPL ÷ teacher frontier at K",
           title="Quality at matched entropy against training compute")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    return save_figure(fig, out)


BOUND_MARKERS = {"=": "o", "≥": "^", "≤": "v"}   # an exact ratio, a lower bound, an upper bound


def targets_figure(corpus: str, entries: list[dict], out: Path) -> Path | None:
    """Each student row's GenPPL ÷ the teacher@1024 frontier against its steps (reports.targets' entries), one
    colour per method, bounds as triangles pointing the way the true ratio lies; the targets as black bars."""
    entries = [e for e in entries if e["ratio"] is not None]
    if not entries:
        return None
    fig, ax = plt.subplots(figsize=(7, 4.5))
    by_label = defaultdict(list)
    for e in entries:
        by_label[unconditional.method_label(e["record"])].append(e)
    for i, (label, group) in enumerate(sorted(by_label.items())):
        colour = plt.get_cmap("tab20")(i % 20)   # more methods than the default cycle's 10 colours
        shift = 1.0 + 0.04 * (i - len(by_label) / 2)   # side by side at each K
        for bound, marker in BOUND_MARKERS.items():
            points = [(e["record"]["steps"] * shift, e["ratio"]) for e in group if e["bound"] == bound]
            if points:
                ax.scatter(*zip(*points), marker=marker, color=colour, s=28,
                           label=label if bound == "=" or not any(x["bound"] == "=" for x in group) else None)
    steps = sorted(targets.FRONTIER_TARGETS)
    ax.plot(steps, [targets.FRONTIER_TARGETS[k] for k in steps], color="k", marker="_", ms=22, mew=2, ls="--",
            lw=1, label="target")
    ax.set(xscale="log", yscale="log", xlabel="steps K", ylabel="GenPPL ÷ teacher@1024 frontier ↓",
           title=f"{corpus}: distance to the few-step targets (▲ at least, ▼ at most)")
    ax.set_xticks(steps, [str(k) for k in steps])
    ax.grid(alpha=0.3)
    ax.legend(fontsize=6)
    return save_figure(fig, out)


def comparison_figures(records: list[dict], out_dir: Path, training_dir: Path | None = None) -> list[Path]:
    """Every figure above the rows support, written into `out_dir` (bleu_vs_steps.png is reports.figures')."""
    shown_by_corpus, written = {}, []
    for corpus, rows in unconditional.unconditional_records(records).items():
        target, _ = unconditional.matched_entropy(rows)
        shown = [e["record"] for e in unconditional.table_rows(rows, target)]
        shown_by_corpus[corpus] = shown
        written.append(genppl_figure(shown, out_dir / f"genppl_vs_steps_{corpus}.png",
                                     curve_name=unconditional.method_label))
        written.append(frontier_figure(corpus, rows, target, out_dir / f"frontier_{corpus}.png"))
        written.append(targets_figure(corpus, targets.target_entries(rows), out_dir / f"targets_{corpus}.png"))
    by_task = {task: [e["record"] for e in seq2seq.table_rows(rows)]
               for task, rows in seq2seq.seq2seq_records(records).items()}
    written.append(pareto_figure(shown_by_corpus, by_task, out_dir / "pareto.png"))
    if training_dir is not None:
        written.append(compute_figure(records, training_dir, out_dir / "quality_vs_compute.png"))
    return [path for path in written if path is not None]
