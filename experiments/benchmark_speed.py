"""Speed of the distilled students against the KV-cached AR baselines of equal size, and each sampler's overhead.

    python -m experiments.benchmark_speed                         # runs/results/benchmarks/speed.json + README.md
    python -m experiments.benchmark_speed --results-dir results   # the committed results/benchmarks/
    python -m experiments.benchmark_speed --only dlm_one --out /tmp/speed.json    # one sampler, rows elsewhere
    python -m experiments.benchmark_speed --task qg --results-dir results   # benchmarks/speed-qg.json, speed-qg.md

A measurement, not a test: run it on an idle machine (the row records os.getloadavg() before and after) and compare
rows from the same machine only. Each configuration is timed with core.evaluate.speed.benchmark (warm-up, then the
median of repeats) at batch 1 and batch 32:
* unconditional, 128 tokens: the IDLM MDLM student at 1, 2, 4 and 8 steps (MDLM's sampler, float64 draws, denoiser
  cache) and the IDLM Duo student in one step through the Gaussian latent, against the unconditional AR baseline
  with and without its KV cache (127 tokens after [BOS]);
* seq2seq on the first test sources of the task (at its teacher's seq_len, tokenized before timing): the DLM-One
  student (its last stage; one step) against its DiffuSeq teacher at 10 steps (DDIM, rounding at every step; 2000
  steps cost 200 times that, the speed-up the seq2seq tables quote) and the greedy seq2seq AR baseline, which stops
  when every row of the batch has written [SEP].
core.evaluate.speed.ForwardTimer splits one run into time inside the network (the module the sampler calls: the
DiT, the DiffuSeq transformer, the GPT-2 with its head) and the sampler's own overhead (for DLM-One that includes
rounding to the nearest embedding and the tied read-out, `teachers.diffuseq_rounding`). The targets:
an 8-step student >= 5x faster than the KV-cached AR at batch 32 (and the fastest student of at most 2 steps against
it), and each diffusion sampler's overhead <= 10% of
its network time. Rows live in results/benchmarks/, which the result loader (results/rows/) does not read: speed.json
holds every sampler with qqp's seq2seq ones, speed-<task>.json the seq2seq samplers of another task (the unconditional
ones do not depend on it), and the seq2seq tables take each task's speed-ups from its own record.
"""
from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

import torch

from core.checkpoint import atomic_write_text
from core.evaluate.results import current_command, git_commit, utc_timestamp
from core.evaluate.speed import ForwardTimer, benchmark, describe_device, synchronize
from core.paths import BENCHMARKS, CHECKPOINTS_DIR
from experiments.cli import add_results_dir, run_cli
from experiments.setup import resolve_device
from teachers.diffuseq_rounding import tied_vocabulary

TARGET_SPEEDUP, TARGET_OVERHEAD = 5.0, 0.10   # 8-step student vs KV-cached AR at batch 32; overhead / network time
TARGET_SEQ2SEQ_SPEEDUP = 500.0   # DLM-One's one step vs DiffuSeq at 2000 steps, per sample
DEFAULT_TASK = "qqp"   # the task whose seq2seq samplers speed.json holds beside the unconditional ones
SEQ2SEQ_PREFIXES = ("dlm_one-", "diffuseq-", "ar_seq2seq-")
ROUNDING_PREFIXES = ("dlm_one-", "diffuseq-")   # the samplers that round to the nearest embedding at every step
TEACHER_STEPS = 10   # DiffuSeq is timed at 10 steps; 2000 steps cost 200 times that (same network call and rounding)


def unconditional_samplers(length: int, device):
    """({name -> (steps, network module, fn(batch_size) -> nfe per sample)}, tokens per sample) for `length`-token
    unconditional generation."""
    from teachers.ar import sample_unconditional
    from teachers.registry import load_teacher, sample_model

    student = load_teacher(CHECKPOINTS_DIR / "idlm-mdlm-shakespeare-small", device)
    duo_student = load_teacher(CHECKPOINTS_DIR / "idlm-duo-shakespeare-small", device)
    ar = load_teacher(CHECKPOINTS_DIR / "ar_lm-shakespeare-small", device).network

    def idlm(steps, model=student, predictor="default"):
        return lambda b: sample_model(model.family, model.process, model.network, batch_size=b, length=length,
                                      steps=steps, device=device, float64=True, predictor=predictor)[1]

    def autoregressive(cache):
        return lambda b: sample_unconditional(ar, batch_size=b, length=length, bos_id=ar.config.bos_token_id,
                                              device=device, cache=cache)[1]
    # one step from all-mask (MDLM) or through the Gaussian latent (Duo), two steps: the ones that can beat the AR
    return ({"idlm-mdlm-student-1step": (1, student.network, idlm(1)),
             "idlm-mdlm-student-2steps": (2, student.network, idlm(2)),
             "idlm-duo-student-latent-1step": (1, duo_student.network, idlm(1, duo_student, "latent")),
             "idlm-mdlm-student-4steps": (4, student.network, idlm(4)),
             "idlm-mdlm-student-8steps": (8, student.network, idlm(8)),
             "ar_lm-kv-cache": (length - 1, ar, autoregressive(True)),
             "ar_lm-recompute": (length - 1, ar, autoregressive(False))}, length)


