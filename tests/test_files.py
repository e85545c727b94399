"""The one atomic writer, JSON reader and JSONL reader every module uses: exact bytes, no leftovers, one clear error
naming the file (and line) for bad input."""
import gzip

import pytest

from core.checkpoint import atomic_write_text, read_json
from core.data import ENGLISH_DIR, read_jsonl, read_text_documents
from core.errors import DataError


def test_atomic_write_text_replaces_in_place_and_leaves_nothing_behind(tmp_path):
    path = tmp_path / "sub" / "note.txt"
    atomic_write_text(path, "first\n")
    atomic_write_text(path, "é second\n")
    assert path.read_text(encoding="utf-8") == "é second\n"
    assert [p.name for p in path.parent.iterdir()] == ["note.txt"]


def test_atomic_write_text_keeps_the_old_file_when_writing_fails(tmp_path):
    path = tmp_path / "note.txt"
    atomic_write_text(path, "kept\n")
    with pytest.raises(UnicodeEncodeError):
        atomic_write_text(path, "\ud800")   # a lone surrogate cannot be encoded as UTF-8
    assert path.read_text() == "kept\n" and [p.name for p in tmp_path.iterdir()] == ["note.txt"]


def test_gz_rebuild_of_a_committed_data_file_is_byte_identical(tmp_path):
    committed = ENGLISH_DIR / "test.jsonl.gz"
    atomic_write_text(tmp_path / "test.jsonl.gz", gzip.decompress(committed.read_bytes()).decode("utf-8"))
    assert (tmp_path / "test.jsonl.gz").read_bytes() == committed.read_bytes()


def test_read_json_names_the_file_and_the_line(tmp_path):
    path = tmp_path / "row.json"
    path.write_text('{"a": 1,\n "b": }')
    with pytest.raises(DataError, match=r"row\.json:2: invalid JSON \(Expecting value\)$"):
        read_json(path)
    with pytest.raises(DataError, match=r"absent\.json: result row not found$"):
        read_json(tmp_path / "absent.json", missing="result row not found")
    path.write_text('{"a": [1, 2]}')
    assert read_json(path) == {"a": [1, 2]}


def test_read_jsonl_yields_line_numbers_and_refuses_non_objects(tmp_path):
    path = tmp_path / "docs.jsonl.gz"
    atomic_write_text(path, '{"text": "one"}\n\n{"text": "two"}\n')
    assert list(read_jsonl(path)) == [(1, {"text": "one"}), (3, {"text": "two"})]
    assert read_text_documents(path) == ["one", "two"]
    plain = tmp_path / "log.jsonl"
    plain.write_text('{"step": 1}\n7\n')
    with pytest.raises(DataError, match=r"log\.jsonl:2: expected a JSON object, got int$"):
        list(read_jsonl(plain))
    plain.write_text('{"step": 1}\n{"step": \n')
    with pytest.raises(DataError, match=r"log\.jsonl:2: malformed JSON \(Expecting value at column 9\)$"):
        list(read_jsonl(plain))
