"""Seq2seq pieces of the experiment commands: the DiffuSeq teacher's tokenizer, batches and metrics (decoding is
teachers.diffuseq_decode's).

Shared by `experiments.pretrain teacher=diffuseq` (training + validation BLEU) and `experiments.run teacher=diffuseq`
(sampling at `steps` + the full DiffuSeq metric set).
"""
from __future__ import annotations

from core.data import diffuseq_batch, load_seq2seq, seq2seq_pairs
from core.evaluate.seq2seq import diffuseq_sentence_bleu, mbr_select, seq2seq_metrics
from core.tokenizers import RestrictedTokenizer, load_tokenizer


def task_source(cfg) -> str:
    return cfg.data.path or cfg.task


def build_tokenizer(cfg, train_pairs):
    """bert, or bert restricted to the training set's ids (diffuseq.vocab=task)."""
    bert = load_tokenizer("bert")
    if cfg.diffuseq.vocab == "bert":
        return bert, {"base": "bert"}
    texts = [t for pair in train_pairs for t in pair]
    tokenizer = RestrictedTokenizer.from_corpus(bert, texts)
    return tokenizer, {"base": "bert", "kept_ids": tokenizer.kept_ids}


def encode_pairs(pairs, tokenizer, seq_len: int) -> dict:
    return diffuseq_batch(pairs, tokenizer, seq_len)


def tokenizer_view(text: str, tokenizer) -> str:
    """A text as the model's tokenizer writes it back (bert: lower-cased, WordPiece spacing). DiffuSeq scores its
    outputs against references decoded from their token ids the same way (`sample_seq2seq.py`), so case and
    punctuation spacing do not count as errors. The full BERT vocabulary is used: a reference word outside a
    restricted task vocabulary stays in the reference, so the model is penalised for being unable to write it."""
    base = getattr(tokenizer, "base", tokenizer)
    return base.decode(base.encode(text), skip_special_tokens=True).strip()


def viewed_references(examples, tokenizer) -> list[list[str]]:
    """Every example's references in the tokenizer's view: what the metrics compare outputs against."""
    return [[tokenizer_view(r, tokenizer) for r in e.refs] for e in examples]


def viewed_sources(examples, tokenizer) -> list[str]:
    return [tokenizer_view(e.src, tokenizer) for e in examples]


def copy_metrics(outputs: list[str], sources: list[str], refs: list[list[str]]) -> dict:
    """What copying explains: BLEU of copying the source on these very sources (the yardstick a model must beat:
    on qqp a paraphrase shares most of its words with its source), and BLEU of the outputs against their sources
    (how much the model copies)."""
    return {"copy_source_bleu": diffuseq_sentence_bleu(sources, refs),
            "output_source_bleu": diffuseq_sentence_bleu(outputs, [[s] for s in sources])}


def evaluate_candidates(candidates: list[list[str]], refs: list[list[str]], sources: list[str], *, bertscore: bool,
                        device) -> dict:
    """Single-sample metrics on candidate 0, and MBR-k metrics when k > 1 (DiffuSeq's MBR table rows), each with
    its copy_metrics. refs / sources: per source, in the tokenizer's view (`viewed_references`, `viewed_sources`)."""
    first = [c[0] for c in candidates]
    metrics = {"single": {**seq2seq_metrics(first, refs, candidates if len(candidates[0]) > 1 else None,
                                            with_bertscore=bertscore, device=str(device)),
                          **copy_metrics(first, sources, refs)}}
    if len(candidates[0]) > 1:
        chosen = [c[mbr_select(c)] for c in candidates]
        metrics["mbr"] = {**seq2seq_metrics(chosen, refs, with_bertscore=bertscore, device=str(device)),
                          **copy_metrics(chosen, sources, refs)}
    return metrics


def quick_bleu(candidates: list[list[str]], refs: list[list[str]]) -> float:
    return diffuseq_sentence_bleu([c[0] for c in candidates], refs)


def train_pairs_and_examples(cfg):
    source = task_source(cfg)
    return seq2seq_pairs(load_seq2seq(source, "train")), load_seq2seq(source, "valid")
