"""The yardsticks every model is read against, scored like a model: held-out real text (method=real_text) and, for
seq2seq, the source sentence as the output (method=copy_source)."""
from __future__ import annotations

from pathlib import Path

from experiments.naming import data_label, results_dir, row_suffix
from experiments.rows import evaluate_texts, seq2seq_evaluation, seq2seq_test_examples


def run_real_text(cfg, device) -> Path:
    """The unconditional metrics of the test split cut to the teachers' length."""
    from core.evaluate.results import write_result
    from core.tokenizers import load_tokenizer
    from experiments.setup import corpus_tokenizer_name, held_out_texts

    tokenizer = load_tokenizer(corpus_tokenizer_name(cfg.corpus))
    texts, rows = held_out_texts(cfg, tokenizer, cfg.sampling.num_samples, seq_len=cfg.data.seq_len)
    # the row is the test set MAUVE compares every model with: it is compared with the valid split instead
    evaluation = evaluate_texts(texts, rows, cfg, device, tokenizer, reference_split="valid")
    record = {"method": "real_text", "teacher": "none", "corpus": cfg.corpus, "preset": "-", "steps": 0, "nfe": 0,
              "n_samples": len(texts), "seconds_per_sample": 0.0, "seed": cfg.seed,
              "samples": texts[: cfg.eval.num_show], **evaluation}
    return write_result(record, results_dir(cfg), f"real-text-{data_label(cfg)}-test{row_suffix(cfg)}")


def run_copy_source(cfg, device) -> Path:
    """The seq2seq yardstick: output the source itself (in the BERT tokenizer's view), scored like a model."""
    from core.evaluate.results import write_result
    from core.tokenizers import load_tokenizer
    from experiments.seq2seq import tokenizer_view

    tokenizer = load_tokenizer("bert")
    examples = seq2seq_test_examples(cfg)
    candidates = [[tokenizer_view(e.src, tokenizer)] for e in examples]
    record = {"method": "copy_source", "teacher": "none", "task": data_label(cfg), "preset": "-", "steps": 0, "nfe": 0,
              "candidates": 1, "seconds_per_sample": 0.0,
              **seq2seq_evaluation(candidates, examples, tokenizer, cfg, device)}
    return write_result(record, results_dir(cfg), f"copy-source-{data_label(cfg)}-test{row_suffix(cfg)}")
