"""`make gpu-check` (experiments/gpu_check.py): its paths cover every method and write only into their temporary folder;
run with device=cpu it is the CPU smoke test of every command-line path (marked e2e: the slow second tier,
`make test-e2e`, which .ci/run calls after `make test`)."""
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from core.paths import REPO_ROOT
from experiments.gpu_check import main, paths


def test_paths_cover_every_method_and_write_only_into_their_folder(tmp_path):
    listed = paths(tmp_path, "cuda")
    methods = {a.split("=", 1)[1] for _, _, args in listed for a in args if a.startswith("method=")}
    assert methods == {"idlm", "sdtt", "dcd", "dlm_one", "didi"}
    teachers = {a.split("=", 1)[1] for _, module, args in listed for a in args
                if a.startswith("teacher=") and module == "experiments.pretrain"}
    assert teachers == {"mdlm", "ar", "duo", "ar_lm", "diffuseq", "ar_seq2seq"}
    assert [m for _, m, _ in listed].count("experiments.benchmark_speed") == 1
    for name, module, args in listed:
        assert "device=cuda" in args or args[:2] == ["--device", "cuda"], name
        if module == "experiments.pretrain":
            assert "preset=tiny" in args, name
        if module == "experiments.run":   # a tiny model pretrained by an earlier path
            assert any(a.startswith(f"teacher_path={tmp_path}") for a in args), name
        written = [a.split("=", 1)[1] for a in args if a.split("=", 1)[0] in ("run_dir", "results_dir")]
        written += [args[args.index("--out") + 1]] if "--out" in args else []
        assert written and all(Path(w).is_relative_to(tmp_path) for w in written), name
        # the sample-drawing paths draw a handful only
        assert all(int(a.split("=")[1]) <= 4 for a in args if a.startswith("sampling.num_samples=")), name


def test_bad_arguments_are_one_usage_line(capsys):
    assert main(["devise=cpu"]) == 2 and "usage" in capsys.readouterr().err
    assert main(["cpu"]) == 2


def files_under(*folders: Path) -> dict:
    return {p: p.stat().st_mtime_ns for folder in folders if folder.is_dir() for p in folder.rglob("*") if p.is_file()}


@pytest.mark.e2e
def test_every_path_runs_on_the_cpu_and_leaves_nothing_behind():
    committed = files_under(REPO_ROOT / "results", REPO_ROOT / "runs")
    out = subprocess.run([sys.executable, "-m", "experiments.gpu_check", "device=cpu"], cwd=REPO_ROOT,
                         capture_output=True, text=True, env={**os.environ, "OMP_NUM_THREADS": "1"})
    print(out.stdout)
    assert out.returncode == 0, out.stdout[-4000:] + out.stderr[-2000:]
    lines = [line for line in out.stdout.splitlines() if " rc=" in line]
    assert [line.split(" rc=")[0].strip() for line in lines] == [name for name, _, _ in paths(Path("/"), "cpu")]
    assert all(re.search(r" rc=0 +\d+\.\d s$", line) for line in lines)
    folder = Path(re.search(r"gpu-check on cpu in (\S+)", out.stdout).group(1))
    assert not folder.exists()                                           # removed after a clean run
    assert files_under(REPO_ROOT / "results", REPO_ROOT / "runs") == committed
