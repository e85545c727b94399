"""DLM-One Table 5: per task and stage, the loss coefficients and learning rates (T = 2000 DiffuSeq steps).

The project's tasks map to the paper's data sets: qqp → QQP, qg → Quasar-T, ts → Wiki-Auto. Every stage shares
[t_min, t_max] = [0, 1976], t_init = 1490, AdamW β = (0, 0.999) and zero weight decay. Wiki-Auto used stage 1
only; Quasar-T used the same row for both stages. Stage 2 restarts θ from stage 1's best checkpoint (by validation
BLEU) and re-initialises ψ from the teacher.
"""
from __future__ import annotations

from dataclasses import dataclass

from dlm_one.losses import StageSettings

PAPER_T_INIT = 1490
PAPER_T_RANGE = (0, 1976)
PAPER_BETAS = (0.0, 0.999)


@dataclass(frozen=True)
class PaperStage:
    losses: StageSettings
    lr: float                  # θ (generator)
    fake_lr: float             # ψ (fake score network / discriminator)


def _stage(alpha, a_dsm, b_fake, a_sd, b_gen, lr_fake, lr):
    return PaperStage(StageSettings(alpha=alpha, a_dsm=a_dsm, b_adv_fake=b_fake, a_sd=a_sd, b_adv_generator=b_gen),
                      lr=lr, fake_lr=lr_fake)


TABLE5 = {
    "qqp": (_stage(1.2, 0.5, 0.5, 0.5, 0.5, 3e-5, 1e-5), _stage(0.5, 0.5, 0.5, 0.9, 0.1, 1e-5, 1e-5)),
    "qg": (_stage(1.2, 0.5, 0.5, 0.5, 0.5, 1e-5, 1e-5), _stage(1.2, 0.5, 0.5, 0.5, 0.5, 1e-5, 1e-5)),
    "ts": (_stage(1.0, 0.5, 0.5, 0.5, 0.5, 1e-5, 1e-5),),
}


def paper_stage(task: str, stage: int) -> PaperStage:
    """Table 5's row for `task` at `stage` (1-based). A stage the paper did not run for the task (ts stage 2) reuses
    the task's last row, so the option stays usable; the caller records that it is beyond the paper."""
    if task not in TABLE5:
        raise ValueError(f"no DLM-One settings for task {task!r}; valid: {sorted(TABLE5)}")
    if stage < 1:
        raise ValueError(f"stages are numbered from 1, got {stage}")
    rows = TABLE5[task]
    return rows[min(stage, len(rows)) - 1]


def paper_stage_count(task: str) -> int:
    return len(TABLE5[task])
