"""IDLM students beside their controls, from results/*.json and the distillation logs (never from typed numbers).

A distillation claim is a comparison: the student at K steps against (a) the teacher at K, (b) the teacher at K at
the temperature whose entropy matches the student's (lower entropy buys lower GenPPL for free), and (c) the teacher at
1024 steps, each with its 95% interval. `comparison_lines` writes that table for results/README.md; `figures` draws
GenPPL against entropy per family (every teacher row at K and 1024, any temperature; the students marked) and the
learning curves (validation GenPPL and entropy against distillation step) from results/training/idlm-*.log.jsonl.
"""
from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

REFERENCE_STEPS = 1024
MATCHED = "teacher (entropy-matched)"


def predictor(record: dict) -> str:
    return record.get("predictor", "default")


def _key(record: dict) -> tuple:
    return record["teacher"], record.get("corpus"), predictor(record)


def _ppl(record: dict | None) -> str:
    if record is None:
        return "–"
    m = record["metrics"]
    ci = m.get("gen_ppl_ci95")
    interval = f" [{ci[0]:.2f}, {ci[1]:.2f}]" if ci else ""
    return f"{m['gen_ppl']:.2f}{interval} / {m['entropy']:.3f}"


def controls(records: list[dict]) -> list[dict]:
    """One entry per student row: the student and its three controls (None where a control row is missing)."""
    teachers = {(_key(r), r["steps"]): r for r in records
                if r["method"] == "teacher" and "task" not in r and r.get("temperature", 1.0) == 1.0}
    matched = {r.get("matched_to"): r for r in records if r["method"] == MATCHED}
    out = []
    for r in sorted((r for r in records if r["method"] == "idlm"),
                    key=lambda r: (_key(r), r["steps"], r.get("temperature", 1.0))):
        out.append({"student": r, "teacher": teachers.get((_key(r), r["steps"])),
                    "matched": matched.get(r["_file"]), "reference": teachers.get((_key(r), REFERENCE_STEPS))})
    return out


def beats(a: dict | None, b: dict | None) -> str:
    """"yes" when a's GenPPL interval lies wholly below b's, "no" when it overlaps or lies above."""
    if a is None or b is None or not a["metrics"].get("gen_ppl_ci95") or not b["metrics"].get("gen_ppl_ci95"):
        return "–"
    return "yes" if a["metrics"]["gen_ppl_ci95"][1] < b["metrics"]["gen_ppl_ci95"][0] else "no"


def comparison_lines(records: list[dict]) -> list[str]:
    entries = controls(records)
    if not entries:
        return []
    lines = ["## IDLM students and their controls", "",
             "GenPPL [95% interval] / unigram entropy (nats). *matched*: the teacher at the same K at the temperature "
             "T* whose samples have the student's entropy. *beats*: the student's interval lies wholly below the "
             "control's. *÷ 1024*: student GenPPL ÷ the teacher's at 1024 steps; *H ratio*: student entropy ÷ the "
             "teacher's at 1024 steps.", "",
             "| teacher | sampler | K | T | student | teacher at K | matched teacher (T*) | teacher at 1024 | ÷ 1024 | "
             "H ratio | beats teacher at K | beats matched | distil step |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for e in entries:
        s, ref, m = e["student"], e["reference"], e["matched"]
        ratio = f"{s['metrics']['gen_ppl'] / ref['metrics']['gen_ppl']:.3f}" if ref else "–"
        h_ratio = f"{s['metrics']['entropy'] / ref['metrics']['entropy']:.3f}" if ref else "–"
        matched = f"{_ppl(m)} (T* {m['temperature']:.3f})" if m else "–"
        lines.append(f"| {s['teacher']} | {predictor(s)} | {s['steps']} | {s.get('temperature', 1.0):g} | {_ppl(s)} | {_ppl(e['teacher'])} | "
                     f"{matched} | {_ppl(ref)} | {ratio} | {h_ratio} | {beats(s, e['teacher'])} | {beats(s, m)} | "
                     f"{s.get('distill_step', '–')} |")
    return lines + [""]


def frontier_figure(records: list[dict], plt, out_dir: Path) -> list[Path]:
    """GenPPL against entropy per family: teacher rows (every temperature, K of any student and 1024) and students."""
    students = defaultdict(list)
    for r in records:
        if r["method"] == "idlm":
            students[r["teacher"]].append(r)
    written = []
    for family, rows in sorted(students.items()):
        steps = {r["steps"] for r in rows} | {REFERENCE_STEPS}
        teacher_rows = [r for r in records if r["method"] in ("teacher", MATCHED) and r.get("teacher") == family
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
        ax.set_title(f"{family}: GenPPL against entropy (teacher temperatures, students)")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
        fig.tight_layout()
        path = out_dir / f"idlm_frontier_{family}.png"
        fig.savefig(path, dpi=120)
        plt.close(fig)
        written.append(path)
    return written


def learning_curve_figure(training_dir: Path, plt, out: Path) -> Path | None:
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
    for ax, label in ((ax_ppl, "validation GenPPL ↓"), (ax_ent, "validation unigram entropy (nats)")):
        ax.set_xlabel("generator updates")
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
    ax_ppl.set_yscale("log")
    ax_ppl.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out, dpi=120)
    plt.close(fig)
    return out
