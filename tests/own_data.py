"""Shared by the data tests (no tests here): synthetic stand-ins for a user's data sets, a five-sentence story corpus
(CSV, one column per sentence) and a meaning-representation-to-text set (JSONL), in the char alphabet of
tinyshakespeare so the default `char` tokenizer reads them; and data folders written directly in the layout
`experiments.data prepare` makes."""
import csv
import json
import random

NAMES = ["Tom", "Ann", "Bob", "Sue", "Max", "Lia", "Kim", "Joe", "Eva", "Ned"]
VERBS = ["saw", "met", "helped", "called", "found", "liked"]
THINGS = ["a cat", "the dog", "a friend", "the teacher", "a bird", "the baker"]


def sentence(rng: random.Random) -> str:
    return f"{rng.choice(NAMES)} {rng.choice(VERBS)} {rng.choice(THINGS)}."


def write_stories_csv(path, n: int, seed: int = 0) -> list[str]:
    """n stories of five sentences as storyid, storytitle, sentence1..sentence5; returns the stories' texts."""
    rng = random.Random(seed)
    columns = ["storyid", "storytitle", *(f"sentence{i}" for i in range(1, 6))]
    rows = [[str(k), f"Story {k}", *(sentence(rng) for _ in range(5))] for k in range(n)]
    with open(path, "w", newline="") as f:
        csv.writer(f).writerows([columns, *rows])
    return [" ".join(row[2:]) for row in rows]


def mr_records(n: int, seed: int = 0) -> list[dict]:
    """n (meaning representation, text) records; every fifth one repeats an earlier representation with another
    text (a second reference of one source)."""
    rng = random.Random(seed)
    records = []
    for k in range(n):
        if k % 5 == 4:
            name, thing = records[k - 2]["mr"][5:].split("] thing[")
            thing = thing.rstrip("]")
        else:
            name, thing = rng.choice(NAMES), rng.choice(THINGS)
        records.append({"mr": f"name[{name}] thing[{thing}]", "ref": f"{name} {rng.choice(VERBS)} {thing}."})
    return records


def write_jsonl(path, records) -> None:
    path.write_text("".join(json.dumps(r) + "\n" for r in records))


def seq2seq_folder(folder, pairs_by_split: dict) -> None:
    """train/valid/test.jsonl of {"src", "trg"} pairs, as `prepare --format seq2seq` writes them."""
    folder.mkdir(parents=True, exist_ok=True)
    for split, pairs in pairs_by_split.items():
        write_jsonl(folder / f"{split}.jsonl", [{"src": s, "trg": t} for s, t in pairs])


def lm_folder(folder, docs_by_split: dict) -> None:
    """train/valid/test.jsonl of {"text"} documents, as `prepare --format lm` writes them."""
    folder.mkdir(parents=True, exist_ok=True)
    for split, docs in docs_by_split.items():
        write_jsonl(folder / f"{split}.jsonl", [{"text": d} for d in docs])


def toy_pairs(tag: str, n: int = 6) -> dict:
    return {split: [(f"what is {tag} item {i}", f"item {i} of {tag}") for i in range(n)]
            for split in ("train", "valid", "test")}
