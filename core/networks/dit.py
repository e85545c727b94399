"""Diffusion Transformer (DiT) backbone shared by the MDLM, SEDD and Duo teachers and by IDLM students.

Module names follow the public MDLM / SEDD / Duo code (`vocab_embed`, `sigma_map`, `rotary_emb`, `blocks.N.{norm1,
attn_qkv, attn_out, norm2, mlp.0, mlp.2, adaLN_modulation}`, `output_layer.{norm_final, linear, adaLN_modulation}`) so
the published checkpoints load without renaming (see `teachers/published.py`).

Shapes: B batch, L sequence length, V vocabulary (incl. any mask token), D hidden size, C conditioning size.
    forward(x, sigma):
        x      LongTensor [B, L] token ids, or FloatTensor [B, L, V] probability vectors (soft lookup p @ E;
               IDLM feeds student probabilities, Duo's curriculum feeds softmax(w / tau)).
        sigma  FloatTensor [B] noise level (time conditioning; MDLM passes zeros).
        returns FloatTensor [B, L, V] raw logits (each teacher applies its own parameterization on top).

Hugging Face API: `DiT.from_pretrained` / `save_pretrained` / `push_to_hub` (`core.networks.hub.HubNetwork`); it also
reads the project's teacher folders (`teachers.registry.save_teacher`, fields under "network", float16 storage).
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F
from einops import rearrange

from core.networks.hub import HubNetwork, config_from_dict
from core.networks.time_embedding import timestep_embedding

try:  # optional fast path on CUDA; never required
    from flash_attn import flash_attn_func  # type: ignore
except Exception:  # ImportError, or a broken CUDA install
    flash_attn_func = None


@dataclass
class DiTConfig:
    vocab_size: int
    hidden_size: int = 768
    cond_dim: int = 128
    n_heads: int = 12
    n_blocks: int = 12
    mlp_ratio: int = 4
    dropout: float = 0.1

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, config: dict) -> "DiTConfig":
        return config_from_dict(cls, config, "DiT")


# Presets. `tiny` runs in tests in seconds; `small` is the embedded CPU default (minutes); `base` is the papers'
# size (MDLM/SEDD-small/Duo on OpenWebText: 12 blocks, 768 hidden, 12 heads, cond 128).
DIT_PRESETS = {
    "tiny": dict(hidden_size=32, cond_dim=16, n_heads=2, n_blocks=1, dropout=0.0),
    "small": dict(hidden_size=256, cond_dim=128, n_heads=4, n_blocks=4, dropout=0.1),
    "base": dict(hidden_size=768, cond_dim=128, n_heads=12, n_blocks=12, dropout=0.1),
}


def dit_config(preset: str, vocab_size: int, **overrides) -> DiTConfig:
    if preset not in DIT_PRESETS:
        raise ValueError(f"unknown DiT preset {preset!r}; valid: {sorted(DIT_PRESETS)}")
    return DiTConfig(vocab_size=vocab_size, **{**DIT_PRESETS[preset], **overrides})


class LayerNorm(nn.Module):
    """Weight-only LayerNorm computed in float32 (as MDLM/SEDD: no bias, stable under bf16 autocast)."""

    def __init__(self, dim: int):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(dim))
        self.dim = dim

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        with torch.autocast(device_type=x.device.type, enabled=False):
            x = F.layer_norm(x.float(), [self.dim])
        return x * self.weight[None, None, :]


def modulate(x: torch.Tensor, shift: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    return x * (1 + scale) + shift


class Rotary(nn.Module):
    """Rotary position embedding for q and k (v is not rotated). `inv_freq` is a buffer named as in the checkpoints."""

    def __init__(self, head_dim: int, base: float = 10_000.0):
        super().__init__()
        inv_freq = 1.0 / (base ** (torch.arange(0, head_dim, 2).float() / head_dim))
        self.register_buffer("inv_freq", inv_freq)

    def forward(self, seq_len: int, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
        t = torch.arange(seq_len, device=device, dtype=self.inv_freq.dtype)
        freqs = torch.outer(t, self.inv_freq)  # [L, hd/2]
        emb = torch.cat((freqs, freqs), dim=-1)  # [L, hd]
        return emb.cos()[None, :, None, :], emb.sin()[None, :, None, :]  # [1, L, 1, hd]


def rotate_half(x: torch.Tensor) -> torch.Tensor:
    x1, x2 = x.chunk(2, dim=-1)
    return torch.cat((-x2, x1), dim=-1)


def apply_rotary(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """x: [B, L, H, hd] -> rotated x (computed in float32, returned in x's dtype)."""
    return (x.float() * cos + rotate_half(x.float()) * sin).to(x.dtype)


class TimestepEmbedder(nn.Module):
    """Sinusoidal features of sigma (256 frequencies) -> MLP; names `mlp.0`, `mlp.2` as in the checkpoints."""

    def __init__(self, hidden_size: int, frequency_embedding_size: int = 256):
        super().__init__()
        self.frequency_embedding_size = frequency_embedding_size
        self.mlp = nn.Sequential(
            nn.Linear(frequency_embedding_size, hidden_size, bias=True),
            nn.SiLU(),
            nn.Linear(hidden_size, hidden_size, bias=True),
        )

    def forward(self, t: torch.Tensor) -> torch.Tensor:
        return self.mlp(timestep_embedding(t, self.frequency_embedding_size))


class EmbeddingLayer(nn.Module):
    """Token embedding as a bare [V, D] parameter (`vocab_embed.embedding`); accepts ids or probability vectors."""

    def __init__(self, vocab_size: int, dim: int):
        super().__init__()
        self.embedding = nn.Parameter(torch.empty(vocab_size, dim))
        nn.init.kaiming_uniform_(self.embedding, a=math.sqrt(5))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dtype in (torch.long, torch.int, torch.int32, torch.int64):
            return self.embedding[x]
        # Soft lookup p @ E: identical to the id lookup for one-hot p, differentiable in p.
        return torch.matmul(x.to(self.embedding.dtype), self.embedding)


class DiTBlock(nn.Module):
    def __init__(self, dim: int, n_heads: int, cond_dim: int, mlp_ratio: int, dropout: float):
        super().__init__()
        self.n_heads = n_heads
        self.dropout = dropout
        self.norm1 = LayerNorm(dim)
        self.attn_qkv = nn.Linear(dim, 3 * dim, bias=False)
        self.attn_out = nn.Linear(dim, dim, bias=False)
        self.norm2 = LayerNorm(dim)
        self.mlp = nn.Sequential(
            nn.Linear(dim, mlp_ratio * dim, bias=True),
            nn.GELU(approximate="tanh"),
            nn.Linear(mlp_ratio * dim, dim, bias=True),
        )
        # adaLN-zero: modulation starts at zero so every block starts as the identity map.
        self.adaLN_modulation = nn.Linear(cond_dim, 6 * dim, bias=True)
        nn.init.zeros_(self.adaLN_modulation.weight)
        nn.init.zeros_(self.adaLN_modulation.bias)

    def attention(self, qkv: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
        q, k, v = rearrange(qkv, "b l (three h d) -> three b l h d", three=3, h=self.n_heads).unbind(0)
        q, k = apply_rotary(q, cos, sin), apply_rotary(k, cos, sin)
        p = self.dropout if self.training else 0.0
        if flash_attn_func is not None and q.is_cuda and q.dtype in (torch.float16, torch.bfloat16):
            out = flash_attn_func(q, k, v, dropout_p=p, causal=False)  # [B, L, H, hd]
        else:
            out = F.scaled_dot_product_attention(
                q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2), dropout_p=p, is_causal=False
            ).transpose(1, 2)
        return rearrange(out, "b l h d -> b l (h d)")

    def forward(self, x: torch.Tensor, c: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
        shift_msa, scale_msa, gate_msa, shift_mlp, scale_mlp, gate_mlp = self.adaLN_modulation(c)[:, None].chunk(6, dim=2)
        h = self.attention(self.attn_qkv(modulate(self.norm1(x), shift_msa, scale_msa)), cos, sin)
        x = x + gate_msa * F.dropout(self.attn_out(h), self.dropout, self.training)
        h = self.mlp(modulate(self.norm2(x), shift_mlp, scale_mlp))
        return x + gate_mlp * F.dropout(h, self.dropout, self.training)


class FinalLayer(nn.Module):
    def __init__(self, dim: int, out_dim: int, cond_dim: int):
        super().__init__()
        self.norm_final = LayerNorm(dim)
        self.linear = nn.Linear(dim, out_dim)
        self.adaLN_modulation = nn.Linear(cond_dim, 2 * dim, bias=True)
        for layer in (self.linear, self.adaLN_modulation):  # zero-init: the network starts at uniform logits
            nn.init.zeros_(layer.weight)
            nn.init.zeros_(layer.bias)

    def forward(self, x: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        return self.project(self.norm_final(x), c)

    def project(self, normed: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        """The part after the final LayerNorm: adaLN modulation by c, then the output projection."""
        shift, scale = self.adaLN_modulation(c)[:, None].chunk(2, dim=2)
        return self.linear(modulate(normed, shift, scale))


class DiT(nn.Module, HubNetwork, library_name="dlm-distill", tags=["diffusion-language-model"]):
    config_class = DiTConfig

    def __init__(self, config: DiTConfig):
        super().__init__()
        self.config = config
        c = config
        if c.hidden_size % c.n_heads:
            raise ValueError(f"hidden_size {c.hidden_size} is not divisible by n_heads {c.n_heads}")
        self.vocab_embed = EmbeddingLayer(c.vocab_size, c.hidden_size)
        self.sigma_map = TimestepEmbedder(c.cond_dim)
        self.rotary_emb = Rotary(c.hidden_size // c.n_heads)
        self.blocks = nn.ModuleList(
            DiTBlock(c.hidden_size, c.n_heads, c.cond_dim, c.mlp_ratio, c.dropout) for _ in range(c.n_blocks)
        )
        self.output_layer = FinalLayer(c.hidden_size, c.vocab_size, c.cond_dim)

    def forward(self, x: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
        return self.read_out(self.hidden_states(x, sigma), sigma)

    def hidden_states(self, x: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
        """The last hidden state [B, L, D]: the last block's output after the final LayerNorm (a normalised state, as
        BERT's last hidden state is). A discriminator head reads its logits from here (core/discriminator.py), so one
        pass gives both the denoiser and the logits."""
        h = self.vocab_embed(x)
        c = F.silu(self.sigma_map(sigma))
        cos, sin = self.rotary_emb(h.shape[1], h.device)
        for block in self.blocks:
            h = block(h, c, cos, sin)
        return self.output_layer.norm_final(h)

    def read_out(self, h: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
        """Last hidden state [B, L, D] -> raw logits [B, L, V] (the output layer is conditioned on sigma, adaLN)."""
        return self.output_layer.project(h, F.silu(self.sigma_map(sigma)))

