"""Shared by the bad-input catalogue (no tests here): the committed models the cases name, a folder's listing to
show that nothing was written, and a command's CLI entry run in this process."""
import sys

import pytest

from core.paths import CHECKPOINTS_DIR

QG_TEACHER = CHECKPOINTS_DIR / "diffuseq-qg-small"
SEDD_TEACHER = CHECKPOINTS_DIR / "sedd-shakespeare-small"
MDLM_TEACHER = CHECKPOINTS_DIR / "mdlm-shakespeare-small"


def listing(folder):
    return sorted((str(p.relative_to(folder)), p.stat().st_mtime_ns) for p in folder.rglob("*"))


def call_cli(module_name, args, monkeypatch, capsys):
    import importlib

    from experiments.cli import run_cli

    module = importlib.import_module(module_name)
    monkeypatch.setattr(sys, "argv", [module_name, *args])
    with pytest.raises(SystemExit) as exit_info:
        run_cli(module.main)
    return exit_info.value.code, capsys.readouterr()
