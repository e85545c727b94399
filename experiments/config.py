"""The config tree: YAML defaults + per-teacher overlay + `key=value` overrides (OmegaConf, struct mode).

Only `experiments/` reads this tree; `core` and `teachers` take explicit keyword arguments.
Refused at start-up, with one clear message: unknown keys (the valid keys are listed), wrong value types
(an int key given "abc"), choices outside their lists, combinations a command cannot run, and options the chosen
teacher would silently ignore (`check_combinations`).
"""
from __future__ import annotations

from pathlib import Path

from omegaconf import DictConfig, ListConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from core.errors import ConfigError

CONFIG_DIR = Path(__file__).resolve().parent / "configs"

CHOICES = {
    "method": ["sample", "real_text", "copy_source", "idlm", "dlm_one"],
    "teacher": ["mdlm", "duo", "dcd", "sedd", "ar", "diffuseq", "ar_lm", "ar_seq2seq"],
    "corpus": ["shakespeare", "english"],
    "task": ["qqp", "qg", "ts"],
    "preset": ["tiny", "small", "base"],
    "device": ["auto", "cpu", "cuda"],
    "train.lr_schedule": ["constant", "cosine", "wsd"],
    "train.precision": ["fp32", "bf16"],
    "train.export_dtype": ["float32", "float16", "bfloat16"],
    "dcd.loss_type": ["kl-bwd", "kl-fwd"],
    "diffuseq.vocab": ["task", "bert"],
    "diffuseq.timestep_sampler": ["uniform", "lossaware"],
    "diffuseq.sampler": ["ddim", "ancestral"],
    "diffuseq.respace": ["kept", "diffuseq"],
    "idlm.loss_time": ["coupled", "same", "independent"],
    "distill.precision": ["fp32", "bf16"],
    "dlm_one.precision": ["fp32", "bf16"],
    "dlm_one.readout": ["linear", "mean"],
    "sampling.predictor": ["default", "ancestral", "analytic", "euler", "greedy_tail"],
}


COMMANDS = ("run", "pretrain")   # experiments.run (and the commands built on it), experiments.pretrain
SAMPLED_BY = ("sample", "idlm")   # methods of experiments.run that sample `teacher`
IDLM_TEACHERS = ("mdlm", "sedd", "duo", "dcd")   # IDLM distils discrete diffusion models
# keys a teacher's sampling path has no use for, so a non-default value would be silently ignored
IGNORED_WHEN_SAMPLING = {
    # DiffuSeq decodes embeddings (DDIM / ancestral with rounding): no categorical draw to temper or truncate, no
    # predictor variants, no denoiser cache; its metrics are the seq2seq set, without MAUVE
    "diffuseq": ("sampling.predictor", "sampling.temperature", "sampling.top_p", "sampling.cache", "eval.mauve"),
    # the SEDD and Duo samplers condition on the noise level, so the network is called at every step: nothing to cache
    "sedd": ("sampling.cache",),
    "duo": ("sampling.cache",),
    "dcd": ("sampling.cache",),
    # AR decoding makes one call per token (no steps, no predictor variants); cache=false recomputes every step
    "ar_lm": ("steps", "sampling.predictor"),
    # greedy decoding of the source-prefixed AR baseline: nothing to temper; no DiffuSeq sampler options
    "ar_seq2seq": ("steps", "sampling.predictor", "sampling.temperature", "sampling.top_p", "sampling.cache",
                   "eval.mauve", "diffuseq.sampler", "diffuseq.respace", "diffuseq.clamp", "diffuseq.candidates"),
}
SEQ2SEQ_TEACHERS = ("diffuseq", "ar_seq2seq")   # trained and scored on a seq2seq `task`, not a `corpus`


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


def check_type(key: str, default, value) -> None:
    if default is None or value is None:
        return
    if isinstance(default, bool):
        ok = isinstance(value, bool)
    elif isinstance(default, int):
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif isinstance(default, float):
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    elif isinstance(default, str):
        ok = isinstance(value, (str, int, float))  # "1e-3"-like strings are fine where a string is expected
    else:
        ok = True
    if not ok:
        raise ConfigError(f"config key {key!r} expects {type(default).__name__}, got {value!r}")


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
        raise ConfigError(f"unknown config key(s) {unknown}; valid keys: {sorted(valid)}")
    if given.get("method") == "dlm_one":   # DLM-One distils the DiffuSeq teacher only: make it the default
        if given.setdefault("teacher", "diffuseq") != "diffuseq":
            raise ConfigError(f"method=dlm_one distils a DiffuSeq teacher; got teacher={given['teacher']}")
        cli = OmegaConf.merge(cli, {"teacher": "diffuseq"})
    teacher = given.get("teacher", base.teacher)
    layers = [base]
    overlay = CONFIG_DIR / "teachers" / f"{teacher}.yaml"
    if overlay.is_file():
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
    check_combinations(cfg, valid, command)
    return cfg


def check_combinations(cfg: DictConfig, defaults: dict, command: str) -> None:
    """Refuse, before any work, what each key accepts alone but the command cannot do or would ignore."""
    if cfg.teacher in ("ar", "ar_lm", "ar_seq2seq") and command == "pretrain":
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
    if cfg.teacher == "diffuseq" and cfg.diffuseq.sampler == "ancestral" and cfg.diffuseq.respace != "kept":
        raise ConfigError(f"diffuseq.respace={cfg.diffuseq.respace} is a DDIM behaviour; diffuseq.sampler=ancestral "
                          f"only runs with diffuseq.respace=kept")
    if cfg.method in SAMPLED_BY:
        values = flat_keys(cfg)
        for key in IGNORED_WHEN_SAMPLING.get(cfg.teacher, ()):
            if values[key] != defaults[key]:
                raise ConfigError(f"{key}={_shown(values[key])} has no effect with teacher={cfg.teacher}, whose "
                                  f"sampler ignores it; leave it at its default ({_shown(defaults[key])})")


def _shown(value) -> str:
    """A value as it is typed on the command line (true, not Python's True)."""
    return str(value).lower() if isinstance(value, bool) else str(value)


def help_text() -> str:
    base = OmegaConf.load(CONFIG_DIR / "defaults.yaml")
    lines = ["usage: python -m experiments.run [key=value ...]",
             "       python -m experiments.pretrain [key=value ...]", ""]
    for key in ("method", "teacher", "corpus", "task", "preset"):
        lines.append(f"  {key:8s} one of {', '.join(CHOICES[key])}  (default {base[key]})")
    lines += ["", "all keys and their defaults:"]
    lines += [f"  {k} = {v}" for k, v in flat_keys(base).items()]
    return "\n".join(lines)


def run_name(cfg: DictConfig) -> str:
    where = cfg.task if cfg.teacher in SEQ2SEQ_TEACHERS else cfg.corpus
    return f"{cfg.teacher}-{where}-{cfg.preset}"
