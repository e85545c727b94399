"""DLM-One's Table 1 layout, one table per task: AR seq2seq, DiffuSeq at 2000 / 10 / 1 steps, DLM-One stage 1 and
2 (one step), then the MBR-k rows of both, with DiffuSeq's metric set, NFE, seconds per sample and the speed-up over
DiffuSeq at 2000 steps (the paper's speed column), from one `experiments.benchmark_speed` run that timed the samplers
in one process (results/benchmarks/speed.json, or speed-<task>.json for another task). The copy-the-source row is
the yardstick. Rows are found by their fields, so AR seq2seq rows (teacher "ar_seq2seq") join when they land.
"""
from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

from core.paths import BENCHMARKS
from experiments.reports.kinds import data_of, is_ar, settings_variant

DIFFUSEQ_STEPS = (2000, 10, 1)
SPEEDUP_STEPS = 2000
DLM_ONE_STAGES = (1, 2)
COPY = ("copy_source_bleu", "output_source_bleu", "avg_len")   # beside BLEU: what copying explains, and length
SCORES = ("rouge_l", "bertscore", "dist1", "self_bleu", "div4")    # the table's metrics after those, in its order


def selection_metrics(record: dict) -> dict:
    """The metrics a seq2seq row is judged by: quality (BLEU and its interval, copy-source BLEU on the same sources,
    BLEU of the output against its source, mean output length in words, ROUGE-L, BERTScore, dist-1) of its
    selection (MBR-k where the row has it, else its single sample), diversity (self-BLEU, div-4) across the k
    candidates of the single-sample read-out, where they are computed."""
    metrics = record["metrics"]
    single = metrics.get("single", {})
    chosen = metrics.get("mbr", single)
    return {"bleu": chosen.get("bleu"), "bleu_ci95": chosen.get("bleu_ci95"), **{k: chosen.get(k) for k in COPY},
            "rouge_l": chosen.get("rouge_l"),
            "bertscore": chosen.get("bertscore"), "dist1": chosen.get("dist1"),
            "self_bleu": single.get("self_bleu"), "div4": single.get("div4")}


def single_teacher_row(record: dict) -> bool:
    """A DiffuSeq teacher row sampled as the teacher tables compare them: one candidate per source, no settings
    variant beyond the teacher folder it names."""
    return (record["method"] == "sample" and "task" in record and not is_ar(record)
            and record.get("candidates", 1) == 1 and not settings_variant(record))


def bleu_ratio(record: dict, base: dict | None) -> float | None:
    """BLEU of `record` ÷ that of `base` when both decoded the same sources (the same sample count), else None."""
    if base is None or base["n_samples"] != record["n_samples"]:
        return None
    return selection_metrics(record)["bleu"] / selection_metrics(base)["bleu"]


def selection_bleus(record: dict) -> list[float]:
    """Per-source sentence BLEU of the row's selection (MBR-k where it has it, else its single sample); [] when the row
    stored none."""
    metrics = record["metrics"]
    return metrics.get("mbr", metrics.get("single", {})).get("sentence_bleu") or []


def uncommitted_student(record: dict) -> str:
    """" (<run folder>)" for a student outside checkpoints/ (<run>/stage<s>/student names its run), else ""."""
    path = record.get("student_path") or "checkpoints/"
    if path.startswith("checkpoints/"):
        return ""
    folder = Path(path)
    return f" ({folder.parent.parent.name if folder.name == 'student' else folder.name})"


def row_label(record: dict) -> str:
    """"DiffuSeq, 10 steps, MBR-10", "DLM-One stage 2, 1 step", "AR seq2seq", ...; a DLM-One row also names its
    [PAD] probability and a student that is not a committed folder (its run folder), and stage 0 (the teacher as
    its own one-step generator) says so."""
    steps = f"{record['steps']} step" + ("s" if record["steps"] != 1 else "")
    mbr = f", MBR-{record['candidates']}" if record.get("candidates", 1) > 1 else ""
    if record["method"] == "copy_source":
        return "copy the source"
    if is_ar(record):
        return "AR seq2seq" + mbr
    if record["method"] == "dlm_one":
        if not record.get("stage"):
            return f"teacher as G (no distillation), t_init {record['t_init']}"
        pad = f", [PAD] p={record['pad_prob']:g}" if record.get("pad_prob") else ""
        return f"DLM-One stage {record['stage']}, {steps}{mbr}{pad}{uncommitted_student(record)}"
    if record["method"] == "sample":
        return f"DiffuSeq, {steps}{mbr}"
    return f"{record['method']}, {steps}{mbr}"