def seq2seq_samplers(task: str, batch_sizes: list[int], device):
    """({name -> (steps, network, fn(batch_size) -> nfe per sample)}, tokens per sample: the seq_len) decoding the
    first test sources of `task`."""
    from teachers.ar import seq2seq_decode
    from core.data import load_seq2seq
    from dlm_one.generator import student_generate
    from experiments.seq2seq import encode_pairs
    from teachers.diffuseq import sample_seq2seq
    from teachers.diffuseq_decode import tokenizer_from_spec
    from teachers.registry import load_teacher

    stages = sorted(CHECKPOINTS_DIR.glob(f"dlm_one-{task}-small-stage*"))   # the last stage (ts has one)
    if not stages:
        raise FileNotFoundError(f"no DLM-One student of {task} in {CHECKPOINTS_DIR} (dlm_one-{task}-small-stage<s>)")
    loaded = load_teacher(stages[-1], device)
    teacher = load_teacher(CHECKPOINTS_DIR / f"diffuseq-{task}-small", device)
    student, process, seq_len = loaded.network, loaded.process, loaded.seq_len
    t_init = loaded.config.get("student", {}).get("t_init", process.num_steps - 1)
    baseline = load_teacher(CHECKPOINTS_DIR / f"ar_seq2seq-{task}-small", device)
    ar, tokenizer, ar_tokenizer = baseline.network, tokenizer_from_spec(loaded.tokenizer_name), \
        tokenizer_from_spec(baseline.tokenizer_name)
    sources = [e.src for e in load_seq2seq(task, "test")[:max(batch_sizes)]]

    def batches(tok):   # tokenizing is the caller's work, not the sampler's: done once, outside the timing
        return {b: {k: v.to(device) for k, v in encode_pairs([(s, "") for s in sources[:b]], tok, seq_len).items()}
                for b in batch_sizes}
    student_batches, ar_batches = batches(tokenizer), batches(ar_tokenizer)

    def dlm_one(b):
        student_generate(process, student, student_batches[b], t_init=t_init, steps=1)
        return 1

    def autoregressive(b):
        return seq2seq_decode(ar, ar_batches[b], pad_id=ar_tokenizer.pad_id, sep_id=ar_tokenizer.sep_id,
                              seq_len=ar.config.n_positions)[1]

    def diffuseq(b):   # the rows' sampler: DDIM with rounding at every step; its cost per step does not depend on n
        sample_seq2seq(teacher.process, teacher.network, student_batches[b], steps=TEACHER_STEPS)
        return TEACHER_STEPS
    samplers = {f"dlm_one-{task}-student-1step": (1, student, dlm_one),
                f"diffuseq-{task}-teacher-{TEACHER_STEPS}steps": (TEACHER_STEPS, teacher.network, diffuseq),
                f"ar_seq2seq-{task}-greedy-kv-cache": (0, ar, autoregressive)}
    return samplers, seq_len


def measure(name: str, steps: int, network, fn, *, batch_size: int, tokens: int, repeats: int,
            device="cpu") -> dict:
    """One configuration: the timing (median of `repeats`), then one more run split into network time and overhead;
    for a sampler that rounds to the nearest embedding (DLM-One, DiffuSeq), the share of the rounded rows of that
    run that no cached certificate answered, so that the whole vocabulary was scanned for them."""
    nfe = []
    rounding = tied_vocabulary(network) if name.startswith(ROUNDING_PREFIXES) else None
    with torch.no_grad():
        speed = benchmark(lambda: nfe.append(fn(batch_size)), batch_size=batch_size, n_warmup=1, n_repeat=repeats,
                          tokens_per_sample=tokens, nfe=0, device=device)
        before = (rounding.rows_rounded, rounding.rows_scanned) if rounding else None
        with ForwardTimer(network, device) as timer:
            start = time_now()
            fn(batch_size)
            synchronize(device)
            total = time_now() - start
    speed["nfe"] = sum(nfe) / len(nfe)
    if rounding:
        speed["rounding_rows"] = rounding.rows_rounded - before[0]
        speed["rounding_full_scan_fraction"] = (rounding.rows_scanned - before[1]) / max(speed["rounding_rows"], 1)
        speed["vocabulary_size"] = rounding.weight.shape[0]
    return {"name": name, "steps": steps or speed["nfe"], **speed,
            "seconds_per_batch": speed["seconds_per_sample"] * batch_size,
            "network_calls": timer.calls, "seconds_per_network_call": timer.seconds / max(timer.calls, 1),
            "seconds_per_step": total / max(steps or speed["nfe"], 1),
            "overhead_fraction_of_network": (total - timer.seconds) / timer.seconds}


