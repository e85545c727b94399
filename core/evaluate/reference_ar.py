"""Reference autoregressive (AR) model: the offline GenPPL evaluator.

The papers score samples with gpt2-large. Without hub access the project trains a GPT-2-architecture causal LM on
the embedded corpus's training split (`python -m experiments.pretrain teacher=ar`) and saves it HF-style, so the
same `generative_perplexity` code path serves both evaluators. The tokenizer is one of `core.tokenizers`' names,
kept in config.json under `dlm_tokenizer` (older folders: a `dlm_tokenizer.json` sidecar) so `load_ar` /
`core.evaluate.unconditional.load_evaluator` can rebuild it.

The model is a transformers GPT2LMHeadModel, so `from_pretrained(folder_or_hub_name)`, `save_pretrained` and
`push_to_hub` are transformers' own (a second hub mixin would clash with them); since the tokenizer name is in
config.json, a pushed copy is complete, and `load_ar("owner/name")` loads it. `save_ar` adds provenance.json and
the model card (README.md).
"""
from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path

import torch
import torch.nn.functional as F
from transformers import GPT2Config, GPT2LMHeadModel

from core.checkpoint import CARD_FILE, CONFIG_FILE, atomic_save_folder, pretrained_folder
from core.model_card import display_path, model_card

TOKENIZER_KEY = "dlm_tokenizer"            # config.json key holding the core.tokenizers name
DESCRIPTION_KEY = "dlm_description"       # config.json key holding the model card's description, when not the evaluator
TOKENIZER_SIDECAR = "dlm_tokenizer.json"   # where folders written before TOKENIZER_KEY keep it: {"tokenizer": name}
PROVENANCE_FILE = "provenance.json"

# preset -> (n_layer, n_embd, n_head, dropout)
AR_PRESETS = {
    "tiny": (2, 32, 2, 0.0),     # for tests: trains in seconds on a CPU
    "small": (4, 256, 4, 0.1),   # CPU evaluator for the embedded corpus (~3M parameters + embeddings)
}


def ar_config(preset: str, vocab_size: int, seq_len: int, eos_id: int | None = None) -> GPT2Config:
    """GPT-2 config for a preset ("tiny" or "small"); `seq_len` is the context size (n_positions); eos_id is the
    tokenizer's boundary id (GPT2Config's default 50256 only fits the GPT-2 vocabulary)."""
    if preset not in AR_PRESETS:
        raise ValueError(f"ar_config: unknown preset {preset!r}; choose one of {sorted(AR_PRESETS)}")
    n_layer, n_embd, n_head, dropout = AR_PRESETS[preset]
    eos_id = vocab_size - 1 if eos_id is None else eos_id
    return GPT2Config(vocab_size=vocab_size, n_positions=seq_len, n_embd=n_embd, n_layer=n_layer, n_head=n_head,
                      resid_pdrop=dropout, embd_pdrop=dropout, attn_pdrop=dropout, bos_token_id=eos_id,
                      eos_token_id=eos_id)


def build_ar_model(config: GPT2Config) -> GPT2LMHeadModel:
    return GPT2LMHeadModel(config)


def ar_loss(model, input_ids: torch.Tensor, attention_mask: torch.Tensor | None = None,
            loss_mask: torch.Tensor | None = None) -> torch.Tensor:
    """Next-token cross-entropy, mean over predicted positions.

    loss = -(1/N) sum_{b, t: mask[b, t+1]} log p(x_{b,t+1} | x_{b,<=t})
    Args:
        input_ids: (B, T) token ids.
        attention_mask: optional (B, T), 1 for real tokens; padded targets are left out of the mean.
        loss_mask: optional (B, T), 1 for the tokens to predict (default: attention_mask), e.g. only the target of a
            source-prefixed seq2seq row.
    """
    logits = model(input_ids=input_ids, attention_mask=attention_mask).logits   # (B, T, V)
    targets = input_ids[:, 1:]
    nll = F.cross_entropy(logits[:, :-1].transpose(1, 2).float(), targets, reduction="none")  # (B, T-1)
    mask = attention_mask if loss_mask is None else loss_mask
    if mask is None:
        return nll.mean()
    keep = mask[:, 1:].to(nll.dtype)
    return (nll * keep).sum() / keep.sum().clamp_min(1.0)


