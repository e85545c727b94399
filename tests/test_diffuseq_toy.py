"""Shared toy for the DiffuSeq tests (no tests here): 4 well-separated embeddings in 4 dims, a fixed 1-token source at position 0 and
a known pmf over 2-token targets at positions 1, 2. `ExactDenoiser` is the Bayes-optimal x0-predictor for that data.
"""
from __future__ import annotations

import torch
import torch.nn as nn

EMB = 2.0 * torch.eye(4)                        # ‖E_a − E_b‖ = 2√2 for a ≠ b
PMF = torch.tensor([[0.30, 0.05, 0.00, 0.05],   # PMF[a, b] = p(target = (a, b)); asymmetric and with zeros
                    [0.10, 0.02, 0.08, 0.00],
                    [0.00, 0.15, 0.05, 0.05],
                    [0.02, 0.03, 0.00, 0.10]])
SOURCE_TOKEN = 3
MASK = torch.tensor([0, 1, 1])                  # [L]: source, target, target


class ExactDenoiser(nn.Module):
    """E[x0 | z_t] for x0 = EMB(w) + s·ε (s² = x0_noise_var), w ~ PMF on target positions, under
    z_t = √ᾱ_t x0 + √(1−ᾱ_t) ε'. Per outcome (a, b): z_t^l | w ~ N(√ᾱ E_w, v I), v = ᾱ s² + 1 − ᾱ, and
    E[x0^l | z_t, w] = E_w + (√ᾱ s²/v)(z_t^l − √ᾱ E_w); mixing over the 16 outcomes with their posterior weights.
    forward(x [B, 3, 4], t_model [B]) -> [B, 3, 4]; source output is the clean source embedding."""

    def __init__(self, process, x0_noise_var: float = 0.0):
        super().__init__()
        self.process, self.s2 = process, x0_noise_var
        self.word_embedding = nn.Embedding.from_pretrained(EMB.clone())

    def get_embeds(self, ids):
        return self.word_embedding(ids)

    def get_logits(self, h):
        return h @ self.word_embedding.weight.t()

    def forward(self, x, t_model):
        t = torch.round(t_model.double() * self.process.num_steps / 1000.0).long() if self.process.rescale_timesteps \
            else t_model.long()
        ab = self.process.alpha_bars[t].to(x.dtype).view(-1, 1, 1)          # [B, 1, 1]
        var = ab * self.s2 + 1 - ab
        emb = self.word_embedding.weight
        # log N(z^l; √ᾱ E_a, v) up to a constant, for l ∈ {1, 2}: [B, 2, 4]
        loglik = -((x[:, 1:, None, :] - ab.sqrt()[..., None] * emb) ** 2).sum(-1) / (2 * var)
        logpost = loglik[:, 0, :, None] + loglik[:, 1, None, :] + PMF.clamp_min(1e-30).log().to(x.dtype)
        post = logpost.flatten(1).softmax(-1).view(-1, 4, 4)                  # p(a, b | z_t)  [B, 4, 4]
        shrink = ab.sqrt() * self.s2 / var                                    # [B, 1, 1]
        cond = emb + shrink[..., None] * (x[:, 1:, None, :] - ab.sqrt()[..., None] * emb)   # [B, 2, 4(w), 4(E)]
        x1 = (post.sum(2)[..., None] * cond[:, 0]).sum(1)                    # E[x0^1 | z_t]  [B, 4]
        x2 = (post.sum(1)[..., None] * cond[:, 1]).sum(1)
        src = emb[SOURCE_TOKEN].expand(x.shape[0], 4)
        return torch.stack([src, x1, x2], dim=1)


def toy_batch(n: int):
    ids = torch.tensor([SOURCE_TOKEN, 0, 0]).repeat(n, 1)
    return ids, MASK.repeat(n, 1)


def empirical_tv(tokens: torch.Tensor) -> float:
    """Total variation between the empirical joint of tokens [N, 2] and PMF."""
    counts = torch.bincount(tokens[:, 0] * 4 + tokens[:, 1], minlength=16).double()
    return 0.5 * (counts / counts.sum() - PMF.flatten().double()).abs().sum().item()
