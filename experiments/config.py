"""The config tree: YAML defaults + per-teacher overlay + `key=value` overrides (OmegaConf, struct mode).

Only `experiments/` reads this tree; `core` and `teachers` take explicit keyword arguments.
Refused at start-up, with one clear message: unknown keys (the valid keys are listed), wrong value types
(an int key given "abc"), and choices outside their lists.
"""
from __future__ import annotations

from pathlib import Path

from omegaconf import DictConfig, ListConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from core.errors import ConfigError

CONFIG_DIR = Path(__file__).resolve().parent / "configs"

CHOICES = {
    "method": ["sample", "real_text", "copy_source", "idlm"],
    "teacher": ["mdlm", "duo", "dcd", "sedd", "ar", "diffuseq"],
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
    "sampling.predictor": ["default", "ancestral", "analytic", "euler", "greedy_tail"],
}


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


def load_config(argv: list[str], *, defaults: Path = CONFIG_DIR / "defaults.yaml") -> DictConfig:
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
    return cfg


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
    where = cfg.task if cfg.teacher == "diffuseq" else cfg.corpus
    return f"{cfg.teacher}-{where}-{cfg.preset}"
