"""Start-up checks of a config tree beyond keys, types and choices (experiments.config): values out of range and keys
that the command, method or teacher would ignore (experiments.folder_checks checks the folders it names). All run
before any model loads or any sample is drawn; each refusal is one line.
"""
from __future__ import annotations

from omegaconf import DictConfig

from core.errors import ConfigError
from experiments.keys import flat_keys, shown
from experiments.methods import METHODS, SEQ2SEQ_TEACHERS, is_seq2seq, method_spec, readers

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
    "idlm.grid_steps": (lambda v: v >= 0, ">= 0 (0 = continuous student times)"),
    # a floor on the student's entropy relative to the teacher's: above 1.5x no checkpoint can pass it
    "idlm.select_min_entropy_ratio": (lambda v: 0 < v <= 1.5, "in (0, 1.5] (x the teacher's validation entropy)"),
    "idlm.fake_weights": (lambda v: len(v) == 2 and min(v) >= 0, "two weights >= 0 (IDLM loss, adversarial)"),
    "idlm.generator_weights": (lambda v: len(v) == 2 and min(v) >= 0, "two weights >= 0 (IDLM loss, adversarial)"),
    "didi.lr": (lambda v: v > 0, "> 0"),
    "didi.discriminator_lr": (lambda v: v > 0, "> 0"),
    "didi.warmup_steps": (lambda v: v >= 0, ">= 0"),
    "didi.grad_clip": (lambda v: v >= 0, ">= 0 (0 = off)"),
    "didi.discriminator_grad_clip": (lambda v: v >= 0, ">= 0 (0 = off)"),
    "didi.discriminator_blocks": (lambda v: v >= 1, POSITIVE + " (at most the teacher's blocks)"),
    "didi.group_size": (lambda v: v >= 2, ">= 2 (a reward is normalised within its group)"),
    "didi.tau_min": (lambda v: 0 < v < 1, "in (0, 1)"),
    "didi.tau_max": (lambda v: 0 < v < 1, "in (0, 1)"),
    "didi.t_end": (lambda v: 0 < v < 1, "in (0, 1)"),
    "didi.label_smoothing": (lambda v: 0 <= v < 0.5, "in [0, 0.5)"),
    "didi.reward_clip": (lambda v: v > 0, "> 0"),
    "didi.advantage_clip": (lambda v: v > 0, "> 0"),
    "didi.weight_min": (lambda v: v > 0, "> 0"),
    "didi.weight_max": (lambda v: v > 0, "> 0"),
    "didi.kl_beta": (lambda v: v >= 0, ">= 0"),
    "didi.entropy_beta": (lambda v: v >= 0, ">= 0"),
    "didi.val_steps": (lambda v: v >= 1, POSITIVE),
    "didi.val_samples": (lambda v: v >= 1, POSITIVE),
    "didi.select_min_entropy_ratio": (lambda v: 0 < v <= 1.5, "in (0, 1.5] (x the teacher's validation entropy)"),
    "didi.rerank_fraction": (lambda v: 0 <= v <= 1, "in [0, 1]"),
    "didi.candidates": (lambda v: v >= 1, POSITIVE),
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
BELOW = {"dlm_one.t_min": ("dlm_one.t_max", "the loss levels are t ~ randint(t_min, t_max), t_max exclusive"),
         "didi.tau_min": ("didi.tau_max", "the rollout's tau is clamped to [tau_min, tau_max]"),
         "didi.weight_min": ("didi.weight_max", "the time weight is clamped to [weight_min, weight_max]")}
FROM_SCRATCH = ("mdlm", "sedd", "duo", "ar", "diffuseq")   # pretraining families that start from no teacher
# method blocks experiments.pretrain reads too, and what their refusal under another method adds
PRETRAIN_READS = {"dcd.": " (and experiments.pretrain teacher=duo_distilled)"}
# the blocks only experiments.run reads: sampling, evaluation, distillation and every method's own block
RUN_ONLY_BLOCKS = ("sampling.", "eval.", "distill.",
                   *(f"{name}." for name in METHODS if f"{name}." not in PRETRAIN_READS))
# what a method that reads no key of a block does not do, for the refusal of the block's keys
BLOCK_UNUSED = {"distill.": "distils nothing", "sampling.": "samples no model"}


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


