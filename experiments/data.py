"""Bring your own data: turn a JSON, JSONL, CSV or TSV file into a data.path folder.

    python -m experiments.data prepare stories.csv data/stories --text-field sentence1,sentence2,sentence3
    python -m experiments.data prepare e2e.csv data/e2e --format seq2seq --src-field mr --trg-field ref

Writes <out>/train.jsonl, valid.jsonl, test.jsonl: {"text": ...} documents (--format lm) or {"src": ..., "trg": ...}
pairs (--format seq2seq). The split is by group, so nothing leaks between splits: identical documents (lm), and pairs
sharing a source or a target (seq2seq), stay in one split. Reports the token lengths under the tokenizer that will
train on them and the data.seq_len that holds 99% of the training examples whole (what data.seq_len=auto picks).
"""
from __future__ import annotations

import argparse
from pathlib import Path

from core.data import SPLITS, split_pairs_by_group, write_seq2seq_jsonl
from core.errors import ConfigError, DataError
from experiments.cli import run_cli
from experiments.data_formats import field_text, read_records

TOKENIZERS = ("char", "small_bpe", "gpt2", "bert")
DEFAULT_TOKENIZER = {"lm": "char", "seq2seq": "bert"}   # the embedded default corpus's, and DiffuSeq's


class Parser(argparse.ArgumentParser):
    """argparse that reports a bad argument as one ConfigError line (exit 2 through run_cli), not usage text."""

    def error(self, message: str):
        raise ConfigError(f"{self.prog}: {message} (see --help)")


def parser() -> argparse.ArgumentParser:
    top = Parser(prog="python -m experiments.data", description=__doc__.splitlines()[0])
    commands = top.add_subparsers(dest="command", required=True, parser_class=Parser)
    p = commands.add_parser("prepare", help="convert a data file into train/valid/test.jsonl with grouped splits")
    p.add_argument("input", type=Path, help=".json (a list of objects), .jsonl, .csv or .tsv, optionally .gz")
    p.add_argument("out", type=Path, help="the folder to write (then data.path=<out>)")
    p.add_argument("--format", choices=("lm", "seq2seq"), help="default: seq2seq when --src-field/--trg-field are "
                                                               "given or the records have src and trg, else lm")
    p.add_argument("--valid", type=float, default=0.1, help="fraction of the groups for valid (default 0.1)")
    p.add_argument("--test", type=float, default=0.1, help="fraction of the groups for test (default 0.1)")
    p.add_argument("--text-field", default="text", help="lm: the field(s) of a document, comma-separated fields "
                                                        "joined by a space (default text)")
    p.add_argument("--src-field", default="src", help="seq2seq: the source field (default src)")
    p.add_argument("--trg-field", default="trg", help="seq2seq: the target field (default trg)")
    p.add_argument("--group-by", choices=("source", "sentence"), default="source",
                   help="seq2seq: source keeps pairs sharing a source in one split (default); sentence also pairs "
                        "sharing a target (a paraphrase set listed both ways; a common reply would join everything)")
    p.add_argument("--seed", type=int, default=0, help="which grouped split (default 0)")
    p.add_argument("--tokenizer", choices=TOKENIZERS, help="the lengths' tokenizer (default: char for lm, as "
                                                           "corpus=shakespeare; bert for seq2seq, as DiffuSeq)")
    return top


def chosen_format(args, records: list[tuple[str, dict]], given: set[str]) -> str:
    """--format, else what the fields given or the first record's fields say."""
    if args.format:
        return args.format
    if "text_field" in given or not (given & {"src_field", "trg_field"} or {"src", "trg"} <= records[0][1].keys()):
        return "lm"
    return "seq2seq"


def examples_of(records, fmt: str, args) -> tuple[list, int]:
    """(documents | {"src","trg"} pairs, records skipped because a side is empty)."""
    out = []
    if fmt == "lm":
        fields = [f.strip() for f in args.text_field.split(",") if f.strip()]
        for where, record in records:
            out.append(field_text(record, fields, where, "--text-field"))
    else:
        for where, record in records:
            out.append({"src": field_text(record, [args.src_field], where, "--src-field"),
                        "trg": field_text(record, [args.trg_field], where, "--trg-field")})
    kept = [x for x in out if (x if fmt == "lm" else x["src"] and x["trg"])]
    return kept, len(out) - len(kept)


def grouped_split(examples: list, fmt: str, args) -> dict:
    """train/valid/test by group (core.data.split_pairs_by_group): identical documents, or pairs sharing a source
    (and with --group-by sentence a target), are one group."""
    fractions = (1 - args.valid - args.test, args.valid, args.test)
    rows = [{"text": d} for d in examples] if fmt == "lm" else examples
    keys = ("text",) if fmt == "lm" else ("src",) if args.group_by == "source" else ("src", "trg")
    split = split_pairs_by_group(rows, fractions, salt=f"dlm-distill-prepare-{args.seed}", keys=keys)
    if fmt == "lm":
        split = {name: [r["text"] for r in part] for name, part in split.items()}
    empty = [name for name in SPLITS if not split[name]]
    if empty:
        raise DataError(f"{args.input}: {len(examples)} examples leave the {empty[0]} split empty "
                        f"({fractions[SPLITS.index(empty[0])]:g} of the groups rounds to none); give more data or "
                        f"change --valid / --test")
    return split


