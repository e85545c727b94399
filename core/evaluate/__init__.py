"""Evaluators shared by every experiment: standalone functions from samples (and evaluator models) to metrics.

unconditional    GenPPL under a causal LM (gpt2-large or the reference AR model), unigram entropy
reference_ar     the reference AR model: the offline GenPPL evaluator (GPT-2 architecture), its loss and saving
mauve_score      MAUVE on MiniLM-L6 sentence features or on the GenPPL evaluator's features (offline)
diversity        distribution of a sample set: distinct-n, self-BLEU, word types per N valid words, top-50 share
seq2seq          DiffuSeq's BLEU / ROUGE-L / BERTScore / dist-1 / self-BLEU / div-4 / MBR, sacrebleu
speed            NFE, seconds per sample, tokens/s
temperature_match  teacher temperature matching a target entropy (entropy-matched control)
results          one JSON per evaluated configuration, schema check, provenance
"""
