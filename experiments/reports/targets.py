"""How far the few-step discrete students are from the project's quality targets, read off the rows.

The target at K steps bounds a student's GenPPL ÷ its teacher's 1024-step temperature frontier at the student's own
entropy (experiments/reports/students.py:frontier_ratios, from every committed row of that sweep):

    K = 8: ≤ 1.00 (at entropy ≥ 0.97 × the teacher's at 1024 steps)   K = 4: ≤ 1.3   K = 2: ≤ 2.0   K = 1: ≤ 3.0

A student whose entropy lies outside the sweep's range has no ratio, but a bound when the sweep's GenPPL rises with
its entropy at every temperature (as in every sweep of the rows): below the range, the frontier at the student's
entropy is at most the sweep's lowest-entropy GenPPL, so the ratio is at least the student's GenPPL ÷ that ("≥");
above the range, at most the student's ÷ the highest-entropy GenPPL ("≤"). Nothing is extrapolated further.

The speed target asks a student of at most two steps to be faster than the KV-cached AR of its size at batch 32 (one
run of `experiments.benchmark_speed`), with its GenPPL and distribution metric beside the AR's read off at the
student's entropy (the AR's temperature sweep: its rows at top-p 1).
"""
from __future__ import annotations

import re

from core.evaluate.temperature_match import genppl_at_entropy
from experiments.reports.kinds import predictor
from experiments.reports.markdown import cell, verdict
from experiments.reports.students import REFERENCE_STEPS, STUDENT_METHODS, frontier_ratios, sweep_rows
from experiments.reports.unconditional import group_of, unconditional_records

FRONTIER_TARGETS = {8: 1.0, 4: 1.3, 2: 2.0, 1: 3.0}   # steps -> largest GenPPL ÷ teacher@1024 frontier
ENTROPY_TARGETS = {8: 0.97}                           # steps -> least entropy ÷ the teacher's at 1024 steps, T = 1


def frontier_distance(student: dict, rows: list[dict]) -> dict:
    """{"ratio": float | None, "bound": "=" | "≥" | "≤" | None}: the student's GenPPL ÷ the teacher@1024 frontier at
    its entropy, or the bound of the module docstring when the sweep does not bracket that entropy."""
    found = frontier_ratios(student, rows)["teacher_1024"]
    if found.get("ratio") is not None:
        return {"ratio": found["ratio"], "bound": "="}
    points = sorted((r["metrics"]["entropy"], r["metrics"]["gen_ppl"])
                    for r in sweep_rows(student, rows, REFERENCE_STEPS))
    rising = len(points) >= 2 and all(a[1] < b[1] for a, b in zip(points, points[1:]))
    gen_ppl, entropy = student["metrics"]["gen_ppl"], student["metrics"]["entropy"]
    if rising and entropy < points[0][0]:
        return {"ratio": gen_ppl / points[0][1], "bound": "≥"}
    if rising and entropy > points[-1][0]:
        return {"ratio": gen_ppl / points[-1][1], "bound": "≤"}
    return {"ratio": None, "bound": None}


def entropy_ratio(student: dict, rows: list[dict]) -> float | None:
    """The student's entropy ÷ its teacher's at 1024 steps and T = 1 (None without that row)."""
    sweep = sweep_rows(student, rows, REFERENCE_STEPS) or sweep_rows({**student, "predictor": "default"}, rows,
                                                                      REFERENCE_STEPS)   # a student-only sampler (RGAS)
    at_one = [r for r in sweep if r.get("temperature", 1.0) == 1.0]
    return student["metrics"]["entropy"] / at_one[0]["metrics"]["entropy"] if at_one else None


def meets(distance: dict, target: float, entropy: float | None = None, least_entropy: float | None = None) -> bool | None:
    """True / False when the ratio or its bound (and, where the target asks, the entropy ratio) settle the target,
    None when they cannot."""
    ratio, bound = distance["ratio"], distance["bound"]
    if least_entropy is not None and entropy is not None and entropy < least_entropy:
        return False
    if ratio is None or (least_entropy is not None and entropy is None):
        return None
    if bound == "=":
        return ratio <= target
    if bound == "≥":
        return False if ratio > target else None
    return True if ratio <= target else None


