"""The model card (README.md) written into every exported model folder, so a folder copied to the Hugging Face Hub
says what it is, how it was made and how well it does without the repository at hand.

A card holds: YAML front matter for the Hub (library, tags), what the model is (family, parameter count, tokenizer,
sequence length), how to load it, the command and commit that made it (from the folder's provenance) and, when given,
its result rows (the JSON records of `core.evaluate.results`) as a table.
"""
from __future__ import annotations

from pathlib import Path

from core.paths import REPO_ROOT

LIBRARY_NAME = "dlm-distill"
# commits recorded with this suffix were made from a working tree with uncommitted changes (core.evaluate.results)
DIRTY_SUFFIX = "+dirty"
# the fixed names runs give their exports (runs/<run>/pretrained; IDLM's runs/<run>/student and last)
EXPORT_NAMES = ("pretrained", "student", "last")


def display_path(folder) -> str:
    """A folder as a user of the repository would type it: relative to the repository when inside it."""
    resolved = Path(folder).resolve()
    return str(resolved.relative_to(REPO_ROOT)) if resolved.is_relative_to(REPO_ROOT) else str(folder)


def card_title(folder) -> str:
    """The model's name: its folder's, or its run's for the fixed export names."""
    folder = Path(folder)
    return folder.parent.name if folder.name in EXPORT_NAMES and folder.parent.name else folder.name


def model_card(*, folder: str, family: str, description: str, parameters: int, tokenizer: str, seq_len: int,
               load: str, provenance: dict | None = None, metrics: list[dict] | None = None,
               metric_names: list[str] | None = None, reproduce: str | None = None) -> str:
    """The card's markdown text for the model in `folder`. `load` is a short Python snippet that loads it;
    `metrics` are result rows,
    shown with the metrics `metric_names` (dotted for nested ones; default: every scalar metric); `reproduce` is the
    command that retrains the model from scratch, when there is one."""
    lines = ["---", f"library_name: {LIBRARY_NAME}", "tags:", "- diffusion-language-model", f"- {family}", "---", "",
             f"# {card_title(folder)}", "", description, "",
             "| | |", "|---|---|",
             f"| family | `{family}` |",
             f"| parameters | {parameters:,} ({parameters / 1e6:.2f}M) |",
             f"| tokenizer | `{tokenizer}` (a `core.tokenizers` name) |",
             f"| sequence length | {seq_len} |", "",
             "## Load", "", "```python", load, "```", ""]
    lines += _provenance_section(provenance or {})
    if reproduce:
        lines += [f"Every phase of its training, with the hardware and time it took: `{reproduce}`.", ""]
    if metrics:
        lines += _metrics_section(metrics, metric_names)
    return "\n".join(lines).rstrip() + "\n"


def _provenance_section(provenance: dict) -> list[str]:
    lines = ["## How it was made", ""]
    if not provenance:
        return lines + ["No provenance was recorded for this export.", ""]
    command, commit = provenance.get("command"), str(provenance.get("commit", "unknown"))
    if command:
        lines += ["The command of the last training segment (a resumed run continues its earlier segments):", "",
                  "```bash", command, "```", ""]
    lines.append(f"* commit: `{commit}`")
    if commit.endswith(DIRTY_SUFFIX):
        lines.append("  (the working tree had uncommitted changes, so this commit alone does not reproduce it)")
    for key in sorted(set(provenance) - {"command", "commit"}):
        lines.append(f"* {key}: `{provenance[key]}`")
    return lines + [""]


def _metrics_section(rows: list[dict], names: list[str] | None) -> list[str]:
    """One table row per result record: its steps and NFE (and candidates or temperature where rows differ in them),
    then the metrics `names`, by default every scalar one (nested ones dotted)."""
    flat = [_scalar_metrics(row.get("metrics", {})) for row in rows]
    present = {name for metrics in flat for name in metrics}
    names = [name for name in names if name in present] if names else sorted(present)
    varying = [key for key in ("candidates", "temperature") if len({row.get(key) for row in rows}) > 1]
    header = ["method", "steps", *varying, "nfe", "samples", *names, "commit"]
    lines = ["## Results", "", "Rows written by `python -m experiments.run`; each row's command is in its JSON.", "",
             "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row, metrics in zip(rows, flat):
        cells = [row.get("method", ""), row.get("steps", ""), *(_fmt(row.get(key, "")) for key in varying),
                 _fmt(row.get("nfe", "")), row.get("n_samples", ""),
                 *(_fmt(metrics.get(name, "")) for name in names), f"`{short_commit(row.get('commit', ''))}`"]
        lines.append("| " + " | ".join(str(cell) for cell in cells) + " |")
    return lines + [""]


def _scalar_metrics(metrics: dict, prefix: str = "") -> dict:
    out = {}
    for key, value in metrics.items():
        if isinstance(value, dict):
            out.update(_scalar_metrics(value, f"{prefix}{key}."))
        elif _is_number(value) or (isinstance(value, list) and len(value) == 2 and all(map(_is_number, value))):
            out[f"{prefix}{key}"] = value   # a number, or an interval [low, high]
    return out


def short_commit(commit) -> str:
    commit = str(commit)
    return commit[:12] + (DIRTY_SUFFIX if commit.endswith(DIRTY_SUFFIX) else "")


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _fmt(value) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(map(_fmt, value)) + "]"
    return f"{value:.4g}" if isinstance(value, float) else str(value)
