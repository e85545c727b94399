"""experiments.launch, torchrun under the commands' rule for bad input: one line from rank 0 and exit code 2, whether
the launcher refuses the arguments before any process starts or the processes refuse them (2 processes, gloo)."""
import re
import subprocess
import sys
from types import SimpleNamespace

import pytest

from core.errors import ConfigError
from core.paths import REPO_ROOT
from experiments.launch import failure_exit_code, parse_launch, world_size

ENV = {"PATH": "/usr/bin:/bin", "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1"}


def python(*args):
    return subprocess.run([sys.executable, *args], cwd=REPO_ROOT, capture_output=True, text=True, env=ENV)


def test_the_launch_options_the_command_and_its_arguments():
    assert parse_launch(["--nproc", "2", "method=idlm"]) == (2, [], "run", ["method=idlm"])
    assert parse_launch(["--nproc=4", "--nnodes=2", "pretrain", "teacher=ar"]) == (4, ["--nnodes=2"], "pretrain",
                                                                                   ["teacher=ar"])
    assert world_size(4, ["--nnodes=2"]) == 8 and world_size(4, ["--nnodes=1:3"]) == 12 and world_size(2, []) == 2


@pytest.mark.parametrize("argv, message", [
    (["method=idlm"], r"--nproc N is missing"),
    (["--nproc", "0", "method=idlm"], r"--nproc 0: the number of processes must be a positive integer"),
    (["--nproc", "two"], r"--nproc two"),
    (["--nproc", "2", "--nnodes", "2"], r"--nnodes: a torchrun option is given as --name=value"),
])
def test_bad_launch_options_are_one_line(argv, message):
    with pytest.raises(ConfigError, match=message):
        parse_launch(argv)


@pytest.mark.parametrize("args, message", [
    (["method=idlm", "distill.global_batch=48"], r"^error: distill.global_batch=48 does not split over 2 process\(es\)"
                                                 r" of distill.batch_size=32 rows: it must be a multiple of 64"),
    (["pretrain", "train.global_batch=96"], r"^error: train.global_batch=96 does not split over 2 process\(es\)"),
    (["method=idlm", "distill.global_bach=64"], r"^error: unknown config key\(s\) \['distill.global_bach'\] "
                                                r"\(distill.global_bach: did you mean distill.global_batch\?\)"),
])
def test_a_config_error_is_refused_before_any_process_starts(args, message, tmp_path):
    out = python("-m", "experiments.launch", "--nproc", "2", *args, f"run_dir={tmp_path / 'out'}")
    assert out.returncode == 2 and out.stdout == "" and "Traceback" not in out.stderr, out.stderr
    assert out.stderr.count("\n") == 1 and re.search(message, out.stderr), out.stderr
    assert not (tmp_path / "out").exists()


def test_the_processes_refusing_their_input_end_in_one_line_from_rank_0_and_exit_2():
    """Past the launcher's own check (as for a bad file the processes read), 2 real processes refuse: rank 0 says
    it once, and torchrun's report of the failed processes is not shown."""
    out = python("-c", "import sys; from experiments.launch import launch_workers; "
                       "sys.exit(launch_workers('experiments.run', ['method=idlm', 'distill.global_bach=64'], 2))")
    assert out.returncode == 2 and "Traceback" not in out.stderr and "ChildFailedError" not in out.stderr
    assert out.stderr.count("\n") == 1 and out.stderr.startswith("error: unknown config key(s) ['distill.global_bach'")


def test_another_failure_is_one_line_with_the_rank_and_its_exit_code(capsys):
    failures = {0: SimpleNamespace(rank=0, exitcode=-9, timestamp=2), 1: SimpleNamespace(rank=1, exitcode=1,
                                                                                          timestamp=1)}
    assert failure_exit_code("experiments.run", failures) == 1
    assert failure_exit_code("experiments.run", {0: failures[0]}) == 137
    assert capsys.readouterr().err.splitlines() == [
        "error: experiments.run failed on rank 1 with exit code 1 (its output is above)",
        "error: experiments.run failed on rank 0 with exit code 137 (its output is above)"]
    assert failure_exit_code("experiments.run", {**failures, 2: SimpleNamespace(rank=2, exitcode=2, timestamp=0)}) == 2


@pytest.mark.e2e   # two processes pretrain a tiny teacher for 2 steps
def test_two_processes_pretrain_and_exit_0(tmp_path):
    out = python("-m", "experiments.launch", "--nproc", "2", "pretrain", "teacher=mdlm", "preset=tiny", "threads=1",
                 "train.max_steps=2", "train.save_every=2", "train.eval_every=2", "train.eval_batches=1",
                 "train.batch_size=2", "train.global_batch=4", "data.seq_len=32", f"run_dir={tmp_path}")
    assert out.returncode == 0, out.stderr[-2000:]
    assert (tmp_path / "pretrained" / "config.json").is_file() and "done: step 2" in out.stdout
