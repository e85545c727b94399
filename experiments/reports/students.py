"""Distilled students (IDLM, SDTT, Duo-DCD) beside their controls, from the rows (never from typed numbers).

A distillation claim is a comparison: the student at K steps against (a) the teacher at K, (b) the teacher at K at
the temperature whose entropy matches the student's (lower entropy buys lower GenPPL for free), and (c) the teacher at
1024 steps, each with its 95% interval. `comparison_lines` writes that table for results/README.md; experiments/reports/figures.py
draws the matching figures (GenPPL against entropy per family, and the learning curves).
"""
from __future__ import annotations

from core.evaluate.temperature_match import frontier_ratio
from experiments.methods import METHODS
from experiments.reports.kinds import MATCHED, SAMPLE_METHODS, predictor
from teachers.registry import ONE_STEP_PREDICTORS

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


def sweep_rows(student: dict, records: list[dict], steps: int) -> list[dict]:
    """The teacher rows a student row is read against at `steps` (experiments.controls.teacher_sweep's settings):
    the same teacher weights, sampler, float64 sampling, evaluator and seed, with at least the student's samples;
    one row per temperature (the one with most samples), entropy-matched controls included (they are teacher rows
    at their T*)."""
    # a one-step sampler (Duo's latent) controls the student at K = 1; the many-step sweep is the teacher's own
    wanted = "default" if steps > 1 and predictor(student) in ONE_STEP_PREDICTORS else predictor(student)
    by_temperature = {}
    for r in records:
        if (r["method"] in SAMPLE_METHODS and r["steps"] == steps and predictor(r) == wanted
                and r["metrics"].get("gen_ppl") and r["metrics"].get("entropy") is not None
                and r.get("n_samples", 0) >= student.get("n_samples", 0)
                and all(r.get(k) == student.get(k) for k in ("teacher", "teacher_path", "float64_sampling",
                                                              "evaluator", "seed"))):
            t = r.get("temperature", 1.0)
            if t not in by_temperature or r["n_samples"] > by_temperature[t]["n_samples"]:
                by_temperature[t] = r
    return [by_temperature[t] for t in sorted(by_temperature)]


def frontier_ratios(student: dict, records: list[dict]) -> dict:
    """{"teacher_1024": ..., "teacher_at_K": ...}: the student's GenPPL ÷ its teacher's temperature sweep at 1024
    steps and at its own K, read off at its entropy (core.evaluate.temperature_match.frontier_ratio) from every
    committed row of that sweep, so a teacher row added later at another temperature fills a ratio its sweep could
    not bracket when the student's row was made. Where the rows do not bracket it, the row's own record."""
    stored, m = student.get("frontier") or {}, student["metrics"]
    out = {}
    for name, steps in (("teacher_1024", REFERENCE_STEPS), ("teacher_at_K", student["steps"])):
        sweep = sweep_rows(student, records, steps)
        found = frontier_ratio(m["gen_ppl"], m["entropy"], sweep) if sweep else {"ratio": None}
        out[name] = found if found["ratio"] is not None else stored.get(name) or found
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
