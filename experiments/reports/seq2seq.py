"""DLM-One's Table 1 layout, one table per task: AR seq2seq, DiffuSeq at 2000 / 10 / 1 steps, DLM-One stage 1 and
2 (one step), then the MBR-k rows of both, with DiffuSeq's metric set, NFE, seconds per sample and the speed-up over
DiffuSeq at 2000 steps (its seconds per sample ÷ the row's; the paper's speed column). The copy-the-source row is
the yardstick. Rows are found by their fields, so AR seq2seq rows (teacher "ar_seq2seq") join when they land.
"""
from __future__ import annotations

from collections import defaultdict

from experiments.reports.kinds import data_of, is_ar

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


def row_label(record: dict) -> str:
    """"DiffuSeq, 10 steps, MBR-10", "DLM-One stage 2, 1 step", "AR seq2seq", ...; a DLM-One row also names its
    [PAD] probability, and stage 0 (the teacher as its own one-step generator) says so."""
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
        return f"DLM-One stage {record['stage']}, {steps}{mbr}{pad}"
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


def speed_reference(rows: list[dict]) -> dict | None:
    """DiffuSeq's single-candidate row at 2000 steps (the one with most samples), the speed-up's denominator."""
    slowest = [r for r in rows if r["method"] == "sample" and not is_ar(r) and r["steps"] == SPEEDUP_STEPS
               and r.get("candidates", 1) == 1]
    return max(slowest, key=lambda r: (r["n_samples"], r["_file"])) if slowest else None


def table_rows(rows: list[dict]) -> list[dict]:
    """One entry per shown row: {"record", "speedup": the speed reference's s/sample ÷ the row's (None without a
    reference, or for a row that takes no time)}."""
    reference = speed_reference(rows)
    out = []
    for r in sorted((r for r in rows if _rank(r) is not None), key=lambda r: (_rank(r), r["_file"])):
        speedup = None
        if reference is not None and r["seconds_per_sample"] > 0:
            speedup = reference["seconds_per_sample"] / r["seconds_per_sample"]
        out.append({"record": r, "speedup": speedup})
    return out