def overlaps(a: str, b: str) -> bool:
    """Whether a name could start with both prefixes."""
    return a.startswith(b) or b.startswith(a)


def time_now() -> float:
    import time
    return time.perf_counter()


def targets(rows: list[dict]) -> dict:
    by = {(r["name"], r["batch_size"]): r for r in rows}
    student, ar = by.get(("idlm-mdlm-student-8steps", 32)), by.get(("ar_lm-kv-cache", 32))
    speedup = ar["seconds_per_sample"] / student["seconds_per_sample"] if student and ar else None
    out = {"student8_vs_ar_kv_speedup_batch32": speedup, "speedup_target": TARGET_SPEEDUP,
           "speedup_met": speedup is not None and speedup >= TARGET_SPEEDUP, "overhead_target": TARGET_OVERHEAD}
    few = [r for r in rows if r["name"].startswith("idlm-") and r.get("steps", 0) <= 2 and r["batch_size"] == 32]
    if few and ar:   # the fastest student of at most 2 steps against the KV-cached AR at batch 32
        fastest = min(few, key=lambda r: r["seconds_per_sample"])
        out["fastest_le2step_student_batch32"] = fastest["name"]
        out["fastest_le2step_vs_ar_kv_speedup_batch32"] = ar["seconds_per_sample"] / fastest["seconds_per_sample"]
    out["dlm_one_vs_diffuseq"] = seq2seq_speedups(rows)
    out["seq2seq_speedup_target"] = TARGET_SEQ2SEQ_SPEEDUP
    for family in ("idlm", "dlm_one"):   # the diffusion samplers; the AR loop is a baseline, not a target
        worst = max((r["overhead_fraction_of_network"] for r in rows if r["name"].startswith(f"{family}-")),
                    default=None)
        out[f"{family}_max_overhead_fraction"] = worst
        out[f"{family}_overhead_met"] = worst is not None and worst <= TARGET_OVERHEAD
    return out


def seq2seq_speedups(rows: list[dict]) -> list[dict]:
    """Per batch size: the DLM-One student's speed-up over DiffuSeq at 10 steps (both timed here) and at 2000 steps
    (the 10-step time per step × 2000)."""
    out = []
    for b in sorted({r["batch_size"] for r in rows}):
        student = next((r for r in rows if r["name"].startswith("dlm_one-") and r["batch_size"] == b), None)
        teacher = next((r for r in rows if r["name"].startswith("diffuseq-") and r["batch_size"] == b), None)
        if student and teacher:
            per_step = teacher["seconds_per_sample"] / teacher["steps"]
            out.append({"batch_size": b, "teacher_steps_timed": teacher["steps"],
                        "vs_steps10": 10 * per_step / student["seconds_per_sample"],
                        "vs_steps2000": 2000 * per_step / student["seconds_per_sample"]})
    return out


