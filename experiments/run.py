"""Main entry point: `python -m experiments.run key=value ...` (see --help).

It reads the config (experiments.config), runs the recipe of `method` (experiments.methods, one MethodSpec per
method), writes the row (<results_dir>/rows/) and its config beside it and rebuilds <results_dir>/README.md (results_dir: runs/results unless
given; results/ is the committed set). The embedded default (`make demo`) samples the committed MDLM teacher on
tinyshakespeare. Nothing imports this module: the recipes and their helpers live below it.
"""
from __future__ import annotations

import importlib
import sys
from pathlib import Path

from experiments.cli import run_cli
from experiments.config import parse_args
from experiments.methods import MethodSpec, method_spec
from experiments.naming import results_dir

# torch, transformers and the recipes are imported after the arguments are read: a config error is refused in well
# under the seconds those imports take (tests/test_bad_input_catalogue.py)


def recipe_of(spec: MethodSpec):
    """The function a MethodSpec names as "module:function"."""
    module, function = spec.recipe.split(":")
    return getattr(importlib.import_module(module), function)


def main(argv: list[str]) -> int:
    cfg = parse_args(argv)
    if cfg is None:
        return 0
    from omegaconf import OmegaConf

    from core.checkpoint import atomic_write_text
    from experiments.setup import resolve_device
    from experiments.reports.readme import write_readme

    device = resolve_device(cfg.device)
    path = recipe_of(method_spec(cfg.method))(cfg, device)
    if path is None:   # a process of rank > 0 under torchrun: it trained, rank 0 writes the rows
        return 0
    atomic_write_text(Path(path).with_suffix(".config.yaml"), OmegaConf.to_yaml(cfg))
    try:
        write_readme(results_dir(cfg))
    except ValueError as error:   # another row of the folder is broken: the new row stands, its table waits
        print(f"experiments.reports.readme: {error}", file=sys.stderr)
    print(f"wrote {path}")
    print(head_lines(Path(path).read_text(), 1500))
    return 0


def head_lines(text: str, limit: int) -> str:
    """The whole lines of `text` that fit in `limit` characters, and how many are left out."""
    if len(text) <= limit:
        return text.rstrip("\n")
    kept = text[:limit].rsplit("\n", 1)[0]
    return f"{kept}\n... ({text.count(chr(10)) - kept.count(chr(10)) - 1} more lines in the file)"


if __name__ == "__main__":
    run_cli(main)
