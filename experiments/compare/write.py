"""Write results/compare/ (one Markdown and one CSV per table, README.md with every table, the figures) and rebuild
results/README.md, which embeds the same tables, so one command keeps them in sync.

    python -m experiments.compare [--results-dir results]   (default: runs/results)

The results directory is a parameter: the tables read every row in it and are written beside them.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from core.checkpoint import atomic_write_text
from core.evaluate.results import load_results
from core.paths import REPO_ROOT
from experiments.cli import add_results_dir
from experiments.compare.render import comparison_markdown, comparison_tables

COMPARE_DIR = "compare"


def compare_figure_names(results_dir: Path) -> list[str]:
    """The figures `write_comparison` left in <results_dir>/compare/, for the Markdown that shows them."""
    return sorted(p.name for p in (Path(results_dir) / COMPARE_DIR).glob("*.png"))


def write_comparison(results_dir: Path, repo: Path = REPO_ROOT) -> list[Path]:
    """Every table (.md and .csv) and figure under <results_dir>/compare/, then <results_dir>/README.md."""
    from experiments.compare.figures import comparison_figures   # matplotlib only when figures are drawn
    from experiments.tables import build_table

    results_dir = Path(results_dir)
    records = load_results(results_dir)      # refuses a broken row before anything is written
    out_dir = results_dir / COMPARE_DIR
    out_dir.mkdir(parents=True, exist_ok=True)
    written = comparison_figures(records, out_dir, results_dir / "training")
    tables = comparison_tables(records, repo, link_prefix="../")
    for table in tables:
        atomic_write_text(out_dir / f"{table.name}.md", "\n".join(table.markdown("#")) + "\n")
        atomic_write_text(out_dir / f"{table.name}.csv", table.csv_text())
        written += [out_dir / f"{table.name}.md", out_dir / f"{table.name}.csv"]
    index = comparison_markdown(tables, compare_figure_names(results_dir), heading="#", repo=repo)
    atomic_write_text(out_dir / "README.md", "\n".join(index) + "\n")
    written.append(out_dir / "README.md")
    written.append(build_table(results_dir, results_dir / "README.md", repo=repo))
    return written


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m experiments.compare", description=__doc__.splitlines()[0])
    add_results_dir(parser)
    args = parser.parse_args(argv)
    try:
        paths = write_comparison(args.results_dir)   # a missing folder or a broken row: nothing written
    except ValueError as error:
        print(f"experiments.compare: {error}", file=sys.stderr)
        return 2   # a user error, as every command reports one (experiments.cli)
    for path in paths:
        print(f"wrote {path}")
    return 0
