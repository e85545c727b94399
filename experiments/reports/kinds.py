"""What a result row is, read from its fields alone (never from its file name): the questions every table and figure
asks of a row."""
from __future__ import annotations

import os
import re
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


def teacher_folder(record: dict) -> str | None:
    """The name of the model folder a row's teacher came from (teacher_path), None when the row names none."""
    path = record.get("teacher_path")
    return Path(path).name if path else None


# The teacher folder whose rows a seq2seq task's tables report, where it is not the first committed one
# (checkpoints/<teacher>-<task>-<preset>, still the CLI's default): a folder trained further that beats it. The
# first one's rows stay, as a candidate teacher's.
REPORTED_TEACHERS = {"diffuseq-qg-small": "diffuseq-qg-small-15k", "diffuseq-qqp-small": "diffuseq-qqp-small-27k",
                     "diffuseq-ts-small": "diffuseq-ts-small-19k"}


def first_teacher(record: dict) -> str:
    """The name of the first committed teacher folder of a seq2seq row's teacher, task and size (the CLI's default)."""
    return f"{record['teacher']}-{record['task']}-{record.get('preset', 'small')}"


def reported_teacher(record: dict) -> str:
    """The name of the teacher folder the tables report for a seq2seq row's teacher, task and size."""
    return REPORTED_TEACHERS.get(first_teacher(record), first_teacher(record))


def from_other_seq2seq_teacher(record: dict) -> bool:
    """A seq2seq row whose teacher is not the reported one of its task and size (reported_teacher): a candidate
    teacher, compared with the reported one in its own table and kept out of the tables whose students were
    distilled from the reported one. Rows on a user's data (data.path) have no committed teacher: never."""
    if "task" not in record or not record.get("teacher_path") or is_ar(record) \
            or data_of(record, record["task"]) != record["task"]:
        return False
    return teacher_folder(record) != reported_teacher(record)


def settings_variant(record: dict) -> str:
    """A row's `variant` (the name suffix of its non-default settings) without the part that names another teacher
    (naming.data_suffix's "-from-<folder>-<6 hex digits>"): empty when only the teacher differs."""
    return re.sub(r"-from-[\w.]+-[0-9a-f]{6}$", "", record.get("variant") or "")


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


def load_rows(results_dir: str | os.PathLike, *, other_teachers: bool = False) -> list[dict]:
    """Every row of `results_dir` (core.evaluate.results.load_results) under today's names: what the reports read.
    Rows of a candidate seq2seq teacher (from_other_seq2seq_teacher) only when asked for: the one table that
    compares teachers and the model cards read them."""
    records = [current_names(record) for record in load_results(results_dir)]
    return records if other_teachers else [r for r in records if not from_other_seq2seq_teacher(r)]
