"""Evaluators for unconditional text: generative perplexity (GenPPL) and unigram entropy.

GenPPL follows MDLM's `compute_generative_perplexity` (also used by Duo and the IDLM paper): generated samples
are decoded to text, re-tokenized with the *evaluator's* tokenizer, cut into windows of the evaluator's context
size, and scored by a causal LM. Entropy follows Duo / IDLM: the unigram entropy of each sample's token ids.

Notation:
    x = (x_1, ..., x_L)    evaluator token ids of one text, with one EOS appended: x_L = EOS
    NLL = -sum_{scored i} log p(x_i | x_<i)      summed over every scored token of every text
    GenPPL = exp(NLL / N)                         N = number of scored tokens (eq. of MDLM Sec. 4.1)
"""
from __future__ import annotations

import math
import os
from collections import Counter
from pathlib import Path
from typing import Iterable, Sequence

import torch
import torch.nn.functional as F

from core.evaluate.bootstrap import percentile_interval
from core.evaluate.reference_ar import without_progress_bars

GPT2_LARGE = "gpt2-large"


def unigram_entropy(ids_batch, *, ignore_ids: Iterable[int] = ()) -> float:
    """Mean over samples of the per-sample unigram entropy, natural log.

    For one sample with token counts c_v (v in vocabulary, n = sum_v c_v):
        H = -sum_v (c_v / n) log(c_v / n)
    Args:
        ids_batch: (B, L) tensor or a list of B id sequences (lengths may differ).
        ignore_ids: ids dropped before counting (e.g. pad / eos), so padding does not lower the entropy.
    Returns: (1/B) sum_b H_b as a Python float. A sample left empty after filtering has entropy 0.
    """
    if isinstance(ids_batch, torch.Tensor):
        if ids_batch.dim() != 2:
            raise ValueError(f"unigram_entropy: expected a (B, L) tensor, got shape {tuple(ids_batch.shape)}")
        ids_batch = ids_batch.tolist()
    ignore = set(int(i) for i in ignore_ids)
    if len(ids_batch) == 0:
        raise ValueError("unigram_entropy: empty batch")
    entropies = []
    for ids in ids_batch:
        counts = Counter(int(i) for i in ids if int(i) not in ignore)
        n = sum(counts.values())
        entropies.append(-sum(c / n * math.log(c / n) for c in counts.values()) if n else 0.0)
    return sum(entropies) / len(entropies)


def _scored_windows(texts: Sequence[str], tokenizer, eos_id: int, max_length: int):
    """Tokenize, append EOS, and split into windows of at most `max_length` tokens.

    Returns a list of (text_index, ids, scored); `scored[i]` says whether token i counts in the NLL.
    A token counts if it is not EOS or is the first EOS of its text (MDLM: `first_eos | (x != eos)`), so when the
    decoded text already holds an EOS, later EOS tokens (e.g. the appended one, or padding-like runs) do not count.
    Windows are scored independently, as MDLM splits the re-tokenized batch with `torch.split(..., context)`:
    the first token of each window is context only (no BOS is prepended), so a text of L tokens split into
    w windows contributes L - w predictions.
    """
    windows = []
    for index, text in enumerate(texts):
        ids = list(tokenizer.encode(text)) + [eos_id]
        seen_eos = False
        scored = []
        for token in ids:
            is_eos = token == eos_id
            scored.append(not is_eos or not seen_eos)
            seen_eos = seen_eos or is_eos
        for start in range(0, len(ids), max_length):
            windows.append((index, ids[start:start + max_length], scored[start:start + max_length]))
    return windows


@torch.no_grad()
def generative_perplexity(texts: Sequence[str], model, tokenizer, *, batch_size: int = 8, max_length: int = 1024,
                          device: str | torch.device = "cpu", float64: bool = False,
                          eos_id: int | None = None) -> dict:
    """GenPPL of `texts` under a causal LM.

    Args:
        texts: decoded samples (strings).
        model: causal LM; `model(input_ids=(B, T), attention_mask=(B, T)).logits` has shape (B, T, V).
        tokenizer: the evaluator's tokenizer; needs `encode(text) -> list[int]`.
        batch_size: windows per forward pass. Windows are right-padded; padding is masked out of attention and NLL.
        max_length: evaluator context size (1024 for GPT-2); longer texts are split into consecutive windows.
        device: where the forward runs; the model must already be there.
        float64: run the forward and the log-softmax in float64 (the model's dtype is restored afterwards).
        eos_id: EOS id appended to every text; defaults to `tokenizer.eos_id` or `tokenizer.eos_token_id`.
    Returns: {"gen_ppl": exp(nll), "nll": mean NLL per scored token (nats), "n_tokens": N,
              "text_nll": summed NLL per text [len(texts)], "text_tokens": scored tokens per text} (the last two
              feed `genppl_interval`).
    """
    if len(texts) == 0:
        raise ValueError("generative_perplexity: no texts given")
    if eos_id is None:
        eos_id = getattr(tokenizer, "eos_id", None)
        if eos_id is None:
            eos_id = getattr(tokenizer, "eos_token_id", None)
        if eos_id is None:
            raise ValueError("generative_perplexity: pass eos_id (the tokenizer has neither eos_id nor eos_token_id)")
    windows = _scored_windows(texts, tokenizer, eos_id, max_length)
    first_parameter = next(model.parameters(), None)
    original_dtype = None if first_parameter is None else first_parameter.dtype
    if float64:
        model.to(torch.float64)
    was_training = model.training
    model.eval()
    text_nll = torch.zeros(len(texts), dtype=torch.float64)
    text_tokens = torch.zeros(len(texts), dtype=torch.long)
    try:
        for start in range(0, len(windows), batch_size):
            chunk = windows[start:start + batch_size]
            width = max(len(ids) for _, ids, _ in chunk)
            input_ids = torch.full((len(chunk), width), eos_id, dtype=torch.long)
            attention = torch.zeros((len(chunk), width), dtype=torch.long)
            scored = torch.zeros((len(chunk), width), dtype=torch.bool)
            for row, (_, ids, mask) in enumerate(chunk):
                input_ids[row, :len(ids)] = torch.tensor(ids)
                attention[row, :len(ids)] = 1
                scored[row, :len(ids)] = torch.tensor(mask)
            input_ids, attention, scored = input_ids.to(device), attention.to(device), scored.to(device)
            logits = model(input_ids=input_ids, attention_mask=attention).logits      # (B, T, V)
            logits = logits.double() if float64 else logits.float()
            # position t predicts token t+1; padding has scored = False.
            nll = F.cross_entropy(logits[:, :-1].transpose(1, 2), input_ids[:, 1:], reduction="none")  # (B, T-1)
            keep = scored[:, 1:]
            owner = torch.tensor([index for index, _, _ in chunk])
            text_nll.index_add_(0, owner, (nll.double() * keep).sum(1).cpu())
            text_tokens.index_add_(0, owner, keep.sum(1).cpu())
    finally:
        if float64 and original_dtype is not None:
            model.to(original_dtype)
        model.train(was_training)
    total_tokens = int(text_tokens.sum())
    if total_tokens == 0:
        raise ValueError("generative_perplexity: no scored tokens (every text is a single token; raise max_length?)")
    mean_nll = float(text_nll.sum()) / total_tokens
    return {"gen_ppl": math.exp(mean_nll), "nll": mean_nll, "n_tokens": total_tokens,
            "text_nll": text_nll.tolist(), "text_tokens": text_tokens.tolist()}