def write_split(out: Path, split: dict, fmt: str) -> None:
    import json

    from core.checkpoint import atomic_write_text

    for name, rows in split.items():
        if fmt == "lm":
            atomic_write_text(out / f"{name}.jsonl", "".join(json.dumps({"text": t}, ensure_ascii=False) + "\n"
                                                             for t in rows))
        else:
            write_seq2seq_jsonl(out / f"{name}.jsonl", rows)


def length_report(train: list, fmt: str, tokenizer_name: str) -> list[str]:
    """The lines on the train split's token lengths and the data.seq_len that holds 99% of its examples whole."""
    from core.data_stats import covering_seq_len, lm_lengths, percentiles, seq2seq_lengths, token_counts
    from core.tokenizers import load_tokenizer

    tokenizer = load_tokenizer(tokenizer_name)
    if fmt == "lm":
        lengths, unknown = lm_lengths(train, tokenizer)
        rows = [("document + [BOS] [EOS]", lengths)]
        what = "documents"
    else:
        pairs = [(p["src"], p["trg"]) for p in train]
        src, trg, lengths = seq2seq_lengths(pairs, tokenizer)
        unknown = token_counts([t for pair in pairs for t in pair], tokenizer)[1]
        rows = [("source", src), ("target", trg), ("[CLS] src [SEP] trg [SEP]", lengths)]
        what = "pairs"
    lines = [f"train tokens ({tokenizer_name}):{'':18s} p50    p90    p99    max"]
    for label, values in rows:
        lines.append(f"  {label:34s}" + "".join(f"{v:7d}" for v in percentiles(values).values()))
    lines.append(f"data.seq_len={covering_seq_len(lengths)} holds 99% of the train {what} whole "
                 f"(data.seq_len=auto picks it)")
    if unknown:
        shown = "".join(sorted(unknown))[:20]
        lines.append(f"warning: {len(unknown)} distinct characters are outside the {tokenizer_name} alphabet "
                     f"({shown!r}); train with corpus=english (small_bpe), and prepare with --tokenizer small_bpe "
                     f"for its lengths")
    return lines


def prepare(args, given: set[str]) -> list[str]:
    if not 0 < args.valid < 1 or not 0 < args.test < 1 or args.valid + args.test >= 1:
        raise ConfigError(f"--valid {args.valid:g} --test {args.test:g}: each must be in (0, 1) and together below 1 "
                          f"(the rest is train)")
    if args.out.exists() and not args.out.is_dir():
        raise ConfigError(f"{args.out} is a file, not a folder")
    records = read_records(args.input)
    fmt = chosen_format(args, records, given)
    wrong = {"lm": ("src_field", "trg_field", "group_by"), "seq2seq": ("text_field",)}[fmt]
    if given & set(wrong):
        flag = "--" + sorted(given & set(wrong))[0].replace("_", "-")
        raise ConfigError(f"{flag} has no effect with --format {fmt}")
    examples, skipped = examples_of(records, fmt, args)
    if not examples:
        raise DataError(f"{args.input}: every record has an empty {'text' if fmt == 'lm' else 'source or target'}")
    split = grouped_split(examples, fmt, args)
    write_split(args.out, split, fmt)
    unit = "documents" if fmt == "lm" else "pairs"
    kept = "identical documents" if fmt == "lm" else \
        f"pairs sharing a source{' or a target' if args.group_by == 'sentence' else ''}"
    tokenizer_name = args.tokenizer or DEFAULT_TOKENIZER[fmt]
    lines = [f"read {len(records)} records of {args.input} as {fmt}"
             + (f" ({skipped} with an empty field skipped)" if skipped else ""),
             f"wrote {args.out}/: " + ", ".join(f"{name}.jsonl {len(split[name])} {unit}" for name in SPLITS)
             + f"; {kept} stay in one split",
             *length_report(split["train"], fmt, tokenizer_name)]
    teacher = "teacher=diffuseq" if fmt == "seq2seq" else f"teacher=mdlm corpus={corpus_of(tokenizer_name)}"
    lines.append(f"next: python -m experiments.pretrain {teacher} data.path={args.out} data.seq_len=auto")
    return lines


def corpus_of(tokenizer_name: str) -> str:
    """The corpus= that trains a language model with this tokenizer (the first of experiments.setup's table)."""
    from experiments.setup import CORPUS_TOKENIZERS

    return next(corpus for corpus, name in CORPUS_TOKENIZERS.items() if name == tokenizer_name)


def main(argv: list[str]) -> int:
    args = parser().parse_args(argv)
    given = {a.split("=", 1)[0][2:].replace("-", "_") for a in argv if a.startswith("--")}   # flags on the line
    print("\n".join(prepare(args, given)))
    return 0


if __name__ == "__main__":
    run_cli(main)
