"""Start-up checks of a config tree beyond keys, types and choices (experiments.config): values out of range and keys
that the command, method or teacher would ignore (experiments.folder_checks checks the folders it names). All run
before any model loads or any sample is drawn; each refusal is one line.
"""
from __future__ import annotations

from omegaconf import DictConfig

from core.errors import ConfigError

# key -> (test, what the key must be)
POSITIVE = "a positive integer"
BETAS = "two numbers in [0, 1) (AdamW's beta1, beta2)"
SPLIT_OVER_PROCESSES = ">= 0 (0 = batch_size x processes)"
RANGES = {
    "sampling.num_samples": (lambda v: v >= 1, POSITIVE),
    "sampling.batch_size": (lambda v: v >= 1, POSITIVE),
    "sampling.temperature": (lambda v: v > 0, "> 0 (the logits are divided by it)"),
    "sampling.top_p": (lambda v: 0 < v <= 1, "in (0, 1] (the probability mass kept)"),
    "threads": (lambda v: v >= 0, ">= 0 (0 = every core this process may use)"),
    "data.seq_len": (lambda v: v == "auto" or v >= 3, ">= 3 (BOS, one token, EOS), or auto"),
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
    "train.global_batch": (lambda v: v >= 0, SPLIT_OVER_PROCESSES),
    "distill.max_steps": (lambda v: v >= 1, POSITIVE),
    "distill.max_minutes": (lambda v: v >= 0, ">= 0 (0 = no limit)"),
    "distill.budget": (lambda v: v >= 0, ">= 0 (0 = max_steps only)"),
    "distill.batch_size": (lambda v: v >= 1, POSITIVE),
    "distill.lr": (lambda v: v > 0, "> 0"),
    "distill.fake_lr": (lambda v: v > 0, "> 0"),
    "distill.fake_steps": (lambda v: v >= 1, POSITIVE),
    "distill.eval_every": (lambda v: v >= 1, POSITIVE),
    "distill.save_every": (lambda v: v >= 1, POSITIVE),
    "distill.log_every": (lambda v: v >= 1, POSITIVE),
    "distill.ema_decay": (lambda v: 0 <= v < 1, "in [0, 1)"),
    "distill.global_batch": (lambda v: v >= 0, SPLIT_OVER_PROCESSES),
    "distill.betas": (lambda v: all(0 <= b < 1 for b in v), BETAS),
    "eval.frontier_temperatures": (lambda v: all(t > 0 for t in v), "a list of temperatures, each > 0"),
    "distill.warmup_steps": (lambda v: v >= 0, ">= 0"),
    "distill.grad_clip": (lambda v: v >= 0, ">= 0 (0 = off)"),
    "distill.dropout": (lambda v: 0 <= v < 1, "in [0, 1)"),
    "sdtt.base_steps": (lambda v: v >= 1, POSITIVE),
    "sdtt.steps_per_round": (lambda v: v >= 1, POSITIVE),
    "dcd.base_steps": (lambda v: v >= 1, POSITIVE),
    "dcd.update_teacher_every": (lambda v: v >= 1, POSITIVE),
    "diffuseq.candidates": (lambda v: v >= 1, POSITIVE),
    "diffuseq.val_sources": (lambda v: v >= 1, POSITIVE),
    "diffuseq.val_steps": (lambda v: v >= 1, POSITIVE),
    "idlm.val_samples": (lambda v: v >= 1, POSITIVE),
    "idlm.val_steps": (lambda v: v >= 1, POSITIVE),
    # a floor on the student's entropy relative to the teacher's: above 1.5x no checkpoint can pass it
    "idlm.select_min_entropy_ratio": (lambda v: 0 < v <= 1.5, "in (0, 1.5] (x the teacher's validation entropy)"),
    "idlm.fake_weights": (lambda v: len(v) == 2 and min(v) >= 0, "two weights >= 0 (IDLM loss, adversarial)"),
    "idlm.generator_weights": (lambda v: len(v) == 2 and min(v) >= 0, "two weights >= 0 (IDLM loss, adversarial)"),
    "dlm_one.steps": (lambda v: v >= 1, POSITIVE),
    "dlm_one.betas": (lambda v: all(0 <= b < 1 for b in v), BETAS),
    "dlm_one.stage1_steps": (lambda v: v >= 1, POSITIVE),
    "dlm_one.stage2_steps": (lambda v: v >= 1, POSITIVE),
    "dlm_one.lr": (lambda v: v >= 0, ">= 0 (0 = Table 5's)"),
    "dlm_one.fake_lr": (lambda v: v >= 0, ">= 0 (0 = Table 5's)"),
    "dlm_one.ema_decay": (lambda v: 0 <= v < 1, "in [0, 1)"),
    "dlm_one.val_sources": (lambda v: v >= 1, POSITIVE),
    "dlm_one.eval_every": (lambda v: v >= 1, POSITIVE),
    # upper bounds: t_init and t_max the DiffuSeq teacher's T (TEACHER_STEP_BOUNDS), t_min t_max (BELOW)
    "dlm_one.t_init": (lambda v: v >= 0, ">= 0 (a diffusion step of the teacher)"),
    "dlm_one.t_min": (lambda v: v >= 0, ">= 0 (a diffusion step of the teacher)"),
    "dlm_one.t_max": (lambda v: v >= 1, ">= 1 (the exclusive upper bound of the loss levels)"),
    "dlm_one.pad_prob": (lambda v: 0 <= v < 1, "in [0, 1)"),
    "eval.num_show": (lambda v: v >= 0, ">= 0"),
    "eval.diversity_valid_words": (lambda v: v >= 1, POSITIVE),
}
# key -> (the key it must stay below, why)
BELOW = {"dlm_one.t_min": ("dlm_one.t_max", "the loss levels are t ~ randint(t_min, t_max), t_max exclusive")}
# keys bounded by the diffusion steps T of the DiffuSeq model that is run (its config.json; experiments.folder_checks):
# key -> (the method that reads it, how far below T its largest value is)
TEACHER_STEP_BOUNDS = {"steps": ("sample", 0), "dlm_one.t_init": ("dlm_one", 1), "dlm_one.t_max": ("dlm_one", 0)}
SEQ2SEQ_METHODS = ("copy_source", "dlm_one")      # methods that read `task` whatever `teacher` says
TEACHERLESS_METHODS = ("real_text", "copy_source")  # yardsticks: no model is sampled
FROM_SCRATCH = ("mdlm", "sedd", "duo", "ar", "diffuseq")   # pretraining families that start from no teacher
RUN_ONLY_BLOCKS = ("sampling.", "eval.", "idlm.", "dlm_one.", "sdtt.", "distill.")
TEACHER_LOADING = ("sample", "idlm", "dlm_one", "sdtt", "dcd")
STUDENT_METHODS = ("idlm", "sdtt", "dcd")   # methods that sample a distilled discrete student (student_path=)
DISTILLING = (*STUDENT_METHODS, "dlm_one")   # methods that distil a student (distill.*), or evaluate student_path=


