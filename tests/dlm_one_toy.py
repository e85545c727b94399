"""Shared toy for the DLM-One tests (no tests here): a 2-d "embedding" distribution conditioned on a discrete label,
in DiffuSeq's layout. A sequence has two positions: position 0 holds the label's embedding (the clean condition,
input_mask 0), position 1 the 2-d target (input_mask 1). Given label c the target is a two-component Gaussian
mixture, Σ_k w_ck N(μ_ck, Σ_ck). `MixtureDenoiser` is the exact x0-predictor of such a mixture under DiffuSeq's
forward process, so it is both the analytic teacher and (with trainable parameters) a fake network of the right
family that starts equal to the teacher.
"""
from __future__ import annotations

import torch
import torch.nn as nn

LABEL_EMB = torch.tensor([[-4.0, 0.0], [4.0, 0.0]])          # condition embedding of label c
WEIGHTS = torch.tensor([[0.3, 0.7], [0.6, 0.4]])              # w_ck
MEANS = torch.tensor([[[-1.5, 1.0], [1.5, -1.0]], [[0.0, 2.0], [0.5, -1.5]]])          # μ_ck
COVS = torch.tensor([[[[0.20, 0.05], [0.05, 0.10]], [[0.10, 0.00], [0.00, 0.25]]],   # Σ_ck
                     [[[0.30, -0.08], [-0.08, 0.12]], [[0.15, 0.06], [0.06, 0.15]]]])
MASK = torch.tensor([0, 1])
OFF_COMPONENT = 13.8                                          # χ²₂ 99.9% quantile of the squared Mahalanobis distance


def label_of(x_condition: torch.Tensor) -> torch.Tensor:
    """The label whose embedding is nearest to the condition position, [B, 2] -> [B]."""
    return ((x_condition[:, None, :] - LABEL_EMB) ** 2).sum(-1).argmin(-1)


