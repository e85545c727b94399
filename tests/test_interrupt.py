"""Nothing lost: SIGINT / SIGTERM end both loops with a checkpoint, and a kill at any instant of a checkpoint's folder
swap leaves a state the next run resumes from (killed real subprocesses, at named points of the swap)."""
import json
import os
import signal
import subprocess
import sys
import time

import pytest

from core.interrupt import Interrupted
from core.paths import REPO_ROOT
from tests.test_distill_loop import idlm_toy
from tests.test_training import run as train_toy

TINY = ["teacher=mdlm", "preset=tiny", "threads=1", "train.eval_every=1000", "train.eval_batches=1",
        "train.batch_size=4", "data.seq_len=32", "train.log_every=1"]


def logged_steps(run_dir):
    return [json.loads(line)["step"] for line in (run_dir / "log.jsonl").read_text().splitlines()
            if '"loss"' in line or '"generator_loss"' in line]


def trainer_step(run_dir):
    return json.loads((run_dir / "checkpoint" / "trainer.json").read_text())["step"]


def test_sigint_in_the_pretraining_loop_checkpoints_the_step_and_resumes(tmp_path):
    calls, before = [], signal.getsignal(signal.SIGINT)   # the default, or SIG_IGN under nohup

    def interrupt_at_third_step():
        calls.append(1)
        if len(calls) == 3:
            os.kill(os.getpid(), signal.SIGINT)
    with pytest.raises(Interrupted, match="stopped by SIGINT at step 3") as stop:
        train_toy(tmp_path, 10, loss_hook=interrupt_at_third_step)
    assert stop.value.exit_code == 130 and trainer_step(tmp_path) == 3
    assert signal.getsignal(signal.SIGINT) is before                           # the handlers are put back
    _, summary = train_toy(tmp_path, 5)
    assert summary == {"step": 5, "finished": True, "last_eval": {}}
    assert logged_steps(tmp_path) == [1, 2, 3, 4, 5]                          # no step logged twice


def test_sigterm_in_the_distillation_loop_checkpoints_the_step_and_resumes(tmp_path):
    before = signal.getsignal(signal.SIGTERM)

    def validate(network):          # eval_every=2: called at step 2, where the signal arrives mid-step
        os.kill(os.getpid(), signal.SIGTERM)
        return {"score": 1.0}
    with pytest.raises(Interrupted, match="stopped by SIGTERM at step 2") as stop:
        idlm_toy(tmp_path, 7, validate)
    assert stop.value.exit_code == 143 and trainer_step(tmp_path) == 2
    assert signal.getsignal(signal.SIGTERM) is before
    _, _, summary, _ = idlm_toy(tmp_path, 4)
    assert summary["step"] == 4 and logged_steps(tmp_path) == [1, 2, 3, 4]


def pretrain(run_dir, *args, env=None, **popen):
    command = [sys.executable, "-m", "experiments.pretrain", *TINY, f"run_dir={run_dir}", *args]
    environment = {"OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1", "PATH": "/usr/bin:/bin", **(env or {})}
    if popen:
        return subprocess.Popen(command, cwd=REPO_ROOT, env=environment, text=True, **popen)
    return subprocess.run(command, cwd=REPO_ROOT, env=environment, capture_output=True, text=True)


def test_a_kill_at_any_point_of_the_checkpoint_swap_loses_nothing(tmp_path):
    """One run killed (SIGKILL, a real subprocess) at each point of a swap in turn, each time resumed by the next."""
    run_dir = tmp_path / "run"
    chain = [   # (kill point at the 2nd swap of checkpoint/ of that process, what is left, the step the next run resumes)
        ("written", ["checkpoint"], 1),                     # the new state complete in .checkpoint.tmp*, not swapped
        ("moved_aside", [".checkpoint.old"], 2),            # between the two renames: no checkpoint/ at all
        ("swapped", ["checkpoint", ".checkpoint.old"], 4),  # the new state in place, the previous not yet deleted
    ]
    resumed_at = 0
    for point, left, next_start in chain:
        killed = pretrain(run_dir, "train.max_steps=9", "train.save_every=1",
                          env={"DLM_TEST_KILL_AT": f"checkpoint:{point}:2"})
        assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]
        assert (f"at step {resumed_at}" in killed.stdout) == (resumed_at > 0)
        assert [name for name in ("checkpoint", ".checkpoint.old") if (run_dir / name).exists()] == left, point
        assert bool(list(run_dir.glob(".checkpoint.tmp*"))) == (point != "swapped")
        resumed_at = next_start
    out = pretrain(run_dir, "train.max_steps=6", "train.save_every=1")
    assert out.returncode == 0, out.stderr[-2000:]
    assert f"resumed from {run_dir / 'checkpoint'} at step 4" in out.stdout
    assert trainer_step(run_dir) == 6 and logged_steps(run_dir) == [1, 2, 3, 4, 5, 6]   # no step logged twice
    assert sorted(p.name for p in run_dir.iterdir() if p.name.startswith(".")) == []     # no leftovers
    assert json.loads((run_dir / "pretrained" / "config.json").read_text())["provenance"]["train_step"] == 6


def test_recovery_restores_the_previous_folder_and_deletes_leftovers(tmp_path):
    from core.checkpoint import recover_folder

    (tmp_path / ".checkpoint.old").mkdir()
    (tmp_path / ".checkpoint.old" / "trainer.json").write_text("{}")
    (tmp_path / ".checkpoint.tmpab12").mkdir()
    assert recover_folder(tmp_path / "checkpoint")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["checkpoint"]
    assert (tmp_path / "checkpoint" / "trainer.json").is_file()
    assert not recover_folder(tmp_path / "checkpoint")          # nothing to do


def test_ctrl_c_on_a_real_pretraining_run_exits_130_with_a_checkpoint(tmp_path):
    run_dir = tmp_path / "run"
    proc = pretrain(run_dir, "train.max_steps=100000", "train.save_every=100000", stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE)
    deadline = time.time() + 120
    while time.time() < deadline and not ((run_dir / "log.jsonl").is_file() and len(logged_steps(run_dir)) >= 2):
        time.sleep(0.2)
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 130, stderr[-2000:]
    assert "Traceback" not in stderr and "stopped by SIGINT at step" in stderr
    step = trainer_step(run_dir)
    assert step >= 2 and logged_steps(run_dir)[-1] == step
    assert json.loads((run_dir / "pretrained" / "config.json").read_text())["provenance"]["train_step"] == step


def test_saved_folders_get_ordinary_permissions(tmp_path):
    import torch

    from core.checkpoint import save_pretrained

    mask = os.umask(0o022)
    try:
        folder = save_pretrained(tmp_path / "m", {"a": torch.zeros(2)}, {"x": 1})
    finally:
        os.umask(mask)
    modes = {p.name: oct(p.stat().st_mode & 0o777) for p in [folder, *folder.iterdir()]}
    assert modes == {"m": "0o755", "config.json": "0o644", "model.safetensors": "0o644"}