def check_values(values: dict) -> None:
    for key, (ok, what) in RANGES.items():
        if key in values and values[key] is not None and not ok(values[key]):
            raise ConfigError(f"{key}={values[key]} is out of range: it must be {what}")
    for key, (bound, why) in BELOW.items():
        if key in values and bound in values and values[key] >= values[bound]:
            raise ConfigError(f"{key}={values[key]} is out of range: it must be < {bound}={values[bound]} ({why})")


def check_global_batch(values: dict, command: str, processes: int) -> None:
    """The global batch of the loop the command runs splits into micro-batches of batch_size rows, as many on every
    process (core.distributed.StepPlan); refused here, before any process group or model, as every rank sees it."""
    section = "train" if command == "pretrain" else "distill"
    rows, micro = values[f"{section}.global_batch"], values[f"{section}.batch_size"]
    if rows and rows % (micro * processes):
        raise ConfigError(f"{section}.global_batch={rows} does not split over {processes} process(es) of "
                          f"{section}.batch_size={micro} rows: it must be a multiple of {micro * processes} "
                          f"({section}.batch_size x processes; the rest is gradient accumulation)")


def is_seq2seq(cfg: DictConfig) -> bool:
    from experiments.config import SEQ2SEQ_TEACHERS
    return cfg.teacher in SEQ2SEQ_TEACHERS or cfg.method in SEQ2SEQ_METHODS


# the distill.* keys DLM-One reads (experiments/dlm_one.py); its other settings are per stage, in the dlm_one block
DLM_ONE_READS = ("distill.batch_size", "distill.global_batch", "distill.fake_steps", "distill.ema_warmup",
                 "distill.save_every", "distill.log_every", "distill.max_minutes")
