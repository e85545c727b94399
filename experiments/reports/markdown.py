"""Cells and tables of the generated Markdown (results/README.md, results/tables/): one formatting for every table."""
from __future__ import annotations


def lookup(record: dict, key: str):
    """A dotted path into the record ("metrics.single.bleu"); None where any part is missing."""
    value = record
    for part in key.split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value


def cell(value) -> str:
    """A number to 4 significant digits, an interval as [low, high], "–" for a missing value; pipes escaped."""
    if value is None:
        return "–"
    if isinstance(value, (list, tuple)):      # an interval
        return "[" + ", ".join(cell(v) for v in value) + "]"
    if isinstance(value, float):
        text = f"{value:.4g}" if abs(value) < 1e4 else f"{value:.0f}"
    else:
        text = str(value)
    return text.replace("|", "\\|").replace("\n", " ")


def verdict(met: bool | None) -> str:
    """A target's verdict: "met", "missed", or "–" when the rows cannot settle it."""
    return {True: "met", False: "missed", None: "–"}[met]


def markdown_table(headers: list[str], rows: list[list[str]]) -> list[str]:
    """A pipe table; the cells are already text."""
    return ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|",
            *("| " + " | ".join(row) + " |" for row in rows)]
