"""The config tree: YAML defaults + per-teacher overlay + `key=value` overrides (OmegaConf, struct mode).

Only `experiments/` reads this tree; `core` and `teachers` take explicit keyword arguments.
Refused at start-up, with one clear message: unknown keys (the valid keys are listed), wrong value types
(an int key given "abc"), choices outside their lists, combinations a command cannot run, and options the chosen
teacher would silently ignore (`check_combinations`).
"""
from __future__ import annotations

import difflib
import hashlib
from pathlib import Path

from omegaconf import DictConfig, ListConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from core.errors import ConfigError
from core.launch import launched_world_size
from experiments.checks import check_applicable, check_global_batch, check_values
from experiments.folder_checks import check_models

OVERLAY_FREE_CORPORA = ("shakespeare", "english")   # the embedded corpora: the defaults are theirs

CONFIG_DIR = Path(__file__).resolve().parent / "configs"

CHOICES = {
    "method": ["sample", "real_text", "copy_source", "idlm", "dlm_one", "sdtt", "dcd"],
    "teacher": ["mdlm", "duo", "dcd", "sedd", "ar", "diffuseq", "ar_lm", "ar_seq2seq"],
    "corpus": ["shakespeare", "english", "openwebtext", "lm1b", "wikitext103", "wikitext2"],
    "task": ["qqp", "qg", "ts"],
    "preset": ["tiny", "small", "base"],
    "device": ["auto", "cpu", "cuda"],
    "train.lr_schedule": ["constant", "cosine", "wsd"],
    "train.precision": ["auto", "fp32", "bf16"],
    "train.export_dtype": ["float32", "float16", "bfloat16"],
    "dcd.loss_type": ["kl-bwd", "kl-fwd"],
    "sdtt.loss": ["kl-bwd", "kl-fwd", "mse"],
    "sdtt.teacher_grid": ["even", "public"],
    "diffuseq.vocab": ["task", "bert"],
    "diffuseq.timestep_sampler": ["uniform", "lossaware"],
    "diffuseq.sampler": ["ddim", "ancestral"],
    "diffuseq.respace": ["kept", "diffuseq"],
    "idlm.loss_time": ["coupled", "same", "independent"],
    "distill.precision": ["auto", "fp32", "bf16"],
    "dlm_one.precision": ["auto", "fp32", "bf16"],
    "dlm_one.readout": ["linear", "mean"],
    "sampling.predictor": ["default", "ancestral", "analytic", "euler", "greedy_tail", "latent"],
    "eval.mauve": ["auto", True, False],
    "eval.mauve_features": ["auto", "evaluator", "minilm"],
}


COMMANDS = ("run", "pretrain")   # experiments.run (and the commands built on it), experiments.pretrain
SAMPLED_BY = ("sample", "idlm", "sdtt", "dcd")   # methods of experiments.run that sample `teacher`
IDLM_TEACHERS = ("mdlm", "sedd", "duo", "dcd")   # IDLM distils discrete diffusion models
# methods that train one student against its own frozen copy, round by round, halving the steps each round:
# method -> (the teacher it distils, the config key of its starting step count). Their student is for K = `steps`,
# 8 unless given (the public codes' last round); the alternating loop's fake model keys have no use there.
ROUND_METHODS = {"sdtt": ("mdlm", "sdtt.base_steps"), "dcd": ("duo", "dcd.base_steps")}
ROUND_METHOD_STEPS = 8
DISTILLED_STUDENTS = ("idlm", *ROUND_METHODS)   # methods whose rows sample a distilled student
NO_FAKE_MODEL = ("distill.max_steps", "distill.fake_lr", "distill.fake_steps")
# the distribution metrics of unconditional rows (experiments/distribution.py): no use in a seq2seq row
UNCONDITIONAL_EVAL = ("eval.mauve", "eval.mauve_features", "eval.diversity", "eval.diversity_valid_words")
# keys a teacher's sampling path has no use for, so a non-default value would be silently ignored
IGNORED_WHEN_SAMPLING = {
    # DiffuSeq decodes embeddings (DDIM / ancestral with rounding): no categorical draw to temper or truncate, no
    # predictor variants, no denoiser cache; its metrics are the seq2seq set, without MAUVE
    "diffuseq": ("sampling.predictor", "sampling.temperature", "sampling.top_p", "sampling.cache",
                 *UNCONDITIONAL_EVAL),
    # the SEDD and Duo samplers condition on the noise level, so the network is called at every step: nothing to cache
    "sedd": ("sampling.cache",),
    "duo": ("sampling.cache",),
    "dcd": ("sampling.cache",),
    # AR decoding makes one call per token (no steps, no predictor variants); cache=false recomputes every step
    "ar_lm": ("steps", "sampling.predictor"),
    # greedy decoding of the source-prefixed AR baseline: nothing to temper; no DiffuSeq sampler options
    "ar_seq2seq": ("steps", "sampling.predictor", "sampling.temperature", "sampling.top_p", "sampling.cache",
                   *UNCONDITIONAL_EVAL, "diffuseq.sampler", "diffuseq.respace", "diffuseq.clamp",
                   "diffuseq.candidates"),
}
SEQ2SEQ_TEACHERS = ("diffuseq", "ar_seq2seq")   # trained and scored on a seq2seq `task`, not a `corpus`
AR_BASELINES = ("ar_lm", "ar_seq2seq")          # transformers GPT-2 folders of the reference AR recipe, not DiTs


