"""Reference autoregressive (AR) model: the offline GenPPL evaluator.

The papers score samples with gpt2-large. Without hub access the project trains a GPT-2-architecture causal LM on
the embedded corpus's training split (`python -m experiments.pretrain teacher=ar`) and saves it HF-style, so the
same `generative_perplexity` code path serves both evaluators. The tokenizer is one of `core.tokenizers`' names,
stored in a sidecar JSON next to config.json so `load_ar` / `core.evaluate.load_evaluator` can rebuild it.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import torch
import torch.nn.functional as F
from transformers import GPT2Config, GPT2LMHeadModel

from core.checkpoint import atomic_save_folder

TOKENIZER_SIDECAR = "dlm_tokenizer.json"   # {"tokenizer": "<core.tokenizers name>"}

# preset -> (n_layer, n_embd, n_head, dropout)
_PRESETS = {
    "tiny": (2, 32, 2, 0.0),     # for tests: trains in seconds on a CPU
    "small": (4, 256, 4, 0.1),   # CPU evaluator for the embedded corpus (~3M parameters + embeddings)
}


def ar_config(preset: str, vocab_size: int, seq_len: int, eos_id: int | None = None) -> GPT2Config:
    """GPT-2 config for a preset ("tiny" or "small"); `seq_len` is the context size (n_positions); eos_id is the
    tokenizer's boundary id (GPT2Config's default 50256 only fits the GPT-2 vocabulary)."""
    if preset not in _PRESETS:
        raise ValueError(f"ar_config: unknown preset {preset!r}; choose one of {sorted(_PRESETS)}")
    n_layer, n_embd, n_head, dropout = _PRESETS[preset]
    eos_id = vocab_size - 1 if eos_id is None else eos_id
    return GPT2Config(vocab_size=vocab_size, n_positions=seq_len, n_embd=n_embd, n_layer=n_layer, n_head=n_head,
                      resid_pdrop=dropout, embd_pdrop=dropout, attn_pdrop=dropout, bos_token_id=eos_id,
                      eos_token_id=eos_id)


def build_ar_model(config: GPT2Config) -> GPT2LMHeadModel:
    return GPT2LMHeadModel(config)


def ar_loss(model, input_ids: torch.Tensor, attention_mask: torch.Tensor | None = None) -> torch.Tensor:
    """Next-token cross-entropy, mean over predicted positions.

    loss = -(1/N) sum_{b, t: mask[b, t+1]} log p(x_{b,t+1} | x_{b,<=t})
    Args:
        input_ids: (B, T) token ids.
        attention_mask: optional (B, T), 1 for real tokens; padded targets are left out of the mean.
    """
    logits = model(input_ids=input_ids, attention_mask=attention_mask).logits   # (B, T, V)
    targets = input_ids[:, 1:]
    nll = F.cross_entropy(logits[:, :-1].transpose(1, 2).float(), targets, reduction="none")  # (B, T-1)
    if attention_mask is None:
        return nll.mean()
    keep = attention_mask[:, 1:].to(nll.dtype)
    return (nll * keep).sum() / keep.sum().clamp_min(1.0)


def save_ar(model: GPT2LMHeadModel, tokenizer_name: str, folder: str | os.PathLike, *,
            provenance: dict | None = None) -> Path:
    """Save HF-style (config.json + model.safetensors) plus the tokenizer-name sidecar (and `provenance.json` when
    given), as one atomic folder swap (core.checkpoint.atomic_save_folder): never a half-written folder."""
    def write(tmp: Path):
        model.save_pretrained(tmp)   # safetensors is the default serialization
        if not (tmp / "model.safetensors").exists():
            raise RuntimeError(f"save_ar: {tmp} has no model.safetensors after save_pretrained")
        (tmp / TOKENIZER_SIDECAR).write_text(json.dumps({"tokenizer": tokenizer_name}) + "\n")
        if provenance is not None:
            (tmp / "provenance.json").write_text(json.dumps(provenance, indent=2, default=str) + "\n")
    return atomic_save_folder(folder, write)


def load_ar(folder: str | os.PathLike) -> tuple[GPT2LMHeadModel, str]:
    """Rebuild a model saved by `save_ar`: returns (model in eval mode, tokenizer name)."""
    folder = Path(folder)
    sidecar = folder / TOKENIZER_SIDECAR
    if not sidecar.exists():
        raise FileNotFoundError(f"load_ar: {sidecar} not found; {folder} was not saved by teachers.ar.save_ar")
    tokenizer_name = json.loads(sidecar.read_text())["tokenizer"]
    model = GPT2LMHeadModel.from_pretrained(folder, local_files_only=True)
    return model.eval(), tokenizer_name
