"""`python -m experiments.data prepare`: a JSON, JSONL, CSV or TSV file becomes a data.path folder with grouped
splits and a length report; bad input is one line and exit code 2."""
import json
import re

import pytest

from core.data import load_seq2seq, normalize_for_split, read_text_documents
from core.data_stats import covering_seq_len, lm_lengths, seq2seq_lengths
from core.tokenizers import load_tokenizer
from tests.bad_input import call_cli
from tests.own_data import mr_records, write_jsonl, write_stories_csv


def prepare(args, monkeypatch, capsys):
    return call_cli("experiments.data", ["prepare", *map(str, args)], monkeypatch, capsys)


def test_a_story_csv_becomes_documents_with_no_story_in_two_splits(tmp_path, monkeypatch, capsys):
    stories = write_stories_csv(tmp_path / "stories.csv", 40)
    with open(tmp_path / "stories.csv", "a") as f:   # a story told twice stays in one split
        f.write("40,Again," + ",".join(f"{s}." for s in stories[3][:-1].split(". ")) + "\n")
    fields = ",".join(f"sentence{i}" for i in range(1, 6))
    code, out = prepare([tmp_path / "stories.csv", tmp_path / "lm", "--text-field", fields], monkeypatch, capsys)
    assert code == 0, out.err
    docs = {split: read_text_documents(tmp_path / "lm" / f"{split}.jsonl") for split in ("train", "valid", "test")}
    assert sorted(d for split in docs.values() for d in split) == sorted(stories + [stories[3]])
    assert [len(docs[s]) for s in ("train", "valid", "test")] in ([33, 4, 4], [32, 4, 5], [32, 5, 4])
    assert sum(stories[3] in split for split in docs.values()) == 1
    assert re.search(r"^read 41 records of \S+stories.csv as lm$", out.out, re.M)
    lengths = lm_lengths(docs["train"], load_tokenizer("char"))[0]
    assert f"data.seq_len={covering_seq_len(lengths)} holds 99% of the train documents whole" in out.out
    assert re.search(r"^  document \+ \[BOS\] \[EOS\]\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)$", out.out, re.M)
    assert f"next: python -m experiments.pretrain teacher=mdlm corpus=shakespeare data.path={tmp_path / 'lm'} " \
           f"data.seq_len=auto" in out.out


def test_meaning_representations_become_pairs_grouped_by_source(tmp_path, monkeypatch, capsys):
    records = mr_records(40)
    write_jsonl(tmp_path / "mr.jsonl", records)
    code, out = prepare([tmp_path / "mr.jsonl", tmp_path / "s2s", "--src-field", "mr", "--trg-field", "ref",
                         "--seed", "3"], monkeypatch, capsys)
    assert code == 0, out.err
    splits = {s: load_seq2seq(str(tmp_path / "s2s"), s) for s in ("train", "valid", "test")}
    sources = {s: {normalize_for_split(e.src) for e in ex} for s, ex in splits.items()}
    assert not sources["train"] & sources["valid"] and not sources["train"] & sources["test"]
    assert not sources["valid"] & sources["test"]
    assert sum(len(e.refs) for ex in splits.values() for e in ex) == 40
    assert any(len(e.refs) == 2 for ex in splits.values() for e in ex)   # a repeated source keeps both texts
    train = [(e.src, r) for e in splits["train"] for r in e.refs]
    src, trg, total = seq2seq_lengths(train, load_tokenizer("bert"))
    assert f"data.seq_len={covering_seq_len(total)} holds 99% of the train pairs whole" in out.out
    assert re.search(rf"^  source\s+\d+\s+\d+\s+\d+\s+{max(src)}$", out.out, re.M)
    assert "next: python -m experiments.pretrain teacher=diffuseq data.path=" in out.out
    # the same seed gives the same files; another seed another split
    before = (tmp_path / "s2s" / "train.jsonl").read_text()
    assert prepare([tmp_path / "mr.jsonl", tmp_path / "s2s", "--src-field", "mr", "--trg-field", "ref", "--seed",
                    "3"], monkeypatch, capsys)[0] == 0
    assert (tmp_path / "s2s" / "train.jsonl").read_text() == before
    prepare([tmp_path / "mr.jsonl", tmp_path / "other", "--src-field", "mr", "--trg-field", "ref"], monkeypatch,
            capsys)
    assert (tmp_path / "other" / "train.jsonl").read_text() != before