def flat_keys(cfg, prefix: str = "") -> dict[str, object]:
    out = {}
    for key, value in cfg.items():
        name = f"{prefix}{key}"
        if isinstance(value, (DictConfig, dict)):
            out.update(flat_keys(value, name + "."))
        else:
            out[name] = value
    return out


def parse_overrides(argv: list[str]) -> list[str]:
    for arg in argv:
        if "=" not in arg or arg.startswith("="):
            raise ConfigError(f"argument {arg!r} is not of the form key=value (see --help)")
    return list(argv)


FREE_LENGTH_LISTS = ("eval.frontier_temperatures",)
AUTO_KEYS = ("data.seq_len",)   # int keys that also take "auto" (resolved from the data: experiments.data_lengths)


def check_type(key: str, default, value) -> None:
    if default is None or value is None or (key in AUTO_KEYS and value == "auto"):
        return
    if isinstance(default, ListConfig):   # a list of numbers: AdamW's betas as many as the default, a sweep any
        fixed = key not in FREE_LENGTH_LISTS
        if not (isinstance(value, ListConfig) and (len(value) == len(default) or not fixed)
                and all(is_number(v) for v in value)):
            count = f"{len(default)} " if fixed else ""
            raise ConfigError(f"config key {key!r} expects a list of {count}numbers like "
                              f"{shown(list(default))}, got {shown(value)}")
        return
    if isinstance(default, bool):
        ok = isinstance(value, bool)
    elif isinstance(default, int):
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif isinstance(default, float):
        ok = is_number(value)
    elif isinstance(default, str):
        ok = isinstance(value, (str, int, float))  # "1e-3"-like strings are fine where a string is expected
    else:
        ok = True
    if not ok:
        also = " or auto" if key in AUTO_KEYS else ""
        raise ConfigError(f"config key {key!r} expects {type(default).__name__}{also}, got {value!r}")


