"""`python -m experiments.gpu_check [device=cuda|cpu] [keep=true]` (`make gpu-check`): every method's command-line path
for a few steps on one device, to find what breaks on a GPU before a long run does.

Tiny models (preset=tiny, sequences of 32) are pretrained for two steps and used by the next paths: teacher sampling
(MDLM, and DiffuSeq with MBR-2), IDLM, SDTT, Duo-DCD and DLM-One distillation with their rows, the AR baselines, and
the speed benchmark on the committed students. Every file goes to one temporary folder (never results/ or runs/),
removed at the end unless a path failed or keep=true. One line per path: name, exit code, seconds; the exit code is 1
when any path failed, whose log's last lines are printed.
"""
from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from core.paths import REPO_ROOT

TINY = ["preset=tiny", "data.seq_len=32"]
TRAIN = ["train.max_steps=2", "train.save_every=2", "train.eval_every=2", "train.eval_batches=1", "train.batch_size=4"]


def paths(root: Path, device: str) -> list[tuple[str, str, list[str]]]:
    """(name, module, arguments) in order: each path uses the folders the earlier ones wrote."""
    def trained(name):
        return f"teacher_path={root / name / 'pretrained'}"

    def rows(name, args):   # every row of a run, and a method's training state, stays in the temporary folder
        trains = any(a.startswith("method=") for a in args)   # method=sample refuses a run_dir it would not read
        return ["sampling.num_samples=4", "sampling.batch_size=4", f"device={device}",
                f"results_dir={root / 'results'}", *([f"run_dir={root / name.replace(' ', '-')}"] if trains else [])]
    evaluator = f"eval.evaluator={root / 'ar' / 'pretrained'}"
    distill = ["distill.batch_size=4", "distill.log_every=1", "eval.frontier_temperatures=[0.5,1.5]"]
    seq2seq = ["task=qqp", "preset=tiny", "diffuseq.bertscore=false"]
    pretrained = [(f"pretrain {teacher}", "experiments.pretrain",
                   [f"teacher={teacher}", *extra, *TINY, *TRAIN, f"device={device}", f"run_dir={root / teacher}"])
                  for teacher, extra in (("mdlm", []), ("ar", []), ("duo", []), ("ar_lm", ["seed=1"]),
                                         ("diffuseq", ["task=qqp", "diffuseq.val_sources=2", "diffuseq.val_steps=2"]),
                                         ("ar_seq2seq", ["task=qqp"]))]
    return pretrained + [(name, "experiments.run", args + rows(name, args)) for name, args in [
        ("sample mdlm", ["teacher=mdlm", trained("mdlm"), "steps=4", evaluator]),
        ("sample diffuseq mbr", ["teacher=diffuseq", trained("diffuseq"), "steps=2", "diffuseq.candidates=2",
                                 *seq2seq]),
        ("idlm mdlm", ["method=idlm", "teacher=mdlm", trained("mdlm"), "steps=4", evaluator, "distill.max_steps=2",
                       "distill.eval_every=1", "idlm.val_samples=4", *distill]),
        ("didi mdlm", ["method=didi", "teacher=mdlm", trained("mdlm"), "steps=4", evaluator, "distill.max_steps=2",
                       "distill.eval_every=1", "didi.val_samples=4", "didi.discriminator_blocks=1", *distill]),
        ("didi mdlm rgas", ["method=didi", "teacher=mdlm", trained("mdlm"), "steps=4", evaluator, "didi.rgas=true",
                            "didi.candidates=2", f"student_path={root / 'didi-mdlm' / 'last'}",
                            "eval.frontier_temperatures=[0.5,1.5]"]),
        ("sdtt mdlm", ["method=sdtt", trained("mdlm"), "steps=8", evaluator, "sdtt.base_steps=16",
                       "sdtt.steps_per_round=1", "distill.eval_every=1", "train.eval_batches=1", *distill]),
        ("dcd duo", ["method=dcd", "teacher=duo", trained("duo"), "steps=8", evaluator, "dcd.base_steps=16",
                     "dcd.update_teacher_every=1", "train.eval_batches=1", *distill]),
        ("dlm_one qqp", ["method=dlm_one", trained("diffuseq"), "dlm_one.stage1_steps=1", "dlm_one.stage2_steps=1",
                         "dlm_one.eval_every=1", "dlm_one.val_sources=2", "distill.batch_size=2", *seq2seq]),
        ("ar_lm row", ["teacher=ar_lm", "preset=tiny", trained("ar_lm"), evaluator]),
        ("ar_seq2seq row", ["teacher=ar_seq2seq", trained("ar_seq2seq"), *seq2seq]),
    ]] + [("benchmark_speed", "experiments.benchmark_speed",
           ["--device", device, "--batch-sizes", "1", "--repeats", "1", "--out", str(root / "benchmarks" / "speed.json")])]


def run_path(name: str, module: str, args: list[str], log: Path) -> tuple[int, float]:
    start = time.perf_counter()
    with log.open("w") as out:
        out.write(f"python -m {module} {' '.join(args)}\n")
        out.flush()
        rc = subprocess.run([sys.executable, "-m", module, *args], cwd=REPO_ROOT, stdout=out,
                            stderr=subprocess.STDOUT).returncode
    return rc, time.perf_counter() - start


def main(argv: list[str]) -> int:
    options = dict(a.split("=", 1) for a in argv if "=" in a)
    if len(options) != len(argv) or set(options) - {"device", "keep"}:
        print(f"usage: python -m experiments.gpu_check [device=cuda|cpu] [keep=true]; got {argv}", file=sys.stderr)
        return 2
    device, keep = options.get("device", "cuda"), options.get("keep", "false") == "true"
    root = Path(tempfile.mkdtemp(prefix="gpu-check-"))
    print(f"gpu-check on {device} in {root}")
    failed, total = [], time.perf_counter()
    for i, (name, module, args) in enumerate(paths(root, device)):
        log = root / f"{i:02d}-{name.replace(' ', '-')}.log"
        rc, seconds = run_path(name, module, args, log)
        print(f"{name:<24} rc={rc:<3} {seconds:7.1f} s", flush=True)
        if rc:
            failed.append((name, log))
    print(f"total {time.perf_counter() - total:.1f} s, {len(failed)} failed")
    for name, log in failed:
        print(f"--- {name}: last lines of {log}\n" + "\n".join(log.read_text().splitlines()[-15:]))
    if failed or keep:
        print(f"kept {root}")
    else:
        shutil.rmtree(root)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
