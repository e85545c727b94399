"""Records of a user's data file, whatever its format: a JSON list of objects, JSON lines, or CSV / TSV with a header
(each optionally gzipped). Used by `python -m experiments.data prepare`. Every problem is one DataError naming the
file, and the line or item where it is."""
from __future__ import annotations

import csv
import io
import json
import sys
from pathlib import Path
from typing import Iterator

from core.data import read_jsonl, read_text
from core.errors import DataError

FORMATS = (".json", ".jsonl", ".csv", ".tsv")


def input_format(path: Path) -> str:
    """The format of a file by its name, .gz aside."""
    name = path.name.removesuffix(".gz")
    suffix = Path(name).suffix.lower()
    if suffix not in FORMATS:
        raise DataError(f"{path}: unknown format {suffix or '(no extension)'!r}; give a .json (a list of objects), "
                        f".jsonl, .csv or .tsv file (optionally .gz)")
    return suffix


def read_records(path: Path) -> list[tuple[str, dict]]:
    """(where, record) of every record of the file: where is "<path>:<line>" or "<path>: item <i>"."""
    suffix = input_format(path)
    text = read_text(path)
    if not text.strip():
        raise DataError(f"{path}: the file is empty")
    reader = {".json": _json_records, ".jsonl": _jsonl_records, ".csv": _table_records, ".tsv": _table_records}
    records = list(reader[suffix](path, text))
    if not records:
        raise DataError(f"{path}: no records")
    return records


def _json_records(path: Path, text: str) -> Iterator[tuple[str, dict]]:
    try:
        items = json.loads(text)
    except json.JSONDecodeError as e:
        raise DataError(f"{path}:{e.lineno}: malformed JSON ({e.msg} at column {e.colno})") from None
    if not isinstance(items, list):
        raise DataError(f"{path}: expected a JSON list of objects, got a {type(items).__name__}; a file of one object "
                        f"per line is .jsonl")
    for i, item in enumerate(items, 1):
        if not isinstance(item, dict):
            raise DataError(f"{path}: item {i}: expected an object, got a {type(item).__name__}")
        yield f"{path}: item {i}", item


def _jsonl_records(path: Path, text: str) -> Iterator[tuple[str, dict]]:
    for lineno, record in read_jsonl(path):
        yield f"{path}:{lineno}", record


def _table_records(path: Path, text: str) -> Iterator[tuple[str, dict]]:
    csv.field_size_limit(sys.maxsize)   # a long document is one field
    delimiter = "\t" if input_format(path) == ".tsv" else ","
    reader = csv.DictReader(io.StringIO(text), delimiter=delimiter)
    if not reader.fieldnames or not any(name.strip() for name in reader.fieldnames):
        raise DataError(f"{path}:1: no header line naming the columns")
    try:
        for row in reader:
            yield f"{path}:{reader.line_num}", {k.strip(): v for k, v in row.items() if k is not None}
    except csv.Error as e:
        raise DataError(f"{path}:{reader.line_num}: malformed {input_format(path)[1:].upper()} ({e})") from None


def field_text(record: dict, fields: list[str], where: str, flag: str) -> str:
    """The text of one or several fields of a record (several, or a list of strings, joined by a space: a story
    given as sentence1..sentence5, a dialogue as its turns); DataError naming the record and the flag that chooses
    the field when one is missing."""
    parts = []
    for name in fields:
        if name not in record or record[name] is None:
            present = ", ".join(k for k in record if record[k] is not None) or "none"
            raise DataError(f"{where}: no field {name!r} (fields: {present}); name the field with {flag}")
        value = record[name]
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            value = " ".join(value)
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            value = str(value)
        elif not isinstance(value, str):
            raise DataError(f"{where}: field {name!r} is a {type(value).__name__}, not text")
        parts.append(value.strip())
    return " ".join(p for p in parts if p)