def is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def load_config(argv: list[str], *, defaults: Path = CONFIG_DIR / "defaults.yaml", command: str = "run") -> DictConfig:
    """The validated config tree for `command` ("run" or "pretrain"); ConfigError with one line when it is not valid."""
    if command not in COMMANDS:
        raise ValueError(f"load_config: unknown command {command!r}; valid: {list(COMMANDS)}")
    overrides = parse_overrides(argv)
    base = OmegaConf.load(defaults)
    valid = flat_keys(base)
    try:
        cli = OmegaConf.from_dotlist(overrides)
    except OmegaConfBaseException as exc:
        raise ConfigError(f"cannot parse overrides {overrides}: {exc}") from None
    given = flat_keys(cli)
    unknown = [k for k in given if k not in valid]
    if unknown:
        close = {k: difflib.get_close_matches(k, valid, n=1, cutoff=0.6) for k in unknown}
        hints = "; ".join(f"{k}: did you mean {c[0]}?" for k, c in close.items() if c)
        raise ConfigError(f"unknown config key(s) {unknown}" + (f" ({hints})" if hints else "")
                          + f"; valid keys: {sorted(valid)}")
    if given.get("method") == "dlm_one":   # DLM-One distils the DiffuSeq teacher only: make it the default
        if given.setdefault("teacher", "diffuseq") != "diffuseq":
            raise ConfigError(f"method=dlm_one distils a DiffuSeq teacher; got teacher={given['teacher']}")
        cli = OmegaConf.merge(cli, {"teacher": "diffuseq"})
    if given.get("method") in ROUND_METHODS and "steps" not in given:
        cli = OmegaConf.merge(cli, {"steps": ROUND_METHOD_STEPS})
    layers = [base]
    # per-teacher, then per-corpus defaults (the real corpora's block length), then the command line. Every teacher
    # has an overlay and so does every corpus but the embedded ones: a missing one is a broken install, never skipped
    teacher, corpus = given.get("teacher", base.teacher), given.get("corpus", base.corpus)
    for overlay in (CONFIG_DIR / "teachers" / f"{teacher}.yaml",
                    *([CONFIG_DIR / "corpora" / f"{corpus}.yaml"] if corpus not in OVERLAY_FREE_CORPORA else [])):
        if not overlay.is_file():
            if teacher not in CHOICES["teacher"] or corpus not in CHOICES["corpus"]:
                continue   # a value outside the choices: refused below, with the list
            raise ConfigError(f"{overlay} is missing: the package was installed without its configs (setup.cfg "
                              f"package_data ships configs/*/*.yaml); reinstall it")
        layers.append(OmegaConf.load(overlay))
    layers.append(cli)
    OmegaConf.set_struct(base, True)
    try:
        cfg = OmegaConf.merge(*layers)
    except OmegaConfBaseException as exc:
        raise ConfigError(f"invalid config: {exc}") from None
    OmegaConf.set_struct(cfg, True)
    merged = flat_keys(cfg)
    for key, value in given.items():
        check_type(key, valid[key], value)
    for key, allowed in CHOICES.items():
        if merged[key] not in allowed:
            raise ConfigError(f"config key {key!r} = {merged[key]!r} is not one of {allowed}")
    if isinstance(cfg.steps, (ListConfig,)) or int(cfg.steps) < 1:
        raise ConfigError(f"config key 'steps' must be a positive integer, got {cfg.steps!r}")
    check_values(flat_keys(cfg))
    check_global_batch(flat_keys(cfg), command, launched_world_size())
    check_applicable(cfg, given, command)
    check_combinations(cfg, valid, command)
    if cfg.data.seq_len == "auto":   # after every check of the values: it reads and tokenizes the training split
        from experiments.data_lengths import resolve_auto_seq_len
        resolve_auto_seq_len(cfg)
    check_models(cfg, given, command)
    return cfg


def check_combinations(cfg: DictConfig, defaults: dict, command: str) -> None:
    """Refuse, before any work, what each key accepts alone but the command cannot do or would ignore."""
    if cfg.teacher in ("ar", *AR_BASELINES) and command == "pretrain":
        from core.evaluate.reference_ar import AR_PRESETS
        if cfg.preset not in AR_PRESETS:
            raise ConfigError(f"preset={cfg.preset} has no reference AR model size; teacher={cfg.teacher} takes "
                              f"preset {' or '.join(AR_PRESETS)}")
    if command != "run":
        return
    if cfg.method in SAMPLED_BY and cfg.teacher == "ar":
        raise ConfigError(f"teacher=ar is the reference GenPPL evaluator, not a model method={cfg.method} can "
                          f"sample; train it with `python -m experiments.pretrain teacher=ar` and pass its folder "
                          f"as eval.evaluator=<folder>; the AR baselines are teacher=ar_lm and teacher=ar_seq2seq")
    if cfg.method == "idlm" and cfg.teacher not in IDLM_TEACHERS:
        raise ConfigError(f"method=idlm distils a discrete diffusion teacher ({', '.join(IDLM_TEACHERS)}), not "
                          f"teacher={cfg.teacher}")
    if cfg.method in ROUND_METHODS:
        check_round_method(cfg, defaults)
    if cfg.teacher == "diffuseq" and cfg.diffuseq.sampler == "ancestral" and cfg.diffuseq.respace != "kept":
        raise ConfigError(f"diffuseq.respace={cfg.diffuseq.respace} is a DDIM behaviour; diffuseq.sampler=ancestral "
                          f"only runs with diffuseq.respace=kept")
    if cfg.method in SAMPLED_BY:
        values = flat_keys(cfg)
        for key in IGNORED_WHEN_SAMPLING.get(cfg.teacher, ()):
            if values[key] != defaults[key]:
                raise ConfigError(f"{key}={shown(values[key])} has no effect with teacher={cfg.teacher}, whose "
                                  f"sampler ignores it; leave it at its default ({shown(defaults[key])})")


