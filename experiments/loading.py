"""The models a run loads besides its student: the teacher its config names, and the GenPPL evaluator."""
from __future__ import annotations

from pathlib import Path

from core.errors import ConfigError
from experiments.naming import data_label, data_part

EVALUATOR_PRESET = "small"  # the embedded reference AR evaluator is trained once per corpus, at this size


def load_checked_teacher(cfg, device):
    """The teacher `cfg` names (teacher_path, else the committed one), refused if its family is another."""
    from experiments.data_lengths import warn_truncation
    from experiments.setup import teacher_folder
    from teachers.registry import load_teacher

    folder = teacher_folder(cfg)
    teacher = load_teacher(folder, device=device)
    if teacher.family != cfg.teacher and not (cfg.teacher == "duo_distilled" and teacher.family == "duo"):
        raise ConfigError(f"{folder} holds a {teacher.family!r} teacher but teacher={cfg.teacher}")
    warn_truncation(cfg, "test", teacher.seq_len, teacher=True)
    return teacher, folder


def evaluator_from(cfg, device):
    """(model, tokenizer, name) of the GenPPL evaluator: `eval.evaluator`, or for "auto" gpt2-large when it is in the
    local HF cache, else the reference AR model trained on the run's data (reference_evaluator) when there is one."""
    from core.evaluate.unconditional import load_evaluator

    if cfg.eval.evaluator != "auto":
        return load_evaluator(cfg.eval.evaluator, device)
    return load_evaluator("gpt2-large", device, fallback_path=reference_evaluator(cfg))


def reference_evaluator(cfg) -> Path | None:
    """The reference AR model of the run's data (committed, else this machine's run of `evaluator_command`, at its
    default size first), None when there is none. For data.path= it is the one trained on that data: its run folder
    is named by the data's content, like the teacher's."""
    from core.evaluate.reference_ar import AR_PRESETS
    from experiments.setup import find_pretrained

    for preset in sorted(AR_PRESETS, key=lambda p: p != EVALUATOR_PRESET):
        try:
            return find_pretrained(reference_evaluator_name(cfg, preset), None)
        except FileNotFoundError:
            continue
    return None  # load_evaluator then says what it tried


def reference_evaluator_name(cfg, preset: str = EVALUATOR_PRESET) -> str:
    """The run folder name of `evaluator_command(cfg)` (naming.run_folder_name of teacher=ar)."""
    return f"ar-{data_label(cfg, seq2seq=False)}-{preset}{data_part(cfg)}"


def evaluator_command(cfg) -> str:
    """The command that trains the reference AR model `reference_evaluator` finds for this run's data."""
    import shlex

    data = [f"data.path={cfg.data.path}", *([f"data.name={cfg.data.name}"] if cfg.data.name else [])] \
        if cfg.data.path else []
    return shlex.join(["python", "-m", "experiments.pretrain", "teacher=ar", f"corpus={cfg.corpus}", *data])
