"""The round mechanics SDTT and DCD share. Both distil a model into itself in rounds: at the start of every round a
frozen copy of the student, the *round teacher* x_θ⁻ (made by `core.networks.copy_for_training(frozen=True)`), is
refreshed from the student, and the student learns to do in one step what the round teacher does in two.

"Round teacher" is the method's own frozen target, not the pretrained model the run starts from (the `teacher=`
of the command: an MDLM for SDTT, a Duo model for DCD). Duo's config keys `update_teacher_every` and `teacher_ema`
keep Duo's names.
"""
from __future__ import annotations

import torch

from core.ema import EMA


def round_starts(step: int, steps_per_round: int) -> bool:
    """True at the first optimizer step of every round: 0, steps_per_round, 2 · steps_per_round, …"""
    return step % steps_per_round == 0


@torch.no_grad()
def refresh_round_teacher(round_teacher: torch.nn.Module, source: torch.nn.Module | EMA) -> None:
    """Copy the student's EMA (Duo `teacher_ema: True`) or its raw weights (SDTT) into the round teacher, in place."""
    if isinstance(source, EMA):
        source.copy_to(round_teacher)
    else:
        round_teacher.load_state_dict(source.state_dict())
