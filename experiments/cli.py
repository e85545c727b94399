"""The experiments' command-line plumbing: the shared error handling (core.cli) and the parsing of key=value runs."""
from __future__ import annotations

from core.cli import USER_ERRORS, add_results_dir, run_cli  # noqa: F401  (the experiments' commands import them here)


def parse_args(argv: list[str], command: str = "run"):
    """--help → print the key list and return None; else the validated config of `command` ("run" or "pretrain",
    see experiments.config.check_combinations) with threads applied. torch is imported once the arguments are valid."""
    from experiments.config import help_text, load_config

    if any(a in ("-h", "--help") for a in argv):
        print(help_text())
        return None
    cfg = load_config(argv, command=command)
    import torch

    from core.precision import default_threads

    torch.set_num_threads(cfg.threads or default_threads())
    return cfg
