"""Seq2seq pieces of the experiment commands: the DiffuSeq teacher's tokenizer, batches, decoding and metrics.

Shared by `experiments.pretrain teacher=diffuseq` (training + validation BLEU) and `experiments.run teacher=diffuseq`
(sampling at `steps` + the full DiffuSeq metric set).
"""
from __future__ import annotations

import torch

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


def tokenizer_from_spec(spec: dict):
    bert = load_tokenizer(spec["base"])
    return RestrictedTokenizer(bert, spec["kept_ids"]) if "kept_ids" in spec else bert


def encode_pairs(pairs, tokenizer, seq_len: int) -> dict:
    return diffuseq_batch(pairs, tokenizer, seq_len)


def decode_targets(ids: torch.Tensor, mask: torch.Tensor, tokenizer) -> list[str]:
    """The generated target: tokens where mask = 1, up to the first [SEP], specials and padding dropped
    (DiffuSeq's decoding strips [CLS]/[SEP]/[PAD] from the target span)."""
    texts = []
    for row, m in zip(ids.tolist(), mask.tolist()):
        target = [i for i, keep in zip(row, m) if keep]
        if tokenizer.sep_id in target:
            target = target[: target.index(tokenizer.sep_id)]
        target = [i for i in target if i not in (tokenizer.pad_id, tokenizer.cls_id)]
        texts.append(tokenizer.decode(target, skip_special_tokens=True).strip())
    return texts


@torch.no_grad()
def generate_texts(process, model, examples, tokenizer, *, seq_len: int, steps: int, candidates: int, sampler: str,
                   respace: str, clamp: bool, batch_size: int, device, seed: int = 0) -> list[list[str]]:
    """k candidate targets (texts) per example source from the DiffuSeq teacher's sampler."""
    from teachers.diffuseq import sample_seq2seq

    def sample_ids(batch, seeds):
        return sample_seq2seq(process, model, batch, steps=steps, k_candidates=candidates, sampler=sampler,
                        respace=respace, clamp=clamp, seeds=seeds)
    return decode_candidates(sample_ids, examples, tokenizer, seq_len=seq_len, candidates=candidates,
                             batch_size=batch_size, device=device, seed=seed)


@torch.no_grad()
def decode_candidates(sample_ids, examples, tokenizer, *, seq_len: int, candidates: int, batch_size: int, device,
                      seed: int = 0) -> list[list[str]]:
    """k candidate texts per example source from any sampler in DiffuSeq's layout:
    sample_ids(batch {"input_ids", "input_mask"}, seeds) -> LongTensor [B, k, L]. Candidate i draws from seed·k + i,
    so different `seed`s give disjoint candidate sets."""
    out = []
    for i in range(0, len(examples), batch_size):
        chunk = examples[i:i + batch_size]
        batch = {k: v.to(device) for k, v in encode_pairs([(e.src, "") for e in chunk], tokenizer, seq_len).items()}
        ids = sample_ids(batch, [seed * candidates + i for i in range(candidates)])   # [B, k, L]
        for b in range(len(chunk)):
            out.append(decode_targets(ids[b], batch["input_mask"][b].expand(candidates, -1), tokenizer))
    return out


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
