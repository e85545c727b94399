"""Training logs shared by the pretraining loop and the distillation loop: JSON lines (`log.jsonl`, one record per
event, the input of `python -m experiments.reports training` and the figures) and TensorBoard scalars (`<run_dir>/tensorboard`).

A resumed run continues the log from its checkpoint's step: records written after that checkpoint (by the run that
was interrupted) are dropped, so no step appears twice, and so is a last line torn by a kill in the middle of a write.
"""
from __future__ import annotations

import json
from pathlib import Path

import torch

from core.checkpoint import atomic_write_text
from core.data import read_jsonl

LOG_FILE = "log.jsonl"
TENSORBOARD_DIR = "tensorboard"


def _number(value):
    return float(value) if torch.is_tensor(value) else value


class RunLog:
    def __init__(self, run_dir: str | Path, *, resume_step: int = 0, tensorboard: bool = True):
        self.path = Path(run_dir) / LOG_FILE
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if self.path.is_file():
            kept = [record for _, record in read_jsonl(self.path, torn_tail=True)
                    if record.get("step", 0) <= resume_step]
            atomic_write_text(self.path, "".join(json.dumps(record) + "\n" for record in kept))
        self.writer = None
        if tensorboard:
            try:
                from torch.utils.tensorboard import SummaryWriter
            except ImportError:  # tensorboard is an install requirement; a stripped environment still trains
                SummaryWriter = None
            if SummaryWriter is not None:
                self.writer = SummaryWriter(str(Path(run_dir) / TENSORBOARD_DIR), purge_step=resume_step + 1)

    def write(self, record: dict) -> None:
        record = {k: _number(v) for k, v in record.items()}
        with open(self.path, "a") as f:
            f.write(json.dumps(record) + "\n")
        if self.writer is not None:
            step = int(record.get("step", 0))
            for key, value in record.items():
                if key != "step" and isinstance(value, (int, float)) and not isinstance(value, bool):
                    self.writer.add_scalar(key, value, step)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
