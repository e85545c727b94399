"""`python -m experiments.launch --nproc N [pretrain] key=value ...`: start a command on N processes of this machine
with torchrun (torch.distributed.run), under the commands' rule for bad input: one line, exit code 2.

    python -m experiments.launch --nproc 8 method=idlm teacher=mdlm distill.global_batch=512   # experiments.run
    python -m experiments.launch --nproc 8 pretrain teacher=mdlm preset=base                  # experiments.pretrain
    python -m experiments.launch --nproc 8 --nnodes=2 --node-rank=0 --rdzv-endpoint=host:29400 method=idlm ...

Options of the form `--name=value` before the keys go to torchrun unchanged. The arguments are checked here first,
as every process would check them, with WORLD_SIZE set to the processes to start: a config error (an unknown key, a
global batch the processes cannot divide) is refused before any process starts. A bad input a process finds later
(a data file, say) is said once by rank 0, and every process exits 2: the launcher then exits 2 too, without
torchrun's report of the failed processes. Any other failure ends in one line naming the rank and its exit code.
"""
from __future__ import annotations

import logging
import os
import sys
from contextlib import contextmanager

from core.errors import ConfigError
from experiments.cli import run_cli

COMMANDS = {"run": "experiments.run", "pretrain": "experiments.pretrain"}
USAGE = ("usage: python -m experiments.launch --nproc N [--<torchrun option>=<value> ...] [run|pretrain] "
         "[key=value ...]")


def parse_launch(argv: list[str]) -> tuple[int, list[str], str, list[str]]:
    """(processes per node, torchrun options, command, the command's key=value arguments) of the launcher's argv."""
    argv = list(argv)
    nproc, options = None, []
    while argv and argv[0].startswith("--"):
        option = argv.pop(0)
        name, has_value, value = option.partition("=")
        if name in ("--nproc", "--nproc-per-node", "--nproc_per_node"):
            if not has_value:
                value = argv.pop(0) if argv else ""
            if not value.isdigit() or int(value) < 1:
                raise ConfigError(f"--nproc {value or '(missing)'}: the number of processes must be a positive "
                                  f"integer")
            nproc = int(value)
        elif name in ("--help", "-h"):
            argv.insert(0, option)
            break
        elif not has_value:
            raise ConfigError(f"{option}: a torchrun option is given as --name=value ({USAGE})")
        else:
            options.append(option)
    if nproc is None and not any(a in ("-h", "--help") for a in argv):
        raise ConfigError(f"--nproc N is missing: how many processes to start ({USAGE})")
    command = argv.pop(0) if argv and argv[0] in COMMANDS else "run"
    return nproc or 1, options, command, argv


def world_size(nproc: int, options: list[str]) -> int:
    """The processes of the whole launch: --nproc times the nodes of --nnodes=M (or the most of --nnodes=MIN:MAX)."""
    nodes = next((o.split("=", 1)[1] for o in options if o.split("=", 1)[0] == "--nnodes"), "1")
    try:
        return nproc * int(nodes.split(":")[-1])
    except ValueError:
        raise ConfigError(f"--nnodes={nodes}: the number of nodes must be an integer (or MIN:MAX)") from None


@contextmanager
def launched_as(processes: int):
    """The environment rank 0 of a launch of `processes` processes sees (core.launch reads it)."""
    saved = {k: os.environ.get(k) for k in ("WORLD_SIZE", "RANK")}
    os.environ.update(WORLD_SIZE=str(processes), RANK="0")
    try:
        yield
    finally:
        for key, value in saved.items():
            os.environ.pop(key) if value is None else os.environ.__setitem__(key, value)


def check_arguments(command: str, args: list[str], processes: int) -> bool:
    """Check the command's arguments as its processes will (a ConfigError is one line); False after --help."""
    from experiments.config import parse_args

    with launched_as(processes):
        return parse_args(args, command=command) is not None


def failure_exit_code(module: str, failures: dict) -> int:
    """The launcher's exit code for torchrun's failed processes ({rank: ProcessFailure}): 2 when a process refused
    its input (rank 0 said why), else the first failure's code (128 + signal for a killed one), said in one line."""
    if any(f.exitcode == 2 for f in failures.values()):
        return 2
    first = min(failures.values(), key=lambda f: f.timestamp)
    code = first.exitcode if first.exitcode > 0 else 128 - first.exitcode
    print(f"error: {module} failed on rank {first.rank} with exit code {code} (its output is above)", file=sys.stderr)
    return code


def launch_workers(module: str, args: list[str], nproc: int, options: list[str] = ()) -> int:
    """torchrun `python -m module args` on nproc processes (plus torchrun `options`); the launcher's exit code."""
    from torch.distributed.elastic.multiprocessing.errors import ChildFailedError
    from torch.distributed.run import parse_args as torchrun_args
    from torch.distributed.run import run as torchrun

    # torchrun reports every failed process, and the closing signal it sends the others: failure_exit_code says it once
    logging.getLogger("torch.distributed.elastic.multiprocessing.api").addFilter(lambda record: False)
    try:
        torchrun(torchrun_args([f"--nproc-per-node={nproc}", *options, "-m", module, *args]))
    except ChildFailedError as failed:
        return failure_exit_code(module, failed.failures)
    return 0


def main(argv: list[str]) -> int:
    if argv[:1] in (["-h"], ["--help"]):
        print(USAGE)
        print(__doc__)
        return 0
    nproc, options, command, args = parse_launch(argv)
    if not check_arguments(command, args, world_size(nproc, options)):
        return 0
    return launch_workers(COMMANDS[command], args, nproc, options)


if __name__ == "__main__":
    run_cli(main)