def check_round_method(cfg: DictConfig, defaults: dict) -> None:
    """SDTT distils MDLM and Duo-DCD distils Duo, each from `<method>.base_steps` to K = steps by halvings."""
    teacher, base_key = ROUND_METHODS[cfg.method]
    if cfg.teacher != teacher:
        raise ConfigError(f"method={cfg.method} distils a teacher={teacher} model, not teacher={cfg.teacher}")
    values = flat_keys(cfg)
    for key in NO_FAKE_MODEL:
        if values[key] != defaults[key]:
            raise ConfigError(f"{key}={shown(values[key])} has no effect with method={cfg.method}, which trains no "
                              f"fake model and runs its rounds' steps; leave it at its default "
                              f"({shown(defaults[key])})")
    base = values[base_key]
    ratio = base // cfg.steps
    if cfg.student_path is None and (ratio < 2 or ratio * cfg.steps != base or ratio & (ratio - 1)):
        raise ConfigError(f"method={cfg.method} halves the step count each round from {base_key}={base}: "
                          f"steps={cfg.steps} must be {base_key} / 2^n with n >= 1")


def shown(value) -> str:
    """A value as it is typed on the command line (true, not Python's True)."""
    if value is None:
        return "null"
    return str(value).lower() if isinstance(value, bool) else str(value)


DATA_PATH_FORMATS = """\
data.path=<folder> (your own data, made by `python -m experiments.data prepare <file> <folder>`; its name and the
  sha256 of its training split name the run folders and the result rows, see README):
  language modelling (teacher=mdlm|sedd|duo|dcd|ar): train, valid and test files in the folder, each either
    <split>.txt (or .txt.gz)     one running text, cut into blocks of data.seq_len tokens
    <split>.jsonl (or .jsonl.gz) one {"text": ...} document per line; documents are joined with EOS between them
  tokenized with the tokenizer of corpus=: shakespeare -> char (the 65 characters of tinyshakespeare; any other
  character is refused with its file and line), english -> small_bpe (8k BPE, encodes any text)
  seq2seq (teacher=diffuseq, method=copy_source|dlm_one): train.jsonl, valid.jsonl, test.jsonl with one
    {"src": ..., "trg": ...} pair per line; rows with the same src become one example with several references
  a run on data.path needs a teacher trained on the same data (a model trained on other data is refused unless
  data.allow_mismatch=true): teacher_path=, or the export of `python -m experiments.pretrain ... data.path=<it>`
  (found in its default run folder), and for GenPPL the evaluator of `... pretrain teacher=ar data.path=<it>`"""


def key_comments(path: Path = CONFIG_DIR / "defaults.yaml") -> dict[str, str]:
    """dotted key -> the comment defaults.yaml gives it (continued on comment-only lines below it)."""
    comments, stack, last = {}, [], None
    for line in path.read_text().splitlines():
        body, _, comment = line.partition("#")
        if not body.strip():
            if last and comment.strip() and line.startswith(" " * 8):   # a continued comment of the last key
                comments[last] += " " + comment.strip()
            continue
        indent, key = len(body) - len(body.lstrip()), body.strip().split(":", 1)[0]
        stack = [(i, k) for i, k in stack if i < indent] + [(indent, key)]
        last = ".".join(k for _, k in stack)
        comments[last] = comment.strip()
    return comments


def help_text() -> str:
    base = OmegaConf.load(CONFIG_DIR / "defaults.yaml")
    comments = key_comments()
    lines = ["usage: python -m experiments.run [key=value ...]",
             "       python -m experiments.pretrain [key=value ...]", ""]
    for key in ("method", "teacher", "corpus", "task", "preset"):
        lines.append(f"  {key:8s} one of {', '.join(CHOICES[key])}  (default {base[key]})")
    lines += ["", DATA_PATH_FORMATS, "", "all keys, their defaults and what they do (experiments/configs/defaults.yaml; "
              "a teacher's overlay in configs/teachers/ may change a default):"]
    for key, value in flat_keys(base).items():
        setting = f"  {key} = {shown(value)}"
        comment = comments.get(key, "")
        lines.append(f"{setting:40s} {comment}".rstrip() if comment else setting)
    return "\n".join(lines)


def run_name(cfg: DictConfig) -> str:
    where = cfg.task if cfg.teacher in SEQ2SEQ_TEACHERS else cfg.corpus
    return f"{cfg.teacher}-{where}-{cfg.preset}"


def run_folder_name(cfg: DictConfig) -> str:
    """The identity of a training run, its default folder name under runs/: <teacher>-<corpus|task>-<preset>, plus
    the data folder and the starting teacher when they are not the defaults (data_suffix), so runs on other data
    never share (and resume) a folder."""
    return run_name(cfg) + data_suffix(cfg)


def path_digest(path) -> str:
    """A short tag of a model folder (teacher_path, a student): its name and 6 hex digits of its path (relative to the
    repository when inside it), so two folders of the same name get different tags and the same folder always the
    same one. Data folders are tagged by their content instead (experiments.data_identity.data_tag)."""
    from core.paths import REPO_ROOT
    from experiments.data_identity import safe_name

    resolved = Path(path).expanduser().resolve()
    key = str(resolved.relative_to(REPO_ROOT)) if resolved.is_relative_to(REPO_ROOT) else str(resolved)
    return f"{safe_name(resolved.name)}-{hashlib.sha1(key.encode()).hexdigest()[:6]}"


