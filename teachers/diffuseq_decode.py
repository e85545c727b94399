"""From DiffuSeq-layout ids to texts: the task tokenizer a model folder names, decoding the generated target span,
and k candidates per source from any candidate sampler (core.contracts.CandidateSampler): the DiffuSeq teacher's
(`teacher_candidates`), DLM-One's student, or the AR seq2seq baseline.
"""
from __future__ import annotations

import torch

import teachers.diffuseq as diffuseq
from core.data import diffuseq_batch
from core.tokenizers import RestrictedTokenizer, load_tokenizer


def tokenizer_from_spec(spec: dict):
    """The tokenizer of a seq2seq model folder's `tokenizer` entry: {"base": name} or a base restricted to the task's
    training ids {"base": name, "kept_ids": [...]}."""
    base = load_tokenizer(spec["base"])
    return RestrictedTokenizer(base, spec["kept_ids"]) if "kept_ids" in spec else base


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
def decode_candidates(sample_ids, examples, tokenizer, *, seq_len: int, candidates: int, batch_size: int, device,
                      seed: int = 0) -> list[list[str]]:
    """k candidate texts per example source from a candidate sampler
    sample_ids(batch {"input_ids", "input_mask"}, seeds) -> LongTensor [B, k, L]. Candidate i draws from seed·k + i,
    so different `seed`s give disjoint candidate sets."""
    out = []
    for i in range(0, len(examples), batch_size):
        chunk = examples[i:i + batch_size]
        batch = {k: v.to(device) for k, v in diffuseq_batch([(e.src, "") for e in chunk], tokenizer, seq_len).items()}
        ids = sample_ids(batch, [seed * candidates + i for i in range(candidates)])   # [B, k, L]
        for b in range(len(chunk)):
            out.append(decode_targets(ids[b], batch["input_mask"][b].expand(candidates, -1), tokenizer))
    return out


def teacher_candidates(process, model, *, steps: int, candidates: int, sampler: str, respace: str, clamp: bool):
    """The DiffuSeq teacher's candidate sampler (teachers.diffuseq.sample_seq2seq with these settings)."""
    def sample_ids(batch, seeds):
        return diffuseq.sample_seq2seq(process, model, batch, steps=steps, k_candidates=candidates, sampler=sampler,
                                       respace=respace, clamp=clamp, seeds=seeds)
    return sample_ids


@torch.no_grad()
def generate_texts(process, model, examples, tokenizer, *, seq_len: int, steps: int, candidates: int, sampler: str,
                   respace: str, clamp: bool, batch_size: int, device, seed: int = 0) -> list[list[str]]:
    """k candidate targets (texts) per example source from the DiffuSeq teacher's sampler."""
    sample_ids = teacher_candidates(process, model, steps=steps, candidates=candidates, sampler=sampler,
                                    respace=respace, clamp=clamp)
    return decode_candidates(sample_ids, examples, tokenizer, seq_len=seq_len, candidates=candidates,
                             batch_size=batch_size, device=device, seed=seed)