@pytest.mark.parametrize("name, write", [
    ("d.json", lambda p: p.write_text(json.dumps([{"src": "hi there", "trg": "hello"}, {"src": "bye", "trg": "ciao"},
                                                  {"src": "yes", "trg": "si"}]))),
    ("d.tsv", lambda p: p.write_text("src\ttrg\nhi there\thello\nbye\tciao\nyes\tsi\n")),
    ("d.csv", lambda p: p.write_text('src,trg\n"hi there",hello\nbye,ciao\nyes,si\n')),
])
def test_json_tsv_and_csv_with_src_and_trg_are_read_as_pairs(name, write, tmp_path, monkeypatch, capsys):
    write(tmp_path / name)
    code, out = prepare([tmp_path / name, tmp_path / "out", "--valid", "0.34", "--test", "0.33"], monkeypatch, capsys)
    assert code == 0, out.err
    assert "as seq2seq" in out.out
    pairs = [json.loads(line) for s in ("train", "valid", "test")
             for line in (tmp_path / "out" / f"{s}.jsonl").read_text().splitlines()]
    assert sorted(p["src"] for p in pairs) == ["bye", "hi there", "yes"]


@pytest.mark.parametrize("name, content, args, message", [
    ("s.csv", "id,story\n1,Once.\n", [], r"s.csv:2: no field 'text' \(fields: id, story\); name the field with "
                                         r"--text-field"),
    ("p.jsonl", '{"src": "a", "trg": "b"}\n{"src": "c"}\n', [], r"p.jsonl:2: no field 'trg' \(fields: src\); name "
                                                                r"the field with --trg-field"),
    ("e.jsonl", "", [], r"e.jsonl: the file is empty"),
    ("e.csv", "\n\n", [], r"e.csv: the file is empty"),
    ("d.xml", "<a/>", [], r"d.xml: unknown format '.xml'; give a .json \(a list of objects\), .jsonl, .csv or .tsv"),
    ("d.json", '{"src": "a"}', [], r"d.json: expected a JSON list of objects, got a dict"),
    ("d.json", '[{"src": "a",]', [], r"d.json:1: malformed JSON"),
    ("d.json", '[{"text": "a"}, 3]', [], r"d.json: item 2: expected an object, got a int"),
    ("p.jsonl", '{"src": "a", "trg": "b"}\n', ["--format", "seq2seq", "--text-field", "src"],
     r"^error: --text-field has no effect with --format seq2seq$"),
    ("p.jsonl", '{"src": "a", "trg": "b"}\n{"src": "c", "trg": "d"}\n', [],
     r"p.jsonl: 2 examples leave the \w+ split empty .*; give more data or change --valid / --test"),
    ("p.jsonl", '{"src": "a", "trg": "b"}\n', ["--valid", "0.6", "--test", "0.5"],
     r"^error: --valid 0.6 --test 0.5: each must be in \(0, 1\) and together below 1"),
    ("p.jsonl", '{"src": "a", "trg": "b"}\n', ["--format", "json"], r"argument --format: invalid choice: 'json'"),
])
def test_bad_input_is_one_line_and_exit_2(name, content, args, message, tmp_path, monkeypatch, capsys):
    (tmp_path / name).write_text(content)
    code, out = prepare([tmp_path / name, tmp_path / "out", *args], monkeypatch, capsys)
    assert code == 2 and out.err.startswith("error: ") and out.err.count("\n") == 1, out.err
    assert re.search(message, out.err), out.err
    assert not (tmp_path / "out").exists()


def test_an_unknown_command_and_a_missing_file_are_one_line(tmp_path, monkeypatch, capsys):
    code, out = call_cli("experiments.data", ["prepar", "a", "b"], monkeypatch, capsys)
    assert code == 2 and re.fullmatch(r"error: python -m experiments.data: argument command: invalid choice: "
                                      r"'prepar' \(choose from '?prepare'?\) \(see --help\)\n", out.err), out.err
    code, out = prepare([tmp_path / "none.csv", tmp_path / "out"], monkeypatch, capsys)
    assert code == 2 and out.err == f"error: {tmp_path / 'none.csv'}: file not found\n"
