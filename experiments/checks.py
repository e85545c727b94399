"""Start-up checks of a config tree beyond keys, types and choices (experiments.config): values out of range, keys
that the command, method or teacher would ignore, output folders that cannot be written, and model folders (teacher,
evaluator) that do not fit. All run before any model loads or any sample is drawn; each refusal is one line.
"""
from __future__ import annotations

import os
from pathlib import Path

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
    "eval.diversity_valid_words": (lambda v: v >= 1, POSITIVE),
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
    from experiments.config import shown
    from experiments.distribution import mauve_wanted
    if "eval.mauve_features" in given and not mauve_wanted(cfg):
        refuse("eval.mauve_features", f"MAUVE is off (eval.mauve={shown(cfg.eval.mauve)}; auto scores it on the "
                                      f"evaluator's features only); add eval.mauve=true")
    if "eval.diversity_valid_words" in given and not cfg.eval.diversity:
        refuse("eval.diversity_valid_words", "eval.diversity=false")


def check_output_folder(key: str, folder) -> None:
    """A folder the command will write into: a folder already, or creatable and writable."""
    path = Path(folder).expanduser()
    if path.exists() and not path.is_dir():
        raise ConfigError(f"{key}={folder} is a file, not a folder")
    existing = next(p for p in [path, *path.parents] if p.exists())
    if not existing.is_dir():
        raise ConfigError(f"{key}={folder} cannot be created: {existing} is a file")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise ConfigError(f"{key}={folder} is not writable ({existing} does not allow writing)")


def check_evaluator(name: str) -> None:
    """eval.evaluator: "auto", a model folder (config.json), or a model name in the local Hugging Face cache."""
    if name == "auto":
        return
    path = Path(name).expanduser()
    if path.is_dir():
        if not (path / "config.json").is_file():
            raise ConfigError(f"eval.evaluator={name}: the folder has no config.json (expected a reference AR model "
                              f"from `python -m experiments.pretrain teacher=ar` or a Hugging Face causal LM folder)")
        return
    if path.exists():
        raise ConfigError(f"eval.evaluator={name} is a file, not a model folder")
    from huggingface_hub import try_to_load_from_cache
    try:
        cached = try_to_load_from_cache(name, "config.json")
    except Exception:  # not a valid repository id either
        cached = None
    if not isinstance(cached, str):
        raise ConfigError(f"eval.evaluator={name} is neither a model folder nor a model in the local Hugging Face "
                          f"cache; pass a folder (e.g. checkpoints/ar-shakespeare-small) or leave it at auto")


def check_tokenizer_fits(config: dict, source: Path) -> None:
    """The tokenizer a DiT teacher's config names exists and has as many tokens as the model's vocabulary."""
    from core.tokenizers import load_tokenizer

    try:
        tokenizer = load_tokenizer(config["tokenizer"])
    except ConfigError as err:
        raise ConfigError(f"{source}: {err}") from None
    vocab = config["process"].get("vocab_size")
    if vocab is not None and tokenizer.vocab_size != vocab:
        raise ConfigError(f"{source}: the tokenizer {config['tokenizer']!r} has {tokenizer.vocab_size} tokens, but "
                          f"the model's vocabulary has {vocab}: they do not fit")


def check_auto_evaluator(cfg: DictConfig) -> None:
    """eval.evaluator=auto needs gpt2-large in the local Hugging Face cache or the corpus's reference AR model."""
    if cfg.eval.evaluator != "auto":
        return
    from huggingface_hub import try_to_load_from_cache

    from core.evaluate.unconditional import GPT2_LARGE
    from experiments.run import reference_evaluator

    if isinstance(try_to_load_from_cache(GPT2_LARGE, "config.json"), str) or reference_evaluator(cfg) is not None:
        return
    raise ConfigError(f"GenPPL needs an evaluator: {GPT2_LARGE} is not in the local Hugging Face cache and "
                      f"corpus={cfg.corpus} has no reference AR model (checkpoints/ar-{cfg.corpus}-small); train it "
                      f"with `python -m experiments.pretrain teacher=ar corpus={cfg.corpus}`, or pass "
                      f"eval.evaluator=<a model folder>")