def seq2seq_records(records: list[dict]) -> dict[str, list[dict]]:
    by_task = defaultdict(list)
    for r in records:
        if "task" in r:
            by_task[data_of(r, r["task"])].append(r)
    return dict(sorted(by_task.items()))


def _rank(record: dict) -> tuple | None:
    """Position in the table, None for rows outside the paper's layout (other step counts, [PAD] and stage-0 rows,
    multi-step DLM-One rows)."""
    mbr = record.get("candidates", 1) > 1
    if record["method"] == "copy_source":
        return (0,)
    if is_ar(record):
        return (1 + 5 * mbr, record["steps"])
    if record["method"] == "sample" and record["steps"] in DIFFUSEQ_STEPS:
        return (2 + 5 * mbr, DIFFUSEQ_STEPS.index(record["steps"]))
    if record["method"] == "dlm_one" and record.get("stage") in DLM_ONE_STAGES and record["steps"] == 1 \
            and not record.get("pad_prob"):
        return (3 + 5 * mbr, record["stage"])
    if record["method"] not in ("sample", "dlm_one"):    # a method this table does not know yet: shown after
        return (4 + 5 * mbr, record["method"], record["steps"])
    return None


def load_benchmarks(results_dir: Path) -> dict[str, dict]:
    """The speed benchmarks of <results_dir>/benchmarks/ (`experiments.benchmark_speed`) by seq2seq task:
    speed.json (every sampler, on its `task`) and speed-<task>.json (the seq2seq samplers of another task); a
    speed-<task>.json wins over speed.json for its task. Empty without any."""
    folder, out = Path(results_dir) / BENCHMARKS, {}
    for path in [folder / "speed.json", *sorted(folder.glob("speed-*.json"))]:
        if path.is_file():
            record = json.loads(path.read_text())
            out[record.get("task", "qqp")] = record
    return out


def sampler_times(benchmarks: dict[str, dict] | None, task: str) -> dict | None:
    """Seconds per sample of the seq2seq samplers that one benchmark run timed in one process on `task`'s sources, at
    its largest batch: {"dlm_one", "ar", "diffuseq_per_step", "batch_size", "command", "commit"}; None when it has no
    DiffuSeq timing. Speed-ups come from here, never from the rows' own seconds, which each run measured once at
    whatever load the machine had."""
    benchmark = (benchmarks or {}).get(task)
    if not benchmark or benchmark.get("task", "qqp") != task:
        return None
    batch = max(r["batch_size"] for r in benchmark["rows"])
    by_kind = {r["name"].split("-")[0]: r for r in benchmark["rows"] if r["batch_size"] == batch}
    teacher = by_kind.get("diffuseq")
    if teacher is None:
        return None
    times = {"diffuseq_per_step": teacher["seconds_per_sample"] / teacher["steps"], "batch_size": batch,
             "command": benchmark["command"], "commit": benchmark["commit"]}
    for kind, name in (("dlm_one", "dlm_one"), ("ar", "ar_seq2seq")):
        times[kind] = by_kind[name]["seconds_per_sample"] if name in by_kind else None
    return times


def sampler_seconds(record: dict, times: dict) -> float | None:
    """The benchmark's seconds per sample for the sampler a row used (its method and steps, × its candidates), None
    for one the benchmark did not time. The weights do not change the time, so both DLM-One stages share one."""
    if is_ar(record):
        base = times["ar"]
    elif record["method"] == "sample":
        base = times["diffuseq_per_step"] * record["steps"]
    elif record["method"] == "dlm_one" and record["steps"] == 1:
        base = times["dlm_one"]
    else:
        base = None
    return None if base is None else base * record.get("candidates", 1)


def speedup_over_diffuseq(record: dict, times: dict | None, steps: int = SPEEDUP_STEPS) -> float | None:
    """DiffuSeq's benchmarked seconds per sample at `steps` ÷ the row's sampler's."""
    seconds = None if times is None else sampler_seconds(record, times)
    return None if not seconds else times["diffuseq_per_step"] * steps / seconds


def table_rows(rows: list[dict], times: dict | None = None) -> list[dict]:
    """One entry per shown row: {"record", "speedup": over DiffuSeq at 2000 steps, from the benchmark `times` (None
    without it, or for a sampler it did not time)}."""
    return [{"record": r, "speedup": speedup_over_diffuseq(r, times)}
            for r in sorted((r for r in rows if _rank(r) is not None), key=lambda r: (_rank(r), r["_file"]))]