def target_entries(rows: list[dict]) -> list[dict]:
    """Every student row of one corpus at a target's step count (temperature 1, not a control), with its distance
    and verdict, ordered by steps (most first) and then by distance (bounds after exact ratios)."""
    entries = []
    for r in rows:
        if (r["method"] in STUDENT_METHODS and r["steps"] in FRONTIER_TARGETS and r.get("temperature", 1.0) == 1.0
                and r["metrics"].get("gen_ppl")):
            distance, h_ratio = frontier_distance(r, rows), entropy_ratio(r, rows)
            target, least = FRONTIER_TARGETS[r["steps"]], ENTROPY_TARGETS.get(r["steps"])
            entries.append({"record": r, "group": group_of(r), **distance, "entropy_ratio": h_ratio,
                            "target": target, "least_entropy": least, "met": meets(distance, target, h_ratio, least)})
    return sorted(entries, key=lambda e: (-e["record"]["steps"], e["ratio"] is None, e["bound"] != "=",
                                          e["ratio"] or 0.0, e["record"]["_file"]))


def target_lines(records: list[dict], benchmarks: dict[str, dict] | None = None) -> list[str]:
    """results/README.md's section: per corpus, the best student at each target's K, every student row, and the
    speed target from the benchmark record (experiments.reports.seq2seq.load_benchmarks) that timed the AR."""
    benchmark = next((b for b in (benchmarks or {}).values()
                      if any(r["name"] == AR_BENCHMARK for r in b.get("rows", []))), None)
    lines = []
    for corpus, rows in unconditional_records(records).items():
        entries = target_entries(rows)
        if not entries:
            continue
        lines += [f"## Few-step targets, {corpus}", "",
                  "A student's GenPPL ÷ its teacher's temperature frontier at 1024 steps, read off at the student's "
                  "entropy, against the target at its K (≥ / ≤: a bound where the student's entropy lies outside "
                  "the teacher's sweep; experiments/reports/targets.py). The figure `targets_"
                  f"{corpus}.png` draws the same.", "",
                  "| K | target | best row | ÷ frontier 1024 | verdict | rows at K | met at K |", "|---|---|---|---|---|---|---|"]
        for steps in FRONTIER_TARGETS:
            at_k = [e for e in entries if e["record"]["steps"] == steps]
            if at_k:
                best = next((e for e in at_k if e["met"]), at_k[0])   # a row that meets it, else the closest
                lines.append(f"| {steps} | {_target_cell(best)} | {best['record']['_file']} | {_ratio_cell(best)} | "
                             f"{verdict(best['met'])} | {len(at_k)} | {sum(e['met'] is True for e in at_k)} |")
        lines += ["", "| K | group | teacher | sampler | GenPPL | entropy | H ÷ teacher@1024 | ÷ frontier 1024 | "
                  "target | verdict | row |", "|---|---|---|---|---|---|---|---|---|---|---|"]
        for e in entries:
            r = e["record"]
            lines.append(f"| {r['steps']} | {e['group']} | {r['teacher']} | {predictor(r)} | "
                         f"{cell(r['metrics']['gen_ppl'])} | {cell(r['metrics']['entropy'])} | "
                         f"{cell(e['entropy_ratio'])} | {_ratio_cell(e)} | {_target_cell(e)} | "
                         f"{verdict(e['met'])} | {r['_file']} |")
        lines.append("")
        speed = speed_lines(rows, benchmark)
        if speed:
            lines += [f"Students of at most two steps against the KV-cached AR of their size (`{benchmark['command']}` "
                      f"at `{benchmark['commit'][:7]}`; target: faster at batch 32), with quality beside the AR's "
                      "at the student's entropy:", "", *speed, ""]
    return lines


def _ratio_cell(entry: dict) -> str:
    if entry["ratio"] is None:
        return "–"
    return ("" if entry["bound"] == "=" else f"{entry['bound']} ") + f"{entry['ratio']:.3g}"


