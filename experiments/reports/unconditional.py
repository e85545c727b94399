"""IDLM's Table 1 layout: unconditional generation per corpus, every method beside the others.

Rows, in this order: held-out text (the yardstick), AR, each teacher and sampler, SDTT, Duo-DCD, DiDi-Instruct, the
IDLM students; a method a later branch adds under a new name gets its own group after those. A row is found by its fields
(UNCONDITIONAL_GROUPS), never by its file name, so rows that land later join the table by themselves.

A *sweep* is the set of rows with the same group, method, teacher, sampler, steps, evaluator and student: the same
generator at several temperatures (the entropy-matched controls of the IDLM recipe are teacher rows of the sweep
at their T*). The table shows a sweep's temperature-1 row (all its rows when it has none) and lists the sweep's
temperatures; the GenPPL-at-matched-entropy column is read off the whole sweep (core.evaluate.temperature_match.
genppl_at_entropy) at one entropy for the corpus: that of the held-out text. That entropy belongs to no method,
does not move when a teacher is retrained or a row is added, and is the diversity every model imitates; a sweep
that does not reach it on both sides shows "–" (nothing is extrapolated).
"""
from __future__ import annotations

import shlex
from collections import defaultdict

from omegaconf import OmegaConf

from core.evaluate.temperature_match import genppl_at_entropy
from experiments.reports.kinds import MATCHED, SAMPLE_METHODS, data_of, is_ar, predictor, variant
from experiments.reports.markdown import lookup


# The distribution metrics shown beside GenPPL (experiments/distribution.py): column -> where a row keeps it. Rows
# written before they existed have none, and their cells stay blank.
DISTRIBUTION_COLUMNS = {"mauve_ar": "metrics.mauve_ar", "types_per_600_valid": "metrics.diversity.types_per_600_valid",
                        "top50_share": "metrics.diversity.top50_share", "self_bleu": "metrics.diversity.self_bleu"}


def distribution_values(record: dict) -> dict:
    return {column: lookup(record, key) for column, key in DISTRIBUTION_COLUMNS.items()}


# (group, does the row belong to it): the first test a row passes names its group; the order is the table's.
UNCONDITIONAL_GROUPS = (
    ("held-out text", lambda r: r["method"] == "real_text"),
    ("AR", is_ar),
    ("teacher", lambda r: r["method"] in SAMPLE_METHODS and r.get("teacher") != "duo_distilled"),
    ("SDTT", lambda r: r["method"] == "sdtt"),
    # the DCD method's rows and those of the model it makes (teacher=duo_distilled)
    ("Duo-DCD", lambda r: r["method"] == "dcd" or (r["method"] in SAMPLE_METHODS
                                                   and r.get("teacher") == "duo_distilled")),
    ("DiDi-Instruct", lambda r: r["method"] == "didi"),
    ("IDLM, grid t", lambda r: r["method"] == "idlm" and trained_on_grid(r)),
    ("IDLM + adversarial", lambda r: r["method"] == "idlm" and is_adversarial(r)),
    ("IDLM", lambda r: r["method"] == "idlm"),
)
GROUP_ORDER = [name for name, _ in UNCONDITIONAL_GROUPS]


def command_value(record: dict, key: str):
    """The value a row's command gave a config key, read as the config loader reads it (shlex tokens, OmegaConf's
    dotlist); None where the command does not set it. IDLM rows record how their student was trained only in their
    command."""
    for token in shlex.split(str(record.get("command", ""))):
        if token.partition("=")[0] == key:
            return OmegaConf.select(OmegaConf.from_dotlist([token]), key)   # the loader's own parse of an override
    return None


def is_adversarial(record: dict) -> bool:
    return command_value(record, "idlm.adversarial") is True


def trained_on_grid(record: dict) -> bool:
    """A student trained at the K-step sampler's times only (idlm.grid_steps=K)."""
    return command_value(record, "idlm.grid_steps") not in (None, 0)


def group_of(record: dict) -> str:
    return next((name for name, belongs in UNCONDITIONAL_GROUPS if belongs(record)), record["method"])


def sweep_key(record: dict) -> tuple:
    return (group_of(record), record["method"].removesuffix(" (entropy-matched)"), record.get("teacher"),
            predictor(record), record["steps"], str(record.get("evaluator")), variant(record))


def method_label(record: dict) -> str:
    """One name per curve in the figures: group, teacher, sampler when not the default, student when not the usual."""
    parts = [group_of(record)]
    if record.get("teacher") not in (None, "none") and not is_ar(record):
        parts.append(record["teacher"])
    if predictor(record) != "default":
        parts.append(f"({predictor(record)})")
    return " ".join(parts)


def unconditional_records(records: list[dict]) -> dict[str, list[dict]]:
    """Rows per corpus (records with a teacher and no task)."""
    by_corpus = defaultdict(list)
    for r in records:
        if "task" not in r and "teacher" in r:
            by_corpus[data_of(r, r.get("corpus") or "?")].append(r)
    return dict(sorted(by_corpus.items()))


def matched_entropy(rows: list[dict]) -> tuple[float | None, str]:
    """The common entropy H* of a corpus table and where it comes from: the held-out-text row (most samples)."""
    text = [r for r in rows if r["method"] == "real_text"]
    if not text:
        return None, "no held-out-text row for this corpus, so no common entropy"
    row = max(text, key=lambda r: (r["n_samples"], r["_file"]))
    return row["metrics"]["entropy"], f"the held-out text's entropy ({row['_file']})"


def table_rows(rows: list[dict], target: float | None) -> list[dict]:
    """One entry per shown row: {"record", "group", "sweep": [records of its sweep], "at_target": (GenPPL, record a,
    record b) or None}, ordered by group, teacher, sampler, student, steps and temperature."""
    sweeps = defaultdict(list)
    for r in rows:
        sweeps[sweep_key(r)].append(r)
    shown = []
    for key, sweep in sweeps.items():
        own = [r for r in sweep if r["method"] != MATCHED]       # the controls are points of the sweep, not rows
        at_one = [r for r in own if r.get("temperature", 1.0) == 1.0]
        at_target = None
        if target is not None:
            scored = [r for r in sweep if r["metrics"].get("entropy") is not None and r["metrics"].get("gen_ppl")]
            points = [(r.get("temperature", 1.0), r["metrics"]["entropy"], r["metrics"]["gen_ppl"]) for r in scored]
            found = genppl_at_entropy(points, target)
            at_target = (found[0], scored[found[1]], scored[found[2]]) if found else None
        shown += [{"record": r, "group": key[0], "sweep": sweep, "at_target": at_target} for r in at_one or own]

    def order(entry):
        r = entry["record"]
        group = entry["group"]
        rank = GROUP_ORDER.index(group) if group in GROUP_ORDER else len(GROUP_ORDER)
        return (rank, group, str(r.get("teacher")), predictor(r), str(variant(r)), r["steps"],
                r.get("temperature", 1.0), r["_file"])
    return sorted(shown, key=order)
