"""Shared by the tests that rerun committed commands (no tests here). Commands recorded before the Duo model after DCD
was named duo_distilled say teacher=dcd and name its folders checkpoints/dcd-... and checkpoints/idlm-dcd-...; the
rows they wrote keep their names (dcd-..., idlm-dcd-...). The rows and folders stay as written (provenance): the tests
read them under today's names, with the mappings the code reads them with."""
import shlex

from experiments.reports.kinds import RENAMED_FOLDERS
from teachers.registry import LEGACY_FAMILIES


def todays_args(command: str) -> list[str]:
    """The key=value arguments of a recorded `python -m <module> ...` command, under today's names."""
    args = []
    for arg in shlex.split(command)[3:]:
        key, _, value = arg.partition("=")
        value = LEGACY_FAMILIES.get(value, value) if key == "teacher" else RENAMED_FOLDERS.get(value, value)
        args.append(f"{key}={value}")
    return args


def todays_row_name(stem: str, command: str) -> str:
    """The name a committed row's command gives its row today: a teacher=dcd row's dcd- reads duo_distilled-."""
    for old, new in LEGACY_FAMILIES.items():
        if f"teacher={old}" in shlex.split(command):
            return stem.replace(f"{old}-", f"{new}-", 1)
    return stem
