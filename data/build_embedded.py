"""Rebuild the embedded corpora and seq2seq splits in data/ from the original files.

    python data/build_embedded.py --source /path/to/shared/data

`--source` is a folder with the files listed in data/PROVENANCE.md (tinyshakespeare/input.txt, wikitext2_raw/,
nltk_corpora/, qqp/, quasar_t/, wiki_auto_related/). The output is deterministic: running it twice gives
byte-identical files. The small BPE is rebuilt separately (python -m experiments.build_tokenizer) because it is
trained on the `english` train split written here.
"""
from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

from core.checkpoint import atomic_write_text
from core.data import (ENGLISH_DIR, SEQ2SEQ_DIR, SHAKESPEARE_PATH, read_seq2seq_jsonl, split_pairs_by_group,
                       write_seq2seq_jsonl)
from core.paths import DATA_DIR
from core.tokenizers import CHAR_VOCAB_PATH, CharTokenizer

ENGLISH_CUTS = (0.90, 0.95)  # per source, contiguous in document order, cut at the document nearest the fraction
SEQ2SEQ_SOURCES = {  # task -> files pooled before splitting (only valid/test of these are public and small)
    "qqp": ["qqp/valid.jsonl", "qqp/test.jsonl"],
    "qg": ["quasar_t/valid.jsonl", "quasar_t/test.jsonl"],
    "ts": ["wiki_auto_related/valid_turk8ref_diffuseq.jsonl"],
}


# ---------------------------------------------------------------------------------------------- english documents

def detokenize_wikitext(line: str) -> str:
    """Undo WikiText's tokenisation spaces (" @-@ ", " , ", "( x )", " 's") so it reads like the ABC news text.

    The same intent as MDLM's wt_detokenizer; written here, smaller.
    """
    x = re.sub(r" @(.)@ ", r"\1", line)
    x = re.sub(r" (n't|'s|'re|'ve|'m|'ll|'d)\b", r"\1", x)
    x = re.sub(r" ([.,;:!?%)\]}])", r"\1", x)
    x = re.sub(r"([(\[{$£]) ", r"\1", x)
    x = re.sub(r'" ([^"]*?) "', r'"\1"', x)
    return re.sub(r"(=) (?==)", r"\1", x).strip()  # "= = Heading = =" -> "== Heading =="


def wikitext_articles(path: Path) -> list[str]:
    """Articles of a raw WikiText file: each starts at a level-1 heading line " = Title = "."""
    articles: list[list[str]] = []
    for line in path.read_text(encoding="utf-8").split("\n"):
        if re.fullmatch(r" = [^=].* = ", line):
            articles.append([])
        if articles and line.strip():
            articles[-1].append(detokenize_wikitext(line))
    return ["\n".join(a) for a in articles]


def abc_stories(path: Path) -> list[str]:
    """ABC Rural/Science news: blank-line separated blocks (a headline line, then the story's lines).

    Some blocks are sub-headed continuations of the previous story; the contiguous split keeps neighbours together.
    """
    return [b.strip() for b in re.split(r"\n\s*\n", path.read_text(encoding="utf-8")) if b.strip()]


# Punctuation of the 1970s addresses was decoded from Big5 as Latin-1 pairs in the NLTK copy ("¡X" is an em dash).
BIG5_PUNCTUATION = {"¡X": "\u2014", "¡¦": "\u2019", "¡§": "\u201c", "¡¨": "\u201d", "¡K": "\u2026", "¡@": " "}


def state_union_addresses(path: Path) -> list[str]:
    """State of the Union addresses: each starts, after a blank line, at its title, in upper case ("PRESIDENT X'S
    ANNUAL MESSAGE TO ...") or, for 1970-1974, "Annual Message to the Congress on the State of the Union. <date>"."""
    text = path.read_text(encoding="utf-8")
    for garbled, char in BIG5_PUNCTUATION.items():
        text = text.replace(garbled, char)
    lines = text.split("\n")

    def is_title(line: str) -> bool:
        upper_title = len(line) >= 40 and line == line.upper() and re.search(r"ADDRESS|MESSAGE", line)
        return bool(upper_title or line.startswith("Annual Message to the Congress on the State of the Union"))

    starts = [i for i, line in enumerate(lines) if (i == 0 or not lines[i - 1].strip()) and is_title(line.strip())]
    docs = []
    for a, b in zip(starts, starts[1:] + [len(lines)]):
        body = [l.strip() for l in lines[a:b] if l.strip() and l.strip() != "ALL WEB RESOURCES >>"]
        docs.append("\n".join(body))
    return docs


def contiguous_split(docs: list[str], cuts=ENGLISH_CUTS) -> dict[str, list[str]]:
    """train/valid/test = consecutive documents up to ~90% / ~95% / 100% of the characters."""
    total = sum(len(d) for d in docs)
    out = {"train": [], "valid": [], "test": []}
    seen = 0
    for d in docs:
        split = "train" if seen < cuts[0] * total else "valid" if seen < cuts[1] * total else "test"
        out[split].append(d)
        seen += len(d)
    return out


def build_english(source: Path) -> dict:
    sources = {
        "wikitext2": wikitext_articles(source / "wikitext2_raw/valid.txt")
        + wikitext_articles(source / "wikitext2_raw/test.txt"),
        "abc": abc_stories(source / "nltk_corpora/abc.txt"),
        "state_union": state_union_addresses(source / "nltk_corpora/state_union.txt"),
    }
    stats = {}
    records = {"train": [], "valid": [], "test": []}
    for name, docs in sources.items():
        for split, part in contiguous_split(docs).items():
            records[split] += [{"text": d, "source": name} for d in part]
            stats[f"{name}/{split}"] = (len(part), sum(len(d) for d in part))
    for split, recs in records.items():
        text = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in recs)
        atomic_write_text(ENGLISH_DIR / f"{split}.jsonl.gz", text)
    return stats


# ------------------------------------------------------------------------------------------------------ entry point

def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--source", type=Path, required=True, help="folder with the original files")
    source = parser.parse_args().source

    shakespeare = (source / "tinyshakespeare/input.txt").read_text(encoding="utf-8")
    atomic_write_text(SHAKESPEARE_PATH, shakespeare)
    CharTokenizer.from_text(shakespeare).save(CHAR_VOCAB_PATH)
    print(f"shakespeare: {len(shakespeare)} characters, {len(set(shakespeare))} symbols")

    for key, (n_docs, n_chars) in build_english(source).items():
        print(f"english {key}: {n_docs} documents, {n_chars} characters")

    for task, files in SEQ2SEQ_SOURCES.items():
        pairs = [p for f in files for p in read_seq2seq_jsonl(source / f)]
        for split, part in split_pairs_by_group(pairs).items():
            write_seq2seq_jsonl(SEQ2SEQ_DIR / task / f"{split}.jsonl.gz", part)
            print(f"{task} {split}: {len(part)} pairs, {len({p['src'] for p in part})} sources")
    print(f"written under {DATA_DIR}")


if __name__ == "__main__":
    main()
