"""What a result row is, read from its fields alone (never from its file name): the questions every table and figure
asks of a row."""
from __future__ import annotations

from pathlib import Path

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
