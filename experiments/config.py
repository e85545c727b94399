"""The config tree: YAML defaults + per-teacher overlay + the method's own values (MethodSpec.overlay) + `key=value`
overrides (OmegaConf, struct mode).

Only `experiments/` reads this tree; `core` and `teachers` take explicit keyword arguments.
Refused at start-up, with one clear message: unknown keys (the valid keys are listed), wrong value types
(an int key given "abc"), choices outside their lists, combinations a command cannot run, keys the chosen method
does not read (experiments.checks, from experiments/methods.py) and options the chosen teacher would silently ignore
(`check_combinations`).
"""
from __future__ import annotations

import difflib
from pathlib import Path

from omegaconf import DictConfig, ListConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from core.errors import ConfigError
from core.launch import launched_world_size
from experiments.checks import check_applicable, check_global_batch, check_method, check_values
from experiments.folder_checks import check_models
from experiments.keys import CONFIG_DIR, flat_keys, shown
from experiments.methods import AR_BASELINES, METHODS, method_spec

OVERLAY_FREE_CORPORA = ("shakespeare", "english")   # the embedded corpora: the defaults are theirs

CHOICES = {
    "method": list(METHODS),
    "teacher": ["mdlm", "duo", "duo_distilled", "sedd", "ar", "diffuseq", "ar_lm", "ar_seq2seq"],
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
    "didi.tau": ["beta22", "uniform"],
    "distill.precision": ["auto", "fp32", "bf16"],
    "dlm_one.precision": ["auto", "fp32", "bf16"],
    "dlm_one.readout": ["linear", "mean"],
    "sampling.predictor": ["default", "ancestral", "analytic", "euler", "greedy_tail", "latent"],
    "eval.mauve": ["auto", True, False],
    "eval.mauve_features": ["auto", "evaluator", "minilm"],
}

# choices that were renamed: refused with the new name, never read as an alias (commands recorded before the rename,
# in rows and model folders, keep the old one as provenance)
RENAMED_CHOICES = {
    ("teacher", "dcd"): "the Duo model after DCD is teacher=duo_distilled (method=dcd is the DCD method)",
}

COMMANDS = ("run", "pretrain")   # experiments.run (and the commands built on it), experiments.pretrain
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
    "duo_distilled": ("sampling.cache",),
    # AR decoding makes one call per token (no steps, no predictor variants); cache=false recomputes every step
    "ar_lm": ("steps", "sampling.predictor"),
    # greedy decoding of the source-prefixed AR baseline: nothing to temper; no DiffuSeq sampler options
    "ar_seq2seq": ("steps", "sampling.predictor", "sampling.temperature", "sampling.top_p", "sampling.cache",
                   *UNCONDITIONAL_EVAL, "diffuseq.sampler", "diffuseq.respace", "diffuseq.clamp",
                   "diffuseq.candidates"),
}


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
    method = METHODS.get(given.get("method", base.method))   # an unknown method is refused below, with the list
    method_values = {k: v for k, v in (method.overlay if method and command == "run" else {}).items()
                     if k not in given}
    layers = [base]
    # per-teacher, then per-corpus defaults (the real corpora's block length), then the method's own values
    # (MethodSpec.overlay: the teacher DLM-One distils, the K of SDTT and Duo-DCD), then the command line. Every teacher
    # has an overlay and so does every corpus but the embedded ones: a missing one is a broken install, never skipped
    teacher = given.get("teacher", method_values.get("teacher", base.teacher))
    corpus = given.get("corpus", base.corpus)
    for overlay in (CONFIG_DIR / "teachers" / f"{teacher}.yaml",
                    *([CONFIG_DIR / "corpora" / f"{corpus}.yaml"] if corpus not in OVERLAY_FREE_CORPORA else [])):
        if not overlay.is_file():
            if teacher not in CHOICES["teacher"] or corpus not in CHOICES["corpus"]:
                continue   # a value outside the choices: refused below, with the list
            raise ConfigError(f"{overlay} is missing: the package was installed without its configs (setup.cfg "
                              f"package_data ships configs/*/*.yaml); reinstall it")
        layers.append(OmegaConf.load(overlay))
    layers += [OmegaConf.create(method_values), cli]
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
        if (key, merged[key]) in RENAMED_CHOICES:
            raise ConfigError(f"{key}={merged[key]}: {RENAMED_CHOICES[key, merged[key]]}")
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
    check_method(cfg)
    if cfg.teacher == "diffuseq" and cfg.diffuseq.sampler == "ancestral" and cfg.diffuseq.respace != "kept":
        raise ConfigError(f"diffuseq.respace={cfg.diffuseq.respace} is a DDIM behaviour; diffuseq.sampler=ancestral "
                          f"only runs with diffuseq.respace=kept")
    if method_spec(cfg.method).samples:
        values = flat_keys(cfg)
        for key in IGNORED_WHEN_SAMPLING.get(cfg.teacher, ()):
            if values[key] != defaults[key]:
                raise ConfigError(f"{key}={shown(values[key])} has no effect with teacher={cfg.teacher}, whose "
                                  f"sampler ignores it; leave it at its default ({shown(defaults[key])})")


DATA_PATH_FORMATS = """\
data.path=<folder> (your own data, made by `python -m experiments.data prepare <file> <folder>`; its name and the
  sha256 of its training split name the run folders and the result rows, see README):
  language modelling (teacher=mdlm|sedd|duo|duo_distilled|ar): train, valid and test files in the folder, each either
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
    lines += ["", "methods (experiments/methods.py):"]
    lines += [f"  {name:12s} {spec.summary}" for name, spec in METHODS.items()]
    lines += ["", DATA_PATH_FORMATS, "", "all keys, their defaults and what they do (experiments/configs/defaults.yaml; "
              "a teacher's overlay in configs/teachers/ may change a default):"]
    for key, value in flat_keys(base).items():
        setting = f"  {key} = {shown(value)}"
        comment = comments.get(key, "")
        lines.append(f"{setting:40s} {comment}".rstrip() if comment else setting)
    return "\n".join(lines)


def parse_args(argv: list[str], command: str = "run"):
    """--help → print the key list and return None; else the validated config of `command` ("run" or "pretrain")
    with threads applied. torch is imported once the arguments are valid."""
    if any(a in ("-h", "--help") for a in argv):
        print(help_text())
        return None
    cfg = load_config(argv, command=command)
    import torch

    from core.precision import default_threads

    torch.set_num_threads(cfg.threads or default_threads())
    return cfg
