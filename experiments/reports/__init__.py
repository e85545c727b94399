"""The generated half of results/: tables, figures, method reports, model cards and training summaries, from the rows
alone (`python -m experiments.reports`, see __main__.py). Nothing here runs a model or a recipe: reports reads rows
(core.evaluate.results) and exported folders (teachers.registry), so it sits beside the methods, below experiments/,
whose commands rebuild results/README.md after writing a row.

kinds.py (what a row is), markdown.py (cells and tables), provenance.py (stale and mismatched rows),
unconditional.py and seq2seq.py (the papers' Table 1 layouts), comparison.py (those tables as Markdown and CSV),
students.py (distilled students beside their controls), readme.py (results/README.md), figures.py and
comparison_figures.py (PNG), dlm_one.py (the DLM-One report), model_cards.py, training.py (pretraining summaries).
"""
