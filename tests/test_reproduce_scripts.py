"""scripts/reproduce/: one script per committed pretrained model, whose commands the config accepts and whose last
phase is the command recorded in the model's provenance (same settings, same final step)."""
import json
import shlex
import subprocess
import sys

import pytest
import yaml

from core.paths import CHECKPOINTS_DIR, REPO_ROOT
from experiments.config import load_config
from tests.recorded_commands import todays_args

SCRIPTS = REPO_ROOT / "scripts" / "reproduce"
# keys that say where and how long a segment ran, not what it trained
NOT_A_SETTING = ("run_dir", "train.max_minutes", "train.max_steps", "teacher_path")
# recorded settings a script leaves out on purpose, each explained in the script's header
LEFT_OUT = {"ar-shakespeare-small": {"train.reset_ema"}}   # the EMA warm-up rule replaced the restart


def provenance(folder):
    if (folder / "provenance.json").is_file():   # the reference AR model (written as YAML by early exports)
        return yaml.safe_load((folder / "provenance.json").read_text())
    return json.loads((folder / "config.json").read_text()).get("provenance", {})


def pretrained_folders():
    return sorted(f.name for f in CHECKPOINTS_DIR.iterdir()
                  if f.is_dir() and provenance(f).get("command", "").startswith("python -m experiments.pretrain"))


def dry_run(name):
    out = subprocess.run(["bash", str(SCRIPTS / f"{name}.sh")], env={"DRY_RUN": "1", "PATH": "/usr/bin:/bin"},
                         capture_output=True, text=True, cwd=REPO_ROOT)
    assert out.returncode == 0, out.stderr
    return [shlex.split(line)[3:] for line in out.stdout.splitlines() if " -m experiments.pretrain " in line]


def settings(args):
    return dict(arg.split("=", 1) for arg in args if arg.split("=", 1)[0] not in NOT_A_SETTING)


def test_every_pretrained_folder_has_a_script():
    assert pretrained_folders() == ["ar-shakespeare-small", "ar_lm-shakespeare-small", "ar_seq2seq-qg-small",
                                    "ar_seq2seq-qqp-small", "ar_seq2seq-ts-small",
                                    "diffuseq-qg-small", "diffuseq-qg-small-11k", "diffuseq-qg-small-15k",
                                    "diffuseq-qqp-small",
                                    "diffuseq-qqp-small-27k", "diffuseq-qqp-small-37k", "diffuseq-qqp-small-45k",
                                    "diffuseq-qqp-small-45k-sc",
                                    "diffuseq-ts-small", "diffuseq-ts-small-12k", "diffuseq-ts-small-19k",
                                    "diffuseq-ts-small-9k",
                                    "duo-shakespeare-small", "duo_distilled-shakespeare-small",
                                    "mdlm-shakespeare-small", "sedd-shakespeare-small"]
    # distilled students have their own scripts too (dlm_one-<task>-small.sh): every pretrained folder needs one
    assert set(pretrained_folders()) <= {p.stem for p in SCRIPTS.glob("*.sh")}


@pytest.mark.parametrize("name, steps", [
    ("ar-shakespeare-small", [2240]),
    ("ar_lm-shakespeare-small", [366, 500]),
    ("ar_seq2seq-qqp-small", [600]),
    ("ar_seq2seq-qg-small", [600]),
    ("ar_seq2seq-ts-small", [600]),
    ("mdlm-shakespeare-small", [3143, 6800, 17800]),
    ("sedd-shakespeare-small", [2144, 5800, 14000]),
    ("duo-shakespeare-small", [2297, 6000, 14000]),
    ("duo_distilled-shakespeare-small", [2297, 6000, 1402]),   # its Duo teacher to step 6,000, then the distillation
    ("diffuseq-qqp-small", [3250, 15000]),
    ("diffuseq-qqp-small-27k", [12000]),   # from diffuseq-qqp-small's weights (train.init_from)
    ("diffuseq-qqp-small-37k", [10000]),   # from diffuseq-qqp-small-27k's weights
    ("diffuseq-qqp-small-45k", [8000]),   # from diffuseq-qqp-small-37k's weights
    ("diffuseq-qqp-small-45k-sc", [8000]),   # the same, self-conditioned
    ("diffuseq-ts-small", [2400, 6400]),
    ("diffuseq-qg-small", [5000]),
    ("diffuseq-qg-small-11k", [6000]),   # from diffuseq-qg-small's weights (train.init_from)
    ("diffuseq-qg-small-15k", [4000]),   # from diffuseq-qg-small-11k's weights
    ("diffuseq-ts-small-9k", [2600]),   # from diffuseq-ts-small's weights
    ("diffuseq-ts-small-12k", [3000]),   # from diffuseq-ts-small-9k's weights
    ("diffuseq-ts-small-19k", [7200]),   # from diffuseq-ts-small-12k's weights
])
def test_script_phases_are_valid_and_end_in_the_recorded_command(name, steps):
    phases = dry_run(name)
    assert [int(dict(a.split("=", 1) for a in args)["train.max_steps"]) for args in phases] == steps
    # every phase of a run used the thread count of its original (one thread on a shared machine, 0 = all cores)
    assert len({load_config(args, command="pretrain").threads for args in phases}) == 1
    recorded = provenance(CHECKPOINTS_DIR / name)
    assert recorded["train_step"] == steps[-1]
    expected = settings(todays_args(recorded["command"]))   # a command recorded as teacher=dcd reads today's name
    assert settings(phases[-1]) == {k: v for k, v in expected.items() if k not in LEFT_OUT.get(name, ())}


def test_scripts_that_write_rows_name_their_results_folder():
    """A script never writes result rows to the default folder by accident: every `experiments.run` names its
    results_dir (the committed set only where a Makefile result target names results/)."""
    for script in sorted(SCRIPTS.glob("*.sh")):
        text = script.read_text().replace("\\\n", " ")
        for line in text.splitlines():
            if " -m experiments.run " in line and not line.lstrip().startswith("#"):
                assert "results_dir=" in line, (script.name, line)


def test_teacher_rows_script_makes_the_rows_of_the_qqp_teacher_trained_further():
    """scripts/teacher_rows.sh prints the commands the committed rows of diffuseq-qqp-small-27k record, and refuses
    a folder without a config."""
    script = REPO_ROOT / "scripts" / "teacher_rows.sh"
    out = subprocess.run(["bash", str(script), "checkpoints/diffuseq-qqp-small-27k"], capture_output=True, text=True,
                         env={"DRY_RUN": "1", "PATH": "/usr/bin:/bin", "PY": sys.executable}, cwd=REPO_ROOT)
    assert out.returncode == 0, out.stderr
    rows = sorted((REPO_ROOT / "results" / "rows").glob("diffuseq-qqp-small-steps*-from-diffuseq_qqp_small_27k-*.json"))
    recorded = {json.loads(p.read_text())["command"] for p in rows}
    assert len(recorded) == 3 and set(out.stdout.replace(sys.executable, "python").splitlines()) == recorded
    bad = subprocess.run(["bash", str(script), "checkpoints/no-such-folder"], capture_output=True, text=True,
                         env={"PATH": "/usr/bin:/bin"}, cwd=REPO_ROOT)
    assert bad.returncode == 2 and "checkpoints/no-such-folder/config.json: not found" in bad.stderr
