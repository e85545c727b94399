"""DiDi-Instruct's discriminator D_ψ(z_t, σ) → one logit per position: the second trained role of the loop.

As the public code builds it: a copy of the teacher's DiT whose last `trainable_blocks` blocks train (the code: 4 of
12) while the embedding, the time map and the lower blocks stay the teacher's; the output layer (final adaLN /
LayerNorm and the vocabulary projection) is dropped and the last hidden state h [B, L, D] goes through a
spectral-norm Linear(D, D) → SiLU → spectral-norm Linear(D, 1). It is conditioned on σ = −log α_t (the teacher was
trained with σ = 0, so only the trainable blocks' adaLN can learn to use it).

Exported beside the student (`save_discriminator`, one folder: config.json + model.safetensors, swapped into place
atomically by core.checkpoint.save_pretrained) so the reward-guided sampler (didi/sampler.py) can be run from the two
folders alone (`load_discriminator`).
"""
from __future__ import annotations

from pathlib import Path

import torch
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

from core.checkpoint import check_state_dict, load_pretrained, save_pretrained
from core.errors import DataError
from core.networks.dit import DiT, DiTConfig

KIND = "didi-discriminator"   # config.json's "kind": what the folder holds


class HiddenState(nn.Module):
    """Stands in for the DiT's output layer (its final norm and its projection, core.networks.dit.FinalLayer): the DiT
    then returns the last block's hidden state as is, and its forward (counted by core/cost.py) stays one call."""

    def __init__(self):
        super().__init__()
        self.norm_final = nn.Identity()

    def project(self, h: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        return h


class Discriminator(nn.Module):
    """D_ψ. forward(z, sigma): z ids [B, L] or probability vectors [B, L, V+1] (RGAS's tilting), sigma [B] → [B, L]."""

    def __init__(self, config: DiTConfig, *, trainable_blocks: int):
        super().__init__()
        if not 1 <= trainable_blocks <= config.n_blocks:
            raise ValueError(f"trainable_blocks must be in [1, {config.n_blocks}], got {trainable_blocks}")
        self.config, self.trainable_blocks = config, trainable_blocks
        self.backbone = DiT(config)   # the pass counter (core/cost.py) counts this DiT's calls
        self.backbone.output_layer = HiddenState()
        width = config.hidden_size
        self.head = nn.Sequential(spectral_norm(nn.Linear(width, width)), nn.SiLU(),
                                  spectral_norm(nn.Linear(width, 1)))
        self.freeze_lower_blocks()

    def freeze_lower_blocks(self) -> None:
        """Only the last `trainable_blocks` blocks and the head train (the loop trains what requires grad)."""
        self.backbone.requires_grad_(False)
        for block in self.backbone.blocks[-self.trainable_blocks:]:
            block.requires_grad_(True)
        self.head.requires_grad_(True)

    def forward(self, z: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
        return self.head(self.backbone(z, sigma)).squeeze(-1).float()

    @classmethod
    def from_teacher(cls, network: DiT, *, trainable_blocks: int, dropout: float | None = None) -> Discriminator:
        """The teacher's weights in the backbone (loaded before anything is copied: the public code's hazard)."""
        config = network.config if dropout is None else type(network.config)(**{**network.config.to_dict(),
                                                                                 "dropout": dropout})
        discriminator = cls(config, trainable_blocks=trainable_blocks)
        state = {k: v for k, v in network.state_dict().items() if not k.startswith("output_layer.")}
        discriminator.backbone.load_state_dict(state)
        return discriminator.to(next(network.parameters()).device).train()

    def export_config(self) -> dict:
        return {"kind": KIND, "network": self.config.to_dict(), "trainable_blocks": self.trainable_blocks}


def discriminator_folder(student_folder: str | Path) -> Path:
    """Where a student's discriminator is exported: the sibling `<student folder>-discriminator`."""
    student_folder = Path(student_folder)
    return student_folder.with_name(f"{student_folder.name}-discriminator")


def save_discriminator(folder: str | Path, discriminator: Discriminator, *, provenance: dict | None = None) -> Path:
    return save_pretrained(folder, discriminator.state_dict(),
                           {**discriminator.export_config(), "provenance": provenance or {}})


def load_discriminator(folder: str | Path, device="cpu") -> Discriminator:
    """A frozen discriminator in eval mode; DataError naming the folder when it holds something else."""
    state, config = load_pretrained(folder)
    if config.get("kind") != KIND:
        raise DataError(f"{folder}: not a DiDi-Instruct discriminator (config.json kind {config.get('kind')!r})")
    discriminator = Discriminator(DiTConfig(**config["network"]), trainable_blocks=config["trainable_blocks"])
    state = {k: v.float() for k, v in state.items()}
    check_state_dict(discriminator, state, source=folder)
    discriminator.load_state_dict(state)
    return discriminator.to(device).eval().requires_grad_(False)