def check_teacher_folder(cfg: DictConfig, folder: Path, command: str, key: str = "teacher_path") -> None:
    """The config.json of the teacher (or of a distilled student, key="student_path"), read without the weights, fits
    the command: family, tokenizer and vocabulary, task or corpus, sampling steps."""
    from core.checkpoint import read_json
    from experiments.config import AR_BASELINES
    from experiments.setup import corpus_tokenizer_name

    if cfg.teacher in AR_BASELINES:
        return   # transformers GPT-2 folders, not project teachers: their loader checks them (experiments/ar_baseline.py)
    config = read_json(folder / "config.json", missing="no config.json (expected a pretrained model folder)")
    if not isinstance(config, dict):
        raise ConfigError(f"{folder / 'config.json'}: expected a JSON object, got {type(config).__name__}")
    family = config.get("family")
    # a DCD model is a Duo model (same process and sampler) saved as family "dcd": the teacher=dcd checkpoint, and
    # the student of method=dcd teacher=duo
    dcd_student = key == "student_path" and command == "run" and cfg.method == "dcd"
    wanted = ("duo", "dcd") if cfg.teacher == "dcd" or dcd_student else (cfg.teacher,)
    if family not in wanted:
        raise ConfigError(f"{key}={folder} holds a {family or config.get('model_type') or 'non-project'!r} model "
                          f"(its config.json), not a teacher={cfg.teacher} model")
    if family != "diffuseq":
        from teachers.registry import check_dit_teacher_config
        check_dit_teacher_config(config, folder / "config.json")
        check_tokenizer_fits(config, folder / "config.json")
    if cfg.data.path:
        return   # the teacher was trained on data.path's data: nothing to compare against the embedded task/corpus
    if family == "diffuseq":
        if config.get("task") not in (None, cfg.task):
            raise ConfigError(f"{key}={folder} was trained on task {config['task']}, not task={cfg.task} "
                              f"(pass task={config['task']})")
        num_steps = config.get("process", {}).get("num_steps")
        if command == "run" and cfg.method == "sample" and num_steps and cfg.steps > num_steps:
            raise ConfigError(f"steps={cfg.steps} is more than the {num_steps} diffusion steps of {folder}")
    elif config.get("tokenizer") not in (None, corpus_tokenizer_name(cfg.corpus)):
        raise ConfigError(f"{key}={folder} holds a model on the {config['tokenizer']!r} tokenizer, but "
                          f"corpus={cfg.corpus} uses {corpus_tokenizer_name(cfg.corpus)!r}")


def check_models(cfg: DictConfig, given: dict, command: str) -> None:
    """The model folders a run will load, and its output folders."""
    from core.paths import RUNS_DIR
    from experiments.config import run_folder_name, run_name
    from experiments.setup import CHECKPOINTS_DIR

    loads_teacher = (command == "run" and cfg.method in TEACHER_LOADING and not (cfg.method == "dlm_one" and
                                                                                  cfg.student_path)) \
        or (command == "pretrain" and cfg.teacher == "dcd")
    if loads_teacher and command == "run" and cfg.data.path and not cfg.teacher_path:
        trained_here = RUNS_DIR / run_folder_name(cfg) / "pretrained"   # what `pretrain data.path=<same>` wrote
        if not (trained_here / "config.json").is_file():
            raise ConfigError(f"data.path={cfg.data.path} needs the teacher trained on it: pass teacher_path=<its "
                              f"pretrained folder> (none at {trained_here}; the committed teacher was trained on the "
                              f"embedded {'task' if is_seq2seq(cfg) else 'corpus'})")
    if loads_teacher:
        # the default: the committed teacher (pretrain teacher=dcd starts from the committed Duo)
        default = f"duo-{cfg.corpus}-{cfg.preset}" if command == "pretrain" else run_name(cfg)
        folder = Path(cfg.teacher_path).expanduser() if cfg.teacher_path else CHECKPOINTS_DIR / default
        if folder.is_dir():   # a missing one is reported by find_pretrained, still before any model loads
            check_teacher_folder(cfg, folder, command)
    if command == "run" and cfg.method in STUDENT_METHODS and cfg.student_path and Path(cfg.student_path).is_dir():
        check_teacher_folder(cfg, Path(cfg.student_path), command, key="student_path")
    for state_dir in saved_states(cfg, command):
        check_resume(state_dir, cfg)
    if command == "run":
        check_evaluator(cfg.eval.evaluator)
        if cfg.method in ("sample", "real_text", *STUDENT_METHODS) and not is_seq2seq(cfg):
            check_auto_evaluator(cfg)
        from experiments.run import results_dir
        check_output_folder("results_dir", results_dir(cfg))
    if cfg.run_dir:
        check_output_folder("run_dir", cfg.run_dir)


