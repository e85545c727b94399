"""Start-up checks of a config tree beyond keys, types and choices (experiments.config): values out of range and keys
that the command, method or teacher would ignore (experiments.folder_checks checks the folders it names). All run
before any model loads or any sample is drawn; each refusal is one line.
"""
from __future__ import annotations

from omegaconf import DictConfig

from core.errors import ConfigError

# key -> (test, what the key must be)
POSITIVE = "a positive integer"
RANGES = {
    "sampling.num_samples": (lambda v: v >= 1, POSITIVE),
    "sampling.batch_size": (lambda v: v >= 1, POSITIVE),
    "sampling.temperature": (lambda v: v > 0, "> 0 (the logits are divided by it)"),
    "sampling.top_p": (lambda v: 0 < v <= 1, "in (0, 1] (the probability mass kept)"),
    "threads": (lambda v: v >= 0, ">= 0 (0 = every core this process may use)"),
    "data.seq_len": (lambda v: v >= 3, ">= 3 (BOS, one token, EOS)"),
    "train.batch_size": (lambda v: v >= 1, POSITIVE),
    "train.max_steps": (lambda v: v >= 1, POSITIVE),
    "train.max_minutes": (lambda v: v >= 0, ">= 0 (0 = no limit)"),
    "train.eval_every": (lambda v: v >= 1, POSITIVE),
    "train.save_every": (lambda v: v >= 1, POSITIVE),
    "train.log_every": (lambda v: v >= 1, POSITIVE),
    "train.eval_batches": (lambda v: v >= 1, POSITIVE),
    "train.lr": (lambda v: v > 0, "> 0"),
    "train.warmup_steps": (lambda v: v >= 0, ">= 0"),
    "train.decay_steps": (lambda v: v >= 0, ">= 0"),
    "train.ema_decay": (lambda v: 0 <= v < 1, "in [0, 1)"),
    "distill.max_steps": (lambda v: v >= 1, POSITIVE),
    "distill.max_minutes": (lambda v: v >= 0, ">= 0 (0 = no limit)"),
    "distill.batch_size": (lambda v: v >= 1, POSITIVE),
    "distill.lr": (lambda v: v > 0, "> 0"),
    "distill.fake_lr": (lambda v: v > 0, "> 0"),
    "distill.fake_steps": (lambda v: v >= 1, POSITIVE),
    "distill.eval_every": (lambda v: v >= 1, POSITIVE),
    "distill.save_every": (lambda v: v >= 1, POSITIVE),
    "distill.log_every": (lambda v: v >= 1, POSITIVE),
    "distill.ema_decay": (lambda v: 0 <= v < 1, "in [0, 1)"),
    "diffuseq.candidates": (lambda v: v >= 1, POSITIVE),
    "diffuseq.val_sources": (lambda v: v >= 1, POSITIVE),
    "diffuseq.val_steps": (lambda v: v >= 1, POSITIVE),
    "idlm.val_samples": (lambda v: v >= 1, POSITIVE),
    "idlm.val_steps": (lambda v: v >= 1, POSITIVE),
    "dlm_one.steps": (lambda v: v >= 1, POSITIVE),
    "dlm_one.pad_prob": (lambda v: 0 <= v < 1, "in [0, 1)"),
    "eval.num_show": (lambda v: v >= 0, ">= 0"),
}
SEQ2SEQ_METHODS = ("copy_source", "dlm_one")      # methods that read `task` whatever `teacher` says
TEACHERLESS_METHODS = ("real_text", "copy_source")  # yardsticks: no model is sampled
FROM_SCRATCH = ("mdlm", "sedd", "duo", "ar", "diffuseq")   # pretraining families that start from no teacher
RUN_ONLY_BLOCKS = ("sampling.", "eval.", "idlm.", "dlm_one.", "sdtt.", "distill.")
TEACHER_LOADING = ("sample", "idlm", "dlm_one", "sdtt", "dcd")
STUDENT_METHODS = ("idlm", "sdtt", "dcd")   # methods that sample a distilled discrete student (student_path=)


def check_values(values: dict) -> None:
    for key, (ok, what) in RANGES.items():
        if key in values and values[key] is not None and not ok(values[key]):
            raise ConfigError(f"{key}={values[key]} is out of range: it must be {what}")


def is_seq2seq(cfg: DictConfig) -> bool:
    from experiments.config import SEQ2SEQ_TEACHERS
    return cfg.teacher in SEQ2SEQ_TEACHERS or cfg.method in SEQ2SEQ_METHODS


def check_applicable(cfg: DictConfig, given: dict, command: str) -> None:
    """Refuse a key given on the command line that this command / method / teacher would silently ignore."""
    def refuse(key: str, why: str):
        from experiments.config import shown
        raise ConfigError(f"{key}={shown(given[key])} has no effect here: {why}")
    from experiments.config import SEQ2SEQ_TEACHERS
    seq2seq = is_seq2seq(cfg) if command == "run" else cfg.teacher in SEQ2SEQ_TEACHERS
    if "task" in given and not seq2seq:
        refuse("task", f"teacher={cfg.teacher} is trained on a corpus (corpus=); `task` is for "
                       f"teacher=diffuseq|ar_seq2seq and method=copy_source|dlm_one")
    if "corpus" in given and seq2seq:
        refuse("corpus", "a seq2seq run reads its task (task=qqp|qg|ts, or data.path=<DiffuSeq folder>)")
    for key in [k for k in given if k.startswith("diffuseq.")]:
        if not seq2seq:
            refuse(key, f"diffuseq.* keys apply to teacher=diffuseq and method=copy_source|dlm_one only")
    if command == "pretrain":
        for key in [k for k in given if k.startswith(RUN_ONLY_BLOCKS) or k in ("student_path", "results_dir")]:
            refuse(key, "pretraining neither samples nor evaluates; this key belongs to experiments.run")
        if "teacher_path" in given and cfg.teacher in FROM_SCRATCH:
            refuse("teacher_path", f"teacher={cfg.teacher} is pretrained from scratch (only teacher=dcd starts from "
                                   f"a teacher)")
        return
    if cfg.method in TEACHERLESS_METHODS:
        for key in ("teacher", "teacher_path", "student_path", "steps"):
            if key in given:
                refuse(key, f"method={cfg.method} scores {'held-out text' if cfg.method == 'real_text' else 'the source'}"
                            f", no model")
    if "student_path" in given and cfg.method == "sample":
        refuse("student_path", "method=sample samples the teacher; a student is evaluated with "
                               "method=idlm|sdtt|dcd|dlm_one")
    for block in ("idlm", "dlm_one", "sdtt", "dcd"):
        for key in [k for k in given if k.startswith(block + ".")]:
            if cfg.method != block:
                also = " (and experiments.pretrain teacher=dcd)" if block == "dcd" else ""
                refuse(key, f"{block}.* keys apply to method={block}{also} only")
