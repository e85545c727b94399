"""Config tree: defaults, overrides, and one clear error for every kind of bad input."""
import subprocess
import sys

import pytest

from core.errors import ConfigError
from core.paths import REPO_ROOT
from experiments.config import load_config, run_name


def test_defaults_and_overrides():
    cfg = load_config(["teacher=mdlm", "steps=16", "train.lr=0.01", "sampling.float64=false"])
    assert cfg.steps == 16 and cfg.train.lr == 0.01 and cfg.sampling.float64 is False
    assert run_name(cfg) == "mdlm-shakespeare-small"
    assert run_name(load_config(["teacher=diffuseq", "task=qg"])) == "diffuseq-qg-small"


def test_teacher_overlay_applies_and_cli_wins():
    assert load_config(["teacher=mdlm"]).train.lr == 1e-3          # from configs/teachers/mdlm.yaml
    assert load_config(["teacher=mdlm", "train.lr=2e-4"]).train.lr == 2e-4


def test_unknown_key_lists_valid_keys():
    with pytest.raises(ConfigError, match=r"unknown config key\(s\) \['train.lrr'\].*train\.lr"):
        load_config(["train.lrr=1"])


def test_wrong_type_is_refused():
    with pytest.raises(ConfigError, match="'steps' expects int"):
        load_config(["steps=abc"])
    with pytest.raises(ConfigError, match="'sampling.float64' expects bool"):
        load_config(["sampling.float64=3"])


def test_bad_choice_is_refused():
    with pytest.raises(ConfigError, match=r"'teacher' = 'gpt' is not one of"):
        load_config(["teacher=gpt"])


def test_malformed_argument():
    with pytest.raises(ConfigError, match="not of the form key=value"):
        load_config(["steps"])


def test_non_positive_steps():
    with pytest.raises(ConfigError, match="positive integer"):
        load_config(["steps=0"])


@pytest.mark.parametrize("module", ["experiments.run", "experiments.pretrain"])
def test_cli_help_and_error_exit(module):
    out = subprocess.run([sys.executable, "-m", module, "--help"], cwd=REPO_ROOT, capture_output=True, text=True)
    assert out.returncode == 0
    for word in ("mdlm", "duo", "sedd", "diffuseq", "qqp", "tiny", "small"):
        assert word in out.stdout
    bad = subprocess.run([sys.executable, "-m", module, "nope=1"], cwd=REPO_ROOT, capture_output=True, text=True)
    assert bad.returncode == 2 and "unknown config key" in bad.stderr and "Traceback" not in bad.stderr