def save_ar(model: GPT2LMHeadModel, tokenizer_name: str | dict, folder: str | os.PathLike, *,
            provenance: dict | None = None, metrics: list[dict] | None = None,
            description: str | None = None) -> Path:
    """Save HF-style (config.json with the tokenizer name + model.safetensors), `provenance.json` when given and the
    model card (listing `metrics`, result rows, when given; `description`, kept in config.json, replaces the
    evaluator's), as one atomic folder swap (core.checkpoint.atomic_save_folder): never a half-written folder. The
    tokenizer is a core.tokenizers name, or a seq2seq task-vocabulary spec
    (teachers.diffuseq_decode.tokenizer_from_spec)."""
    setattr(model.config, TOKENIZER_KEY, tokenizer_name)   # so the model's own push_to_hub carries it too
    if description is not None:
        setattr(model.config, DESCRIPTION_KEY, description)

    def write(tmp: Path):
        model.save_pretrained(tmp)   # safetensors is the default serialization
        if not (tmp / "model.safetensors").exists():
            raise RuntimeError(f"save_ar: {tmp} has no model.safetensors after save_pretrained")
        if provenance is not None:
            (tmp / PROVENANCE_FILE).write_text(json.dumps(provenance, indent=2, default=str) + "\n")
        parameters = sum(p.numel() for p in model.parameters())
        (tmp / CARD_FILE).write_text(ar_card(folder, model.config, parameters, tokenizer_name, provenance,
                                             metrics))
    return atomic_save_folder(folder, write)


def ar_card(folder: str | os.PathLike, c: GPT2Config, parameters: int, tokenizer_name: str | dict,
            provenance: dict | None, metrics: list[dict] | None = None, reproduce: str | None = None) -> str:
    """The model card of an AR folder, from its GPT-2 config (the description saved in it, by default the reference
    evaluator's) and parameter count."""
    where = display_path(folder)
    description = getattr(c, DESCRIPTION_KEY, None) or (
        f"The reference autoregressive model that scores generative perplexity offline, in place of gpt2-large: a "
        f"GPT-2-architecture causal LM ({c.n_layer} layers, {c.n_embd} hidden, {c.n_head} heads) trained on the "
        f"training split of the corpus its tokenizer belongs to.")
    load = (f"# from this folder or a Hub repository holding it\n"
            f"from core.evaluate.reference_ar import load_ar\n"
            f"model, tokenizer_name = load_ar(\"{where}\")\n"
            f"# with transformers alone: GPT2LMHeadModel.from_pretrained(\"{where}\")")
    if isinstance(tokenizer_name, dict):   # a seq2seq task vocabulary: its base, not thousands of kept ids
        tokenizer_name = tokenizer_name.get("base", "?")
        description += f" Its vocabulary is `{tokenizer_name}` restricted to the task's training ids."
    return model_card(folder=where, family="ar", description=description, parameters=parameters,
                      tokenizer=tokenizer_name, seq_len=c.n_positions, load=load, provenance=provenance,
                      metrics=metrics, reproduce=reproduce)


def reference_ar_tokenizer(folder: str | os.PathLike) -> str | None:
    """The tokenizer name of a reference AR folder, or None when `folder` holds no reference AR model."""
    folder = Path(folder)
    if (folder / TOKENIZER_SIDECAR).is_file():
        return json.loads((folder / TOKENIZER_SIDECAR).read_text())["tokenizer"]
    if (folder / CONFIG_FILE).is_file():
        return json.loads((folder / CONFIG_FILE).read_text()).get(TOKENIZER_KEY)
    return None


@contextlib.contextmanager
def without_progress_bars():
    """transformers (>= 5) draws a "Loading weights" bar for every from_pretrained: noise beside the sampling bar."""
    from transformers.utils import logging as hf_logging

    enabled = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        if enabled:
            hf_logging.enable_progress_bar()


def load_ar(name_or_path: str | os.PathLike, **hub_options) -> tuple[GPT2LMHeadModel, str]:
    """Rebuild a model saved by `save_ar` from its folder or a Hub repository ("owner/name"; `hub_options` go to
    huggingface_hub's snapshot_download): returns (model in eval mode, tokenizer name)."""
    folder = pretrained_folder(name_or_path, **hub_options)
    tokenizer_name = reference_ar_tokenizer(folder)
    if tokenizer_name is None:
        raise FileNotFoundError(f"load_ar: {folder} holds no reference AR model (no {TOKENIZER_KEY!r} in its "
                                f"{CONFIG_FILE}, no {TOKENIZER_SIDECAR}); save one with save_ar")
    with without_progress_bars():
        model = GPT2LMHeadModel.from_pretrained(folder, local_files_only=True)
    setattr(model.config, TOKENIZER_KEY, tokenizer_name)
    return model.eval(), tokenizer_name