def is_committed_teacher(cfg: DictConfig) -> bool:
    """True when the teacher is the default one: no teacher_path, or teacher_path naming checkpoints/<run name>."""
    from core.paths import REPO_ROOT

    if not cfg.teacher_path:
        return True
    return Path(cfg.teacher_path).expanduser().resolve() == (REPO_ROOT / "checkpoints" / run_name(cfg)).resolve()


def data_suffix(cfg: DictConfig) -> str:
    """What a run's or row's name adds for the data and teacher it used when they are not the defaults: empty for
    the embedded corpus/task and the committed teacher, so the default names stay what they have always been."""
    parts = [data_part(cfg)]
    if not is_committed_teacher(cfg):
        parts.append(f"-from-{path_digest(cfg.teacher_path)}")
    return "".join(parts)


def data_part(cfg: DictConfig) -> str:
    """`-data-<name>-<content hash>` for data.path=, empty for the embedded data: the same data in another folder
    keeps its run folders and rows, and a changed file gets new ones."""
    from experiments.data_identity import data_tag

    return f"-data-{data_tag(cfg)}" if cfg.data.path else ""


def student_suffix(cfg: DictConfig) -> str:
    """`-student-<hash>` for a distilled student (method idlm, sdtt or dcd) other than the committed
    checkpoints/<method>-<run name>: the student_path= folder, else the run folder's student (what a fresh
    distillation evaluates)."""
    from core.paths import REPO_ROOT

    student = Path(cfg.student_path) if cfg.student_path else student_run_dir(cfg) / "student"
    if student.expanduser().resolve() == (REPO_ROOT / "checkpoints" / f"{cfg.method}-{run_name(cfg)}").resolve():
        return ""
    return f"-student-{path_digest(student).rsplit('-', 1)[1]}"   # the folder is mostly named "student": hash only


def student_run_dir(cfg: DictConfig) -> Path:
    """The run folder a distillation method trains its student in (experiments.idlm / experiments.rounds)."""
    if cfg.method == "idlm":
        from experiments.idlm import idlm_run_dir
        return idlm_run_dir(cfg)
    from experiments.rounds import round_run_dir
    return round_run_dir(cfg)


def row_suffix(cfg: DictConfig) -> str:
    """Everything beyond <method/teacher>-<corpus|task>-<preset>-steps<K> that changes a result row's numbers, as a
    name suffix built the same way by every recipe (experiments.run, experiments.idlm, experiments.dlm_one): sampler
    options that differ from the defaults, an IDLM student other than the committed one, fewer samples than the
    default, a seed other than the default, and the data folder and teacher (data_suffix). Empty for the default settings, so the committed row names stay valid.
    A larger sample than the default keeps the name: it measures the same quantity more precisely (the committed
    real-text and 1024-step MDLM rows use 256 samples), and the row records its sample count."""
    base, parts = OmegaConf.load(CONFIG_DIR / "defaults.yaml"), []
    s, d = cfg.sampling, cfg.diffuseq
    if cfg.method in SAMPLED_BY and cfg.teacher != "diffuseq":     # the discrete samplers' options
        parts += [f"-{s.predictor}"] if s.predictor != base.sampling.predictor else []
        parts += [f"-T{s.temperature:g}"] if s.temperature != base.sampling.temperature else []
        parts += [f"-p{s.top_p:g}"] if s.top_p != base.sampling.top_p else []
        parts += ["-fp32"] if s.float64 != base.sampling.float64 else []
        parts += ["-nocache"] if s.cache != base.sampling.cache else []
    if cfg.method == "sample" and cfg.teacher == "diffuseq":       # the DiffuSeq sampler's options
        parts += [f"-{d.sampler}"] if d.sampler != base.diffuseq.sampler else []
        parts += [f"-respace_{d.respace}"] if d.respace != base.diffuseq.respace else []
        parts += ["-noclamp"] if d.clamp != base.diffuseq.clamp else []
    if cfg.method in DISTILLED_STUDENTS:   # the student: the committed one unless student_path= or a fresh run
        parts += [student_suffix(cfg)]
    parts += [f"-n{s.num_samples}"] if s.num_samples < base.sampling.num_samples else []
    parts += [f"-seed{cfg.seed}"] if cfg.seed != base.seed else []
    return "".join(parts) + data_suffix(cfg)