def check_applicable(cfg: DictConfig, given: dict, command: str) -> None:
    """Refuse a key given on the command line that this command / method / teacher would silently ignore."""
    valid = flat_keys(cfg)
    spec = method_spec(cfg.method) if command == "run" else None

    def refuse(key: str, why: str):
        # the key of the same name in a block this command reads (distill.batch_size -> sampling.batch_size)
        leaf = key.split(".", 1)[-1]
        reads = [f"train.{leaf}"] if command == "pretrain" else \
            [k for k in (f"sampling.{leaf}", leaf) if spec.reads_key(k)]
        instead = next((k for k in reads if k in valid and k != key), None)
        raise ConfigError(f"{key}={shown(given[key])} has no effect here: {why}"
                          + (f"; did you mean {instead}?" if instead else ""))
    seq2seq = is_seq2seq(cfg) if command == "run" else cfg.teacher in SEQ2SEQ_TEACHERS
    if "data.name" in given and not cfg.data.path:
        refuse("data.name", "it names a data.path= folder (the embedded data are named after their corpus or task)")
    loads_model = cfg.teacher == "duo_distilled" if command == "pretrain" else spec.reads_key("teacher_path")
    if "data.allow_mismatch" in given and not loads_model:
        refuse("data.allow_mismatch", "this command loads no trained model whose data could differ from the run's")
    if "task" in given and not seq2seq:
        refuse("task", f"teacher={cfg.teacher} is trained on a corpus (corpus=); `task` is for "
                       f"teacher={'|'.join(SEQ2SEQ_TEACHERS)} and method={task_methods()}")
    if "corpus" in given and seq2seq:
        refuse("corpus", "a seq2seq run reads its task (task=qqp|qg|ts, or data.path=<DiffuSeq folder>)")
    for key in [k for k in given if k.startswith("diffuseq.")]:
        if not seq2seq:
            refuse(key, f"diffuseq.* keys apply to teacher=diffuseq and method={task_methods()} only")
    if command == "pretrain":
        for key in [k for k in given if k.startswith(RUN_ONLY_BLOCKS) or k in ("student_path", "results_dir")]:
            refuse(key, "pretraining neither samples nor evaluates; this key belongs to experiments.run")
        if "teacher_path" in given and cfg.teacher in FROM_SCRATCH:
            refuse("teacher_path", f"teacher={cfg.teacher} is pretrained from scratch (only teacher=duo_distilled "
                                   f"starts from a teacher)")
        return
    for key in given:
        why = method_key_refusal(cfg.method, key)
        if why:
            refuse(key, why)
    from experiments.distribution import mauve_wanted
    if "eval.mauve_features" in given and not mauve_wanted(cfg):
        refuse("eval.mauve_features", f"MAUVE is off (eval.mauve={shown(cfg.eval.mauve)}; auto scores it on the "
                                      f"evaluator's features only); add eval.mauve=true")
    if "eval.diversity_valid_words" in given and not cfg.eval.diversity:
        refuse("eval.diversity_valid_words", "eval.diversity=false")


def task_methods() -> str:
    return "|".join(name for name, spec in METHODS.items() if spec.reads_task)


def method_key_refusal(method: str, key: str) -> str | None:
    """Why `method` refuses a method-scoped key (one some method reads, MethodSpec.reads) that it does not read;
    None when it reads the key or no method does. The method's own words first (MethodSpec.refusals)."""
    spec, users = METHODS[method], readers(key)
    if spec.reads_key(key) or not users:
        return None
    block = key.split(".", 1)[0] + "." if "." in key else None
    why = spec.refusals.get(key) or (spec.refusals.get(block) if block else None)
    if why:
        return why.format(readers="|".join(users))
    if block is None:
        return f"method={method} does not read it; it applies to method={'|'.join(users)}"
    if block[:-1] in METHODS:   # a method's own block
        return f"{block}* keys apply to method={'|'.join(users)}{PRETRAIN_READS.get(block, '')} only"
    own = [k for k in spec.reads if k.startswith(block)]
    if own:
        return f"method={method} reads only {', '.join(own)} of the {block}* keys; {key} applies to " \
               f"method={'|'.join(users)}"
    block_users = [name for name, other in METHODS.items() if any(k.startswith(block) for k in other.reads)]
    return f"method={method} {BLOCK_UNUSED.get(block, f'reads no {block}* key')}; {block}* keys apply to " \
           f"method={'|'.join(block_users)}"


def check_method(cfg: DictConfig) -> None:
    """The method's own start-up checks (MethodSpec): the teachers it accepts, then its `checks`."""
    spec = method_spec(cfg.method)
    if spec.samples and cfg.teacher == "ar":
        raise ConfigError(f"teacher=ar is the reference GenPPL evaluator, not a model method={cfg.method} can "
                          f"sample; train it with `python -m experiments.pretrain teacher=ar` and pass its folder "
                          f"as eval.evaluator=<folder>; the AR baselines are teacher=ar_lm and teacher=ar_seq2seq")
    if spec.teachers and cfg.teacher not in spec.teachers:
        raise ConfigError(f"method={cfg.method} distils {spec.teachers_text}, not teacher={cfg.teacher}")
    for check in spec.checks:
        check(cfg)