def inverse_2x2(m: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(inverse, determinant) of [..., 2, 2] matrices, in closed form (cheaper than linalg on tiny blocks)."""
    det = m[..., 0, 0] * m[..., 1, 1] - m[..., 0, 1] * m[..., 1, 0]
    adj = torch.stack([torch.stack([m[..., 1, 1], -m[..., 0, 1]], -1), torch.stack([-m[..., 1, 0], m[..., 0, 0]], -1)],
                      -2)
    return adj / det[..., None, None], det


class MixtureDenoiser(nn.Module):
    """E[x0 | z_t, c] for the mixture above under z_t = α x0 + σ ε: per component k, z_t | k ~ N(α μ_k, C_k) with
    C_k = α² Σ_k + σ² I and E[x0 | z_t, k] = μ_k + α Σ_k C_k⁻¹ (z_t − α μ_k); mixed with p(k | z_t, c).
    Parameters: log-weights, means and a Cholesky factor (log-diagonal) per (label, component).
    forward(x [B, 2, 2], t_model [B]) -> [B, 2, 2]; the condition position is returned unchanged."""

    def __init__(self, process, weights: torch.Tensor, means: torch.Tensor, covs: torch.Tensor):
        super().__init__()
        self.process = process
        chol = torch.linalg.cholesky(covs)
        self.log_weights = nn.Parameter(weights.log().clone())
        self.means = nn.Parameter(means.clone())
        self.chol_lower = nn.Parameter(chol.tril(-1).clone())
        self.chol_log_diag = nn.Parameter(torch.diagonal(chol, dim1=-2, dim2=-1).log().clone())

    def covariances(self) -> torch.Tensor:
        factor = self.chol_lower.tril(-1) + torch.diag_embed(self.chol_log_diag.exp())
        return factor @ factor.transpose(-1, -2)

    def forward(self, x: torch.Tensor, t_model: torch.Tensor) -> torch.Tensor:
        t = torch.round(t_model.double() * self.process.num_steps / 1000.0).long()
        ab = self.process.alpha_bars[t].to(x.dtype)
        alpha, var = ab.sqrt().view(-1, 1, 1), (1 - ab).view(-1, 1, 1, 1)
        c = label_of(x[:, 0])
        mu, cov = self.means[c], self.covariances()[c]                             # [B, K, 2], [B, K, 2, 2]
        log_w = self.log_weights[c].log_softmax(-1)                               # [B, K]
        c_inv, det = inverse_2x2(alpha[..., None] ** 2 * cov + var * torch.eye(2))
        d = x[:, 1, None, :] - alpha * mu                                          # z_t − α μ_k  [B, K, 2]
        log_post = log_w - 0.5 * torch.einsum("bki,bkij,bkj->bk", d, c_inv, d) - 0.5 * det.log()
        x0_k = mu + alpha * torch.einsum("bkij,bkjl,bkl->bki", cov, c_inv, d)
        return torch.stack([x[:, 0], (log_post.softmax(-1)[..., None] * x0_k).sum(1)], dim=1)


class ToyGenerator(nn.Module):
    """A one-step generator network in the DiffuSeq interface: an MLP of (condition, noisy target) -> target."""

    def __init__(self, width: int = 128):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(4, width), nn.SiLU(), nn.Linear(width, width), nn.SiLU(),
                                 nn.Linear(width, 2))

    def forward(self, x: torch.Tensor, t_model: torch.Tensor) -> torch.Tensor:
        return torch.stack([x[:, 0], self.net(torch.cat([x[:, 0] / 4, x[:, 1]], -1))], dim=1)


def toy_embed(ids: torch.Tensor) -> torch.Tensor:
    """EMB for the toy: ids [B, 2] = (label, unused target id) -> [B, 2, 2] (the target slot is never a real target
    here: the generator-side losses read only the condition)."""
    out = torch.zeros(ids.shape[0], 2, 2)
    out[:, 0] = LABEL_EMB[ids[:, 0]]
    return out


def toy_batch(n: int, seed: int, label: int | None = None) -> dict:
    c = torch.randint(0, 2, (n,), generator=torch.Generator().manual_seed(seed)) if label is None \
        else torch.full((n,), label)
    return {"input_ids": torch.stack([c, torch.zeros_like(c)], 1), "input_mask": MASK.repeat(n, 1)}


@torch.no_grad()
def toy_statistics(method, generator, n: int = 20000) -> dict:
    """Per label, n generated targets, each assigned to its most probable true component. Max errors over
    (label, component) of the weight and the mean; on each component's core (squared Mahalanobis < 13.8), the mean
    and every covariance entry; and the fraction of samples off every component."""
    errors = {"weight_error": 0.0, "mean_error": 0.0, "core_mean_error": 0.0, "core_cov_error": 0.0}
    off = 0.0
    torch.manual_seed(123)
    for c in (0, 1):
        x = method.generate(generator, toy_batch(n, 0, label=c))[:, 1]
        inv, det = inverse_2x2(COVS[c])
        d = x[:, None, :] - MEANS[c]                                                # [n, K, 2]
        maha = torch.einsum("nki,kij,nkj->nk", d, inv, d)
        k = (maha + det.log() - 2 * WEIGHTS[c].log()).argmin(-1)
        off += (maha.min(-1).values > OFF_COMPONENT).float().mean().item() / 2
        for j in range(2):
            mine, core = x[k == j], x[(k == j) & (maha[:, j] < OFF_COMPONENT)]
            errors["weight_error"] = max(errors["weight_error"], abs(len(mine) / n - WEIGHTS[c, j].item()))
            errors["mean_error"] = max(errors["mean_error"], max_abs(lambda: mine.mean(0) - MEANS[c, j], len(mine)))
            errors["core_mean_error"] = max(errors["core_mean_error"],
                                            max_abs(lambda: core.mean(0) - MEANS[c, j], len(core)))
            errors["core_cov_error"] = max(errors["core_cov_error"],
                                           max_abs(lambda: torch.cov(core.T) - COVS[c, j], len(core)))
    return {**errors, "off_fraction": off}


def max_abs(difference, count: int) -> float:
    """Largest absolute entry of difference(); inf when fewer than 3 samples define it (an empty component is
    maximally off)."""
    return difference().abs().max().item() if count > 2 else float("inf")