def _target_cell(entry: dict) -> str:
    least = f", H ÷ teacher@1024 ≥ {entry['least_entropy']:g}" if entry["least_entropy"] is not None else ""
    return f"≤ {entry['target']:g}{least}"


# the benchmark's names of the few-step students (experiments/benchmark_speed.py:unconditional_samplers)
BENCHMARKED_STUDENT = re.compile(r"idlm-(?P<teacher>\w+)-student-(?:(?P<predictor>latent)-)?(?P<steps>\d+)steps?")
SPEED_BATCH = 32
AR_BENCHMARK = "ar_lm-kv-cache"


def ar_sweep(rows: list[dict]) -> list[dict]:
    """The AR baseline's rows at top-p 1, one per temperature (most samples)."""
    by_temperature = {}
    for r in rows:
        if r.get("teacher") == "ar_lm" and r.get("top_p", 1.0) == 1.0 and r["metrics"].get("gen_ppl"):
            t = r.get("temperature", 1.0)
            if t not in by_temperature or r["n_samples"] > by_temperature[t]["n_samples"]:
                by_temperature[t] = r
    return [by_temperature[t] for t in sorted(by_temperature)]


def speed_lines(rows: list[dict], benchmark: dict | None) -> list[str]:
    """Each benchmarked student of at most two steps: its speed-up over the KV-cached AR at batch 32, its row's GenPPL
    and MAUVE (AR), and the AR's read off at the same entropy (the MAUVE of the two AR rows that bracket it)."""
    timed = {(r["name"], r["batch_size"]): r for r in (benchmark or {}).get("rows", [])}
    ar_time = timed.get((AR_BENCHMARK, SPEED_BATCH))
    if ar_time is None:
        return []
    sweep = ar_sweep(rows)
    lines = ["| student | speed-up vs AR (batch 32) | GenPPL | entropy | MAUVE (AR) | AR GenPPL at that entropy | "
             "AR MAUVE (AR) of the bracketing rows | row |", "|---|---|---|---|---|---|---|---|"]
    for (name, batch), timing in sorted(timed.items()):
        found = BENCHMARKED_STUDENT.fullmatch(name)
        if batch != SPEED_BATCH or not found or int(found["steps"]) > 2:
            continue
        steps, wanted = int(found["steps"]), found["predictor"] or "default"
        # the committed student the benchmark loads (checkpoints/idlm-<teacher>-shakespeare-small)
        row = next((r for r in sorted(rows, key=lambda r: r["_file"]) if r["method"] == "idlm"
                    and r.get("teacher") == found["teacher"] and r["steps"] == steps and predictor(r) == wanted
                    and r.get("student_path") == f"checkpoints/idlm-{found['teacher']}-shakespeare-small"), None)
        speedup = ar_time["seconds_per_sample"] / timing["seconds_per_sample"]
        if row is None:
            lines.append(f"| {name} | {speedup:.3g}× | – | – | – | – | – | – |")
            continue
        m = row["metrics"]
        points = [(r.get("temperature", 1.0), r["metrics"]["entropy"], r["metrics"]["gen_ppl"]) for r in sweep]
        at = genppl_at_entropy(points, m["entropy"]) if points else None
        if at:
            ar_ppl = cell(at[0])
        else:   # the AR's sweep does not bracket the student's entropy: say what it covers
            entropies = [p[1] for p in points]
            ar_ppl = f"– (AR entropies {cell(min(entropies))}–{cell(max(entropies))})" if points else "–"
        ar_mauve = " / ".join(f"{cell(sweep[i]['metrics'].get('mauve_ar'))} (T {sweep[i].get('temperature', 1.0):g})"
                              for i in sorted({at[1], at[2]})) if at else "–"
        lines.append(f"| {name} | {speedup:.3g}× | {cell(m['gen_ppl'])} | {cell(m['entropy'])} | "
                     f"{cell(m.get('mauve_ar'))} | {ar_ppl} | {ar_mauve} | {row['_file']} |")
    return lines if len(lines) > 2 else []