def table(record: dict) -> str:
    lines = ["# Speed benchmark", "", f"Generated by `{record['command']}` at commit `{record['commit']}` "
             f"({record['created']}); {record['threads']} torch thread(s) on {record['device']}; load average "
             f"before {record['loadavg_before'][0]:.2f}, after {record['loadavg_after'][0]:.2f}.", "",
             "| configuration | batch | steps | network calls | s / sample | tokens / s | s / step | s / network call "
             "| sampler overhead ÷ network time |", "|---|---|---|---|---|---|---|---|---|"]
    for r in record["rows"]:
        lines.append(f"| {r['name']} | {r['batch_size']} | {r['steps']:g} | {r['network_calls']} | "
                     f"{r['seconds_per_sample']:.4f} | {r['tokens_per_second']:.0f} | {r['seconds_per_step']:.4f} | "
                     f"{r['seconds_per_network_call']:.4f} | {r['overhead_fraction_of_network']:.1%} |")
    t, unconditional = record["targets"], any(r["name"].startswith("idlm-") for r in record["rows"])
    ratio = t["student8_vs_ar_kv_speedup_batch32"]
    speedup = "–" if ratio is None else f"{ratio:.2f}×"
    lines.append("")
    if unconditional:   # a seq2seq-only record (speed-<task>.json) has no IDLM target
        lines.append(f"* 8-step IDLM student vs KV-cached AR at batch 32: {speedup} "
                     f"(target ≥ {t['speedup_target']:g}×: {'met' if t['speedup_met'] else 'not met'})")
    if t.get("fastest_le2step_student_batch32"):
        lines.append(f"* fastest student of ≤ 2 steps ({t['fastest_le2step_student_batch32']}) vs KV-cached AR at "
                     f"batch 32: {t['fastest_le2step_vs_ar_kv_speedup_batch32']:.2f}× (> 1: faster than the AR)")
    for g in t.get("dlm_one_vs_diffuseq", []):
        met = g["vs_steps2000"] >= t["seq2seq_speedup_target"]
        lines.append(f"* DLM-One student (1 step) vs DiffuSeq at batch {g['batch_size']}: {g['vs_steps10']:.0f}× over "
                     f"10 steps, {g['vs_steps2000']:.0f}× over 2000 steps (200 × the 10-step time; target ≥ "
                     f"{t['seq2seq_speedup_target']:g}×: {'met' if met else 'not met'})")
    for family in ("idlm", "dlm_one") if unconditional else ("dlm_one",):
        worst, met = t[f"{family}_max_overhead_fraction"], t[f"{family}_overhead_met"]
        lines.append(f"* largest {family} sampler overhead: {'–' if worst is None else f'{worst:.1%}'} of network "
                     f"time (target ≤ {t['overhead_target']:.0%}: {'met' if met else 'not met'})")
    for r in record["rows"]:
        if "rounding_full_scan_fraction" in r:   # records from before the counters have no such field
            lines.append(f"* {r['name']} at batch {r['batch_size']}: {r['rounding_full_scan_fraction']:.1%} of its "
                         f"{r['rounding_rows']} rounded target positions were scanned against the whole "
                         f"{r['vocabulary_size']}-token table (no certificate answered them)")
    lines.append("")
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op threads (default 1)")
    parser.add_argument("--repeats", type=int, default=5, help="timed repeats per configuration (median reported)")
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[1, 32])
    parser.add_argument("--task", default=DEFAULT_TASK, help="seq2seq task of the DLM-One student and the seq2seq AR")
    add_results_dir(parser)
    parser.add_argument("--out", type=Path, default=None,
                        help=f"default: <results-dir>/benchmarks/speed.json for --task {DEFAULT_TASK}, "
                             "else speed-<task>.json")
    parser.add_argument("--device", default="cpu", help="cpu or cuda (default cpu)")
    parser.add_argument("--only", nargs="+", default=None, metavar="PREFIX",
                        help="measure only the configurations whose name starts with one of these (e.g. dlm_one)")
    args = parser.parse_args(argv)
    other_task = args.task != DEFAULT_TASK
    args.out = args.out or args.results_dir / BENCHMARKS / (f"speed-{args.task}.json" if other_task else "speed.json")
    if other_task and args.only is None:   # the unconditional samplers do not depend on the task: speed.json has them
        args.only = list(SEQ2SEQ_PREFIXES)
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    device = resolve_device(args.device)
    loadavg_before = os.getloadavg()
    rows = []
    families = [(lambda: unconditional_samplers(128, device), ("idlm-", "ar_lm-")),
                (lambda: seq2seq_samplers(args.task, args.batch_sizes, device), SEQ2SEQ_PREFIXES)]
    for build, prefixes in families:
        if args.only and not any(overlaps(prefix, only) for prefix in prefixes for only in args.only):
            continue   # nothing of this family is asked for: its models are not even loaded
        samplers, tokens = build()
        for name, (steps, network, fn) in samplers.items():
            if args.only and not name.startswith(tuple(args.only)):
                continue
            for b in args.batch_sizes:
                rows.append(measure(name, steps, network, fn, batch_size=b, tokens=tokens, repeats=args.repeats,
                                    device=device))
                print(f"{name} batch {b}: {rows[-1]['seconds_per_sample']:.4f} s/sample, overhead "
                      f"{rows[-1]['overhead_fraction_of_network']:.1%}")
    record = {"kind": "speed_benchmark", "created": utc_timestamp(), "commit": git_commit(),
              "command": current_command(), "task": args.task, "threads": args.threads,
              "device": describe_device(device),
              "loadavg_before": list(loadavg_before), "loadavg_after": list(os.getloadavg()), "rows": rows}
    record["targets"] = targets(rows)
    atomic_write_text(args.out, json.dumps(record, indent=2) + "\n")
    atomic_write_text(args.out.with_name("README.md") if args.out.name == "speed.json" else args.out.with_suffix(".md"),
                      table(record))
    print(table(record))
    return 0


if __name__ == "__main__":
    run_cli(main)
