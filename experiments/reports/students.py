"""Distilled students (IDLM, SDTT, Duo-DCD) beside their controls, from the rows (never from typed numbers).

A distillation claim is a comparison: the student at K steps against (a) the teacher at K, (b) the teacher at K at
the temperature whose entropy matches the student's (lower entropy buys lower GenPPL for free), and (c) the teacher at
1024 steps, each with its 95% interval. `comparison_lines` writes that table for results/README.md; experiments/reports/figures.py
draws the matching figures (GenPPL against entropy per family, and the learning curves).
"""
from __future__ import annotations

from experiments.methods import METHODS
from experiments.reports.kinds import MATCHED, predictor

REFERENCE_STEPS = 1024
# the methods whose rows are a distilled student, each beside its controls
STUDENT_METHODS = tuple(name for name, spec in METHODS.items() if spec.student_rows)


def _key(record: dict) -> tuple:
    return record["teacher"], record.get("corpus"), predictor(record)


def _ppl(record: dict | None) -> str:
    if record is None:
        return "–"
    m = record["metrics"]
    ci = m.get("gen_ppl_ci95")
    interval = f" [{ci[0]:.2f}, {ci[1]:.2f}]" if ci else ""
    mauve = f" / MAUVE {m['mauve']:.3f}" if m.get("mauve") is not None else ""
    return f"{m['gen_ppl']:.2f}{interval} / {m['entropy']:.3f}{mauve}"


def controls(records: list[dict]) -> list[dict]:
    """One entry per student row: the student and its three controls (None where a control row is missing)."""
    teachers = {(_key(r), r["steps"]): r for r in records
                if r["method"] == "sample" and "task" not in r and r.get("temperature", 1.0) == 1.0}
    matched = {r.get("matched_to"): r for r in records if r["method"] == MATCHED}
    out = []
    for r in sorted((r for r in records if r["method"] in STUDENT_METHODS),
                    key=lambda r: (_key(r), r["steps"], r["method"], r.get("temperature", 1.0))):
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
    lines = ["## Distilled students and their controls", "",
             "GenPPL [95% interval] / unigram entropy (nats) [/ MAUVE against held-out text, where scored]. *matched*: the teacher at the same K at the temperature "
             "T* whose samples have the student's entropy. *beats*: the student's interval lies wholly below the "
             "control's. *÷ 1024*: student GenPPL ÷ the teacher's at 1024 steps; *H ratio*: student entropy ÷ the "
             "teacher's at 1024 steps.", "",
             "| teacher | sampler | K | method | T | student | teacher at K | matched teacher (T*) | teacher at 1024 | "
             "÷ 1024 | H ratio | beats teacher at K | beats matched | distil step |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for e in entries:
        s, ref, m = e["student"], e["reference"], e["matched"]
        ratio = f"{s['metrics']['gen_ppl'] / ref['metrics']['gen_ppl']:.3f}" if ref else "–"
        h_ratio = f"{s['metrics']['entropy'] / ref['metrics']['entropy']:.3f}" if ref else "–"
        matched = f"{_ppl(m)} (T* {m['temperature']:.3f})" if m else "–"
        lines.append(f"| {s['teacher']} | {predictor(s)} | {s['steps']} | {s['method']} | "
                     f"{s.get('temperature', 1.0):g} | {_ppl(s)} | {_ppl(e['teacher'])} | "
                     f"{matched} | {_ppl(ref)} | {ratio} | {h_ratio} | {beats(s, e['teacher'])} | {beats(s, m)} | "
                     f"{s.get('distill_step', '–')} |")
    return lines + [""]
