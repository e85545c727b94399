"""Every tracked Python file is free of the mistakes that only fail when their line runs: a name used but never
defined or imported (a NameError in a rarely run recipe path), a local read before assignment, an `__all__` entry
that does not exist. Style findings (unused imports and the like) are left to review."""
from __future__ import annotations

import ast
import subprocess

import pytest
from pyflakes import checker, messages

from core.paths import REPO_ROOT

RUNTIME_ERRORS = (messages.UndefinedName, messages.UndefinedLocal, messages.UndefinedExport)


def runtime_errors(source: str, filename: str) -> list[str]:
    found = checker.Checker(ast.parse(source, filename=filename), filename=filename).messages
    return [str(message) for message in found if isinstance(message, RUNTIME_ERRORS)]


def tracked_python_files() -> list[str]:
    listed = subprocess.run(["git", "ls-files", "*.py"], cwd=REPO_ROOT, capture_output=True, text=True)
    if listed.returncode != 0:
        pytest.skip("not a git checkout")
    return listed.stdout.split()


def test_the_check_finds_a_name_that_was_never_imported():
    source = "from experiments.students import block_batches\n\ndef run(cfg):\n    return distil_and_write_rows(cfg)\n"
    assert runtime_errors(source, "recipe.py") == ["recipe.py:4:12: undefined name 'distil_and_write_rows'"]
    assert runtime_errors(source.replace("block_batches", "distil_and_write_rows"), "recipe.py") == []


def test_no_tracked_file_uses_an_undefined_name():
    files = tracked_python_files()
    assert len(files) > 100
    problems = [problem for name in files for problem in runtime_errors((REPO_ROOT / name).read_text(), name)]
    assert problems == []
