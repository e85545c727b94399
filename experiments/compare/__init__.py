"""`python -m experiments.compare`: the papers' comparison tables and the field's figures, from results/ rows.

provenance.py (stale and mismatched rows), unconditional.py (IDLM's Table 1 layout), seq2seq.py (DLM-One's),
render.py (Markdown and CSV), figures.py (PNG), write.py (the command).
"""
