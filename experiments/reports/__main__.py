"""`python -m experiments.reports <command>`: every generated table, figure, report and model card, from the rows alone.

    python -m experiments.reports all --results-dir results        # figures, tables, results/README.md, training index, cards
    python -m experiments.reports figures [--results-dir D]         # <D>/figures/*.png
    python -m experiments.reports tables [--results-dir D]          # <D>/tables/ (comparison, DLM-One) and <D>/README.md
    python -m experiments.reports dlm-one --run runs/<run> ...      # the DLM-One report with each run's learning curves
    python -m experiments.reports cards checkpoints/<folder> ...    # model cards (rows of results/ by default)
    python -m experiments.reports training runs/<run> ...           # results/training/<run>.json and its index

D is runs/results (the scratch folder) unless named, so the committed results/ changes only when a command names it.
Rows are read from <D>/rows/ (and, in a folder from before rows/ existed, from <D> itself); a broken row stops the
command before anything is written.
"""
from __future__ import annotations

import argparse
from pathlib import Path

from core.cli import add_results_dir, run_cli
from core.paths import CHECKPOINTS_DIR, FIGURES, RESULTS_DIR, TRAINING
from experiments.reports.comparison import write_comparison_tables
from experiments.reports.dlm_one import write_dlm_one_report
from experiments.reports.kinds import load_rows
from experiments.reports.readme import write_readme
from experiments.reports.training import write_summaries, write_training_index


def draw_figures(records: list[dict], results_dir: Path) -> list[Path]:
    from experiments.reports.comparison_figures import comparison_figures   # matplotlib only when figures are drawn
    from experiments.reports.figures import write_figures

    written = write_figures(records, results_dir)
    return written + comparison_figures(records, results_dir / FIGURES, results_dir / TRAINING)


def write_tables(records: list[dict], results_dir: Path) -> list[Path]:
    """The comparison tables, the DLM-One report and results/README.md, which embeds the figures drawn before."""
    return [*write_comparison_tables(records, results_dir), *write_dlm_one_report(results_dir),
            write_readme(results_dir)]


def write_all(results_dir: Path) -> list[Path]:
    """Every figure and table; the index of the pretraining summaries; and, for the committed results/, the cards of
    the committed model folders (a card lists the committed rows, so a scratch folder leaves them alone)."""
    records = load_rows(results_dir)
    written = draw_figures(records, results_dir) + write_tables(records, results_dir)
    if any((results_dir / TRAINING).glob("*.json")):
        written.append(write_training_index(results_dir / TRAINING))
    if results_dir.resolve() == RESULTS_DIR.resolve():
        from experiments.reports.model_cards import model_folders, write_cards   # transformers only when cards are written

        written += write_cards(model_folders(CHECKPOINTS_DIR), results_dir)
    return written


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m experiments.reports", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    for name, text in (("all", "figures, tables, results README, training index, model cards (for results/)"),
                       ("figures", "every figure into <results-dir>/figures/"),
                       ("tables", "<results-dir>/tables/ and <results-dir>/README.md")):
        add_results_dir(commands.add_parser(name, help=text))
    dlm_one = commands.add_parser("dlm-one", help="the DLM-One report with the learning curves of run folders")
    add_results_dir(dlm_one)
    dlm_one.add_argument("--run", type=Path, nargs="+", default=[], help="runs/dlm_one-diffuseq-<task>-<preset>")
    cards = commands.add_parser("cards", help="the model card (README.md) of exported model folders")
    cards.add_argument("folders", type=Path, nargs="+")
    add_results_dir(cards, default=RESULTS_DIR)
    training = commands.add_parser("training", help="summaries of pretraining runs from their logs")
    training.add_argument("runs", type=Path, nargs="+")
    add_results_dir(training, default=RESULTS_DIR)
    args = parser.parse_args(argv)

    results_dir = args.results_dir
    if args.command == "all":
        written = write_all(results_dir)
    elif args.command == "figures":
        written = draw_figures(load_rows(results_dir), results_dir)
    elif args.command == "tables":
        written = write_tables(load_rows(results_dir), results_dir)
    elif args.command == "dlm-one":
        written = write_dlm_one_report(results_dir, args.run)
    elif args.command == "cards":
        from experiments.reports.model_cards import write_cards

        written = write_cards(args.folders, results_dir)
    else:
        written = write_summaries(args.runs, results_dir / TRAINING)
    for path in written:
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    run_cli(main, extra_errors=(ValueError,))