DLM_ONE_OWN = {"distill.lr": "dlm_one.lr", "distill.fake_lr": "dlm_one.fake_lr", "distill.betas": "dlm_one.betas",
               "distill.grad_clip": "dlm_one.grad_clip", "distill.ema_decay": "dlm_one.ema_decay",
               "distill.precision": "dlm_one.precision", "distill.eval_every": "dlm_one.eval_every",
               "distill.dropout": "dlm_one.dropout", "distill.max_steps": "dlm_one.stage1_steps / dlm_one.stage2_steps"}


def check_applicable(cfg: DictConfig, given: dict, command: str) -> None:
    """Refuse a key given on the command line that this command / method / teacher would silently ignore."""
    from experiments.config import SEQ2SEQ_TEACHERS, flat_keys, shown
    valid = flat_keys(cfg)

    def refuse(key: str, why: str):
        # the key of the same name in a block this command reads (distill.batch_size -> sampling.batch_size)
        leaf = key.split(".", 1)[-1]
        reads = [f"train.{leaf}"] if command == "pretrain" else \
            [f"sampling.{leaf}"] + ([leaf] if cfg.method not in TEACHERLESS_METHODS else [])
        instead = next((k for k in reads if k in valid and k != key), None)
        raise ConfigError(f"{key}={shown(given[key])} has no effect here: {why}"
                          + (f"; did you mean {instead}?" if instead else ""))
    seq2seq = is_seq2seq(cfg) if command == "run" else cfg.teacher in SEQ2SEQ_TEACHERS
    if "data.name" in given and not cfg.data.path:
        refuse("data.name", "it names a data.path= folder (the embedded data are named after their corpus or task)")
    loads_model = cfg.teacher == "dcd" if command == "pretrain" else cfg.method not in TEACHERLESS_METHODS
    if "data.allow_mismatch" in given and not loads_model:
        refuse("data.allow_mismatch", "this command loads no trained model whose data could differ from the run's")
    if "task" in given and not seq2seq:
        refuse("task", f"teacher={cfg.teacher} is trained on a corpus (corpus=); `task` is for "
                       f"teacher=diffuseq|ar_seq2seq and method=copy_source|dlm_one")
    if "corpus" in given and seq2seq:
        refuse("corpus", "a seq2seq run reads its task (task=qqp|qg|ts, or data.path=<DiffuSeq folder>)")
    for key in [k for k in given if k.startswith("diffuseq.")]:
        if not seq2seq:
            refuse(key, "diffuseq.* keys apply to teacher=diffuseq and method=copy_source|dlm_one only")
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
        refuse("student_path", f"method=sample samples the teacher; a student is evaluated with "
                               f"method={'|'.join(DISTILLING)}")
    for block in ("idlm", "dlm_one", "sdtt", "dcd"):
        for key in [k for k in given if k.startswith(block + ".")]:
            if cfg.method != block:
                also = " (and experiments.pretrain teacher=dcd)" if block == "dcd" else ""
                refuse(key, f"{block}.* keys apply to method={block}{also} only")
    for key in [k for k in given if k.startswith("distill.")]:
        if cfg.method not in DISTILLING:
            refuse(key, f"method={cfg.method} distils nothing; distill.* keys apply to method={'|'.join(DISTILLING)}")
        if cfg.method == "dlm_one" and key not in DLM_ONE_READS:
            own = DLM_ONE_OWN.get(key)
            refuse(key, "method=dlm_one sets it per stage (Table 5 and the dlm_one block)"
                        + (f": use {own}" if own else ", with no key for it"))
    if cfg.method == "dlm_one" and "steps" in given:
        refuse("steps", "method=dlm_one samples its student at dlm_one.steps (1 = one step)")
    from experiments.distribution import mauve_wanted
    if "eval.mauve_features" in given and not mauve_wanted(cfg):
        refuse("eval.mauve_features", f"MAUVE is off (eval.mauve={shown(cfg.eval.mauve)}; auto scores it on the "
                                      f"evaluator's features only); add eval.mauve=true")
    if "eval.diversity_valid_words" in given and not cfg.eval.diversity:
        refuse("eval.diversity_valid_words", "eval.diversity=false")

