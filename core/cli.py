"""One way every command turns bad input into one clear line on stderr and exit code 2 (no traceback): the
experiments' commands (experiments.cli) and the reports' (`python -m experiments.reports`) share it."""
from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Callable

from core import paths
from core.errors import ConfigError, DataError

USER_ERRORS = (ConfigError, DataError, FileNotFoundError)
RANK_0_GRACE_SECONDS = 1.0   # torchrun polls its processes every 0.1 s


def run_cli(main: Callable[[list[str]], int], extra_errors: tuple = ()) -> None:
    """Exit codes: 0 done, 2 a user error (one line), 128 + signal number when SIGINT / SIGTERM stopped a training
    loop after its checkpoint (core/interrupt.py) or interrupted the command before one started. Under torchrun every
    rank reads the same arguments and files and exits 2 on a user error; rank 0 alone prints it, once."""
    from core.interrupt import Interrupted
    from core.launch import launched_rank

    try:
        sys.exit(main(sys.argv[1:]))
    except USER_ERRORS + tuple(extra_errors) as exc:
        if launched_rank() == 0:
            print(f"error: {exc}", file=sys.stderr)
        else:   # torchrun stops the other processes when one exits: rank 0 gets the time to say why first
            time.sleep(RANK_0_GRACE_SECONDS)
        sys.exit(2)
    except Interrupted as stop:
        print(stop, file=sys.stderr)
        sys.exit(stop.exit_code)
    except KeyboardInterrupt:
        print("interrupted; rerun the command (a training run resumes from its last checkpoint)", file=sys.stderr)
        sys.exit(130)


def add_results_dir(parser, default: Path | None = None) -> None:
    """--results-dir of the commands that read rows and write beside them: the scratch folder unless named (or
    `default` given), so the committed set results/ changes only when a command names it (as the Makefile's targets
    do)."""
    scratch = " (scratch); the committed set: --results-dir results" if default is None else ""
    default = paths.SCRATCH_RESULTS_DIR if default is None else default   # read now: tests point it elsewhere
    shown = default.relative_to(paths.REPO_ROOT) if default.is_relative_to(paths.REPO_ROOT) else default
    parser.add_argument("--results-dir", type=Path, default=default, help=f"default: {shown}{scratch}")