# What makes a saved training state the same run: the model family and size, its vocabulary and positions, the data,
# the teacher it starts from. Anything else (lr, schedule, max_steps, ...) may change between the phases of a run.
RUN_IDENTITY = ("method", "teacher", "preset", "corpus", "task", "data.path", "data.seq_len", "diffuseq.vocab",
                "teacher_path")


def saved_states(cfg: DictConfig, command: str) -> list[Path]:
    """The training-state folders the command would resume (pretrain: <run_dir>/checkpoint; method=idlm: its run's;
    method=sdtt|dcd: its rounds' run; method=dlm_one: each stage's)."""
    from core.paths import RUNS_DIR
    from experiments.config import run_folder_name

    if command == "pretrain":
        return [Path(cfg.run_dir or RUNS_DIR / run_folder_name(cfg)) / "checkpoint"]
    if cfg.student_path:
        return []
    if cfg.method == "idlm":
        from experiments.idlm import idlm_run_dir
        return [idlm_run_dir(cfg) / "checkpoint"]
    if cfg.method in ("sdtt", "dcd"):
        from experiments.rounds import round_run_dir
        return [round_run_dir(cfg) / "checkpoint"]
    if cfg.method == "dlm_one":
        from experiments.dlm_one import dlm_one_run_dir
        return sorted(dlm_one_run_dir(cfg).glob("stage*/checkpoint"))
    return []


def check_resume(state_dir: Path, cfg: DictConfig) -> None:
    """Refuse, before anything in the run folder changes, to resume a saved state of another run (RUN_IDENTITY).
    Reads the state's trainer.json, or that of `.checkpoint.old` left by a kill inside a checkpoint swap."""
    from core.checkpoint import TRAINER_FILE, read_json
    from experiments.config import flat_keys

    trainer = next((folder / TRAINER_FILE for folder in (state_dir, state_dir.with_name(f".{state_dir.name}.old"))
                    if (folder / TRAINER_FILE).is_file()), None)
    if trainer is None:
        return
    state = read_json(trainer)
    saved = state.get("config", {}).get("run") if isinstance(state, dict) else None
    if not isinstance(saved, dict):
        return   # states written before the run config was saved with them: nothing to compare
    saved, now = flat_keys(saved), flat_keys(cfg)
    from experiments.config import SEQ2SEQ_TEACHERS
    seq2seq = now["teacher"] in SEQ2SEQ_TEACHERS
    for key in RUN_IDENTITY:
        if key not in saved or (key == "corpus" and seq2seq) or (key == "task" and not seq2seq):
            continue
        if _identity_value(key, saved[key], cfg) != _identity_value(key, now[key], cfg):
            raise ConfigError(f"{state_dir.parent} holds a run with {key}={saved[key]}, not {key}={now[key]}: it "
                              f"cannot be resumed as this run; pass another run_dir= (the default folder is named "
                              f"after the run)")


def _identity_value(key: str, value, cfg: DictConfig):
    """Paths compared as resolved folders; teacher_path naming the committed teacher counts as the default (None)."""
    if key not in ("data.path", "teacher_path") or not value:
        return value
    from core.paths import REPO_ROOT
    from experiments.config import run_name

    resolved = Path(value).expanduser().resolve()
    if key == "teacher_path" and resolved == (REPO_ROOT / "checkpoints" / run_name(cfg)).resolve():
        return None
    return str(resolved)
