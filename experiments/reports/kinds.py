"""What a result row is, read from its fields alone (never from its file name): the questions every table and figure
asks of a row."""
from __future__ import annotations

import os
from pathlib import Path

from core.evaluate.results import load_results
from teachers.registry import LEGACY_FAMILIES

MATCHED = "sample (entropy-matched)"     # the method of a teacher row sampled at the temperature matching a student's
SAMPLE_METHODS = ("sample", MATCHED)


def predictor(record: dict) -> str:
    """The sampler a row was drawn with."""
    return record.get("predictor", "default")


def is_ar(record: dict) -> bool:
    """An autoregressive baseline row: method "ar", or a sampled AR model (teacher "ar", "ar_lm", "ar_seq2seq")."""
    return record["method"] == "ar" or str(record.get("teacher", "")).split("_")[0] == "ar"


def variant(record: dict) -> str | None:
    """The student a distilled row was sampled from (its folder name); None for a teacher."""
    path = record.get("student_path")
    return Path(path).name if path else None


def data_of(record: dict, embedded: str) -> str:
    """What a row's table is: its data.path data as `<name>-<6 hex digits of its digest>` (as its name says), else
    the embedded corpus or task `embedded`; rows on a user's data never join the embedded data's table."""
    data = record.get("data")
    return f"{data['name']}-{data['digest'][:6]}" if isinstance(data, dict) and data.get("digest") else embedded


# Rows written before the Duo model after DCD was named duo_distilled say teacher "dcd" and name its committed
# folders by that name. The files stay as written (provenance); the reports read them under today's names, so one
# model has one label and its model card finds its rows.
RENAMED_FOLDERS = {"checkpoints/dcd-shakespeare-small": "checkpoints/duo_distilled-shakespeare-small",
                   "checkpoints/idlm-dcd-shakespeare-small": "checkpoints/idlm-duo_distilled-shakespeare-small"}


def current_names(record: dict) -> dict:
    """`record` with a legacy teacher name (teachers.registry.LEGACY_FAMILIES) and model folder read as today's."""
    record = dict(record)
    if record.get("teacher") in LEGACY_FAMILIES:
        record["teacher"] = LEGACY_FAMILIES[record["teacher"]]
    for key in ("teacher_path", "student_path"):
        if record.get(key) in RENAMED_FOLDERS:
            record[key] = RENAMED_FOLDERS[record[key]]
    return record


def load_rows(results_dir: str | os.PathLike) -> list[dict]:
    """Every row of `results_dir` (core.evaluate.results.load_results) under today's names: what the reports read."""
    return [current_names(record) for record in load_results(results_dir)]