def genppl_interval(text_nll: Sequence[float], text_tokens: Sequence[int], *, level: float = 0.95,
                    n_resamples: int = 2000, seed: int = 0) -> tuple[float, float]:
    """Percentile-bootstrap interval of GenPPL over texts (resample whole samples with replacement; GenPPL of a
    resample = exp(Σ NLL / Σ tokens)). Samples are the independent unit, not tokens, so this is the interval to
    read two methods' GenPPL against. Deterministic in `seed`."""
    if len(text_nll) != len(text_tokens) or len(text_nll) == 0:
        raise ValueError(f"genppl_interval: got {len(text_nll)} NLL sums and {len(text_tokens)} token counts")

    def genppl(nll, tokens):
        return (nll.sum(1) / tokens.sum(1).clamp_min(1.0)).exp()
    return percentile_interval([text_nll, text_tokens], genppl, level=level, n_resamples=n_resamples, seed=seed)


def _hf_cached_causal_lm(name: str, device):
    """Load `name` from the local HF cache only (never the network); None when it is not cached."""
    from transformers import AutoModelForCausalLM, AutoTokenizer
    try:
        tokenizer = AutoTokenizer.from_pretrained(name, local_files_only=True)
        with without_progress_bars():
            model = AutoModelForCausalLM.from_pretrained(name, local_files_only=True)
    except (OSError, ValueError):
        return None
    return model.to(device).eval(), tokenizer


def load_evaluator(name_or_path: str | os.PathLike = GPT2_LARGE, device: str | torch.device = "cpu", *,
                   fallback_path: str | os.PathLike | None = None):
    """Load the GenPPL evaluator: (model, tokenizer, evaluator_name).

    Resolution order:
      1. `name_or_path` is a folder: a reference AR model saved by `core.evaluate.reference_ar.save_ar` (its
         config.json names its tokenizer) or any HF causal-LM folder (e.g. a local copy of gpt2-large).
      2. `name_or_path` is a hub name (default "gpt2-large", the papers' evaluator) present in the local HF cache.
      3. `fallback_path`: the project's reference AR model folder, trained by `python -m experiments.pretrain
         teacher=ar`.
    The model is frozen in eval mode. `evaluator_name` is what every result records.
    """
    from core.evaluate.reference_ar import reference_ar_tokenizer

    tried = []
    path = Path(name_or_path)
    if path.is_dir():
        if reference_ar_tokenizer(path) is not None:
            return _load_reference_ar(path, device)
        from transformers import AutoModelForCausalLM, AutoTokenizer
        with without_progress_bars():
            model = AutoModelForCausalLM.from_pretrained(path, local_files_only=True).to(device).eval()
        return model, AutoTokenizer.from_pretrained(path, local_files_only=True), str(path)
    tried.append(f"{name_or_path!s} (not a folder; not in the local HF cache)")
    cached = _hf_cached_causal_lm(str(name_or_path), device)
    if cached is not None:
        return cached[0], cached[1], str(name_or_path)
    if fallback_path is not None:
        fallback = Path(fallback_path)
        if reference_ar_tokenizer(fallback) is not None:
            return _load_reference_ar(fallback, device)
        tried.append(f"{fallback} (no reference AR model there)")
    raise FileNotFoundError(
        "load_evaluator: no GenPPL evaluator available. Tried: " + "; ".join(tried)
        + ". Put gpt2-large in the HF cache, or train the reference AR model with "
          "`python -m experiments.pretrain teacher=ar` and pass its folder.")


def _load_reference_ar(folder: Path, device):
    from core.evaluate.reference_ar import load_ar
    from core.tokenizers import load_tokenizer
    model, tokenizer_name = load_ar(folder)
    for parameter in model.parameters():
        parameter.requires_grad_(False)
    return model.to(device).eval(), load_tokenizer(tokenizer_name), f"reference-ar:{folder}"
