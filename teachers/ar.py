"""Autoregressive baselines: KV-cached decoding of a GPT-2-architecture causal LM (the network and loss of
`core.evaluate.reference_ar`), unconditionally from [BOS] and with a source sentence as prefix.

The IDLM paper compares its students with a "Transformer AR" row and DLM-One with fine-tuned GPT-2 rows; both are
these models at the teachers' size. Each step feeds only the newest token and attends to the cached keys/values of
the prefix (`cache=True`), so the projections and MLP cost the same at every step; `cache=False` recomputes the
whole sequence each step (the reference the cached path is tested against: same seed, same tokens).

Notation: B batch, P prefix length (left-padded), N new tokens, V vocabulary.
"""
from __future__ import annotations

import inspect

import torch

from core.categorical import sample_categorical, temper_probs


@torch.no_grad()
def decode_ar(model, prefix: torch.Tensor, prefix_mask: torch.Tensor | None = None, *, new_tokens: int,
              temperature: float = 1.0, top_p: float = 1.0, greedy: bool = False, float64: bool = True,
              stop_id: int | None = None, cache: bool = True) -> tuple[torch.Tensor, int]:
    """Extend `prefix` by `new_tokens` tokens, one network call per token.

    Args:
        model: causal LM; `model(input_ids, attention_mask, position_ids, past_key_values, use_cache)` as
            transformers' GPT2LMHeadModel.
        prefix: LongTensor [B, P]; rows shorter than P are LEFT-padded (any id) and marked 0 in `prefix_mask`.
        prefix_mask: LongTensor [B, P], 1 on real prefix tokens (default all ones).
        greedy: argmax instead of drawing from softmax(logits / temperature), nucleus-truncated to `top_p`.
        stop_id: stop early once every row has produced it (later tokens of a finished row are `stop_id`).
        cache: reuse keys/values (KV cache); False recomputes the full sequence at every step.
    Positions count real tokens only (position_ids = cumsum(mask) - 1), so a left-padded row sees the positions it
    was trained with; they are clamped at the model's context size, which only rows past their budget reach.
    Returns: (new ids [B, N], network calls made). Draws use torch's global RNG.
    """
    B = prefix.shape[0]
    mask = torch.ones_like(prefix) if prefix_mask is None else prefix_mask.to(prefix.device, torch.long)
    max_position = model.config.n_positions - 1
    ids, out, past = prefix, [], None
    done = torch.zeros(B, dtype=torch.bool, device=prefix.device)
    calls = 0
    cache_key = kv_cache_name(model)
    for _ in range(new_tokens):
        positions = (mask.cumsum(-1) - 1).clamp(0, max_position)   # [B, P + n]
        if cache and past is not None:
            step = model(input_ids=ids[:, -1:], attention_mask=mask, position_ids=positions[:, -1:],
                         use_cache=True, **{cache_key: past})
        else:
            step = model(input_ids=ids, attention_mask=mask, position_ids=positions, use_cache=cache)
        calls += 1
        past = getattr(step, cache_key) if cache else None
        logits = step.logits[:, -1]                                  # [B, V]
        if greedy:
            token = logits.argmax(-1)
        else:
            token = sample_categorical(temper_probs(logits, temperature=temperature, top_p=top_p, float64=float64),
                                       float64=float64)
        if stop_id is not None:
            token = torch.where(done, torch.full_like(token, stop_id), token)
            done |= token == stop_id
        out.append(token)
        ids = torch.cat([ids, token[:, None]], dim=1)
        mask = torch.cat([mask, torch.ones_like(mask[:, :1])], dim=1)
        if stop_id is not None and bool(done.all()):
            break
    return torch.stack(out, dim=1), calls


def kv_cache_name(model) -> str:
    """The forward argument (and output field) that carries the KV cache: `cache` from transformers 5.x on,
    `past_key_values` before."""
    return "cache" if "cache" in inspect.signature(type(model).forward).parameters else "past_key_values"


def sample_unconditional(model, *, batch_size: int, length: int, bos_id: int, device, temperature: float = 1.0,
                         top_p: float = 1.0, float64: bool = True, cache: bool = True) -> tuple[torch.Tensor, int]:
    """`length`-token sequences [BOS] x_1..x_{length-1}, the layout the teachers' samples and the training blocks
    (core.data.lm_blocks) have. Returns (ids [B, length], network calls per sequence = length - 1)."""
    prefix = torch.full((batch_size, 1), bos_id, dtype=torch.long, device=device)
    new, calls = decode_ar(model, prefix, new_tokens=length - 1, temperature=temperature, top_p=top_p,
                           float64=float64, cache=cache)
    return torch.cat([prefix, new], dim=1), calls


def left_padded_prefixes(ids: torch.Tensor, condition: torch.Tensor, pad_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    """DiffuSeq-layout rows `[CLS] src [SEP] ...` with condition = 1 on `[CLS] src [SEP]` (the inverse of
    DiffuSeq's input_mask) -> the conditions right-aligned: (prefix [B, P], prefix_mask [B, P]), P the longest."""
    lengths = condition.sum(-1)
    P = int(lengths.max())
    prefix = torch.full((ids.shape[0], P), pad_id, dtype=torch.long, device=ids.device)
    prefix_mask = torch.zeros_like(prefix)
    for b, n in enumerate(lengths.tolist()):
        prefix[b, P - n:] = ids[b, :n]
        prefix_mask[b, P - n:] = 1
    return prefix, prefix_mask


def seq2seq_decode(model, batch: dict, *, pad_id: int, sep_id: int, seq_len: int) -> tuple[torch.Tensor, int]:
    """Greedy continuation of each `[CLS] src [SEP]` in a DiffuSeq-layout batch ({"input_ids", "input_mask"}
    [B, L], input_mask 1 where the target goes) until [SEP], written back into that layout so the DiffuSeq
    decoding (teachers.diffuseq_decode.decode_targets) reads it. Returns (ids [B, 1, L], network calls for the batch)."""
    ids, target = batch["input_ids"], batch["input_mask"]
    prefix, prefix_mask = left_padded_prefixes(ids, 1 - target, pad_id)
    budget = seq_len - int((1 - target).sum(-1).min())   # the shortest condition leaves the most room
    new, calls = decode_ar(model, prefix, prefix_mask, new_tokens=budget, greedy=True, stop_id=sep_id)
    out = torch.full_like(ids, pad_id)
    for b, n in enumerate((1 - target).sum(-1).tolist()):
        room = seq_len - n                        # a row never writes past the sequence length it was trained on
        out[b, :n] = ids[b, :n]
        out[b, n:n + min(room, new.shape[1])] = new[b, :room]
    return out[:, None], calls
