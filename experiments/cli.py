"""One way every command turns bad input into one clear line on stderr and exit code 2 (no traceback)."""
from __future__ import annotations

import sys
from typing import Callable

from core.errors import ConfigError, DataError

USER_ERRORS = (ConfigError, DataError, FileNotFoundError)


def run_cli(main: Callable[[list[str]], int], extra_errors: tuple = ()) -> None:
    try:
        sys.exit(main(sys.argv[1:]))
    except USER_ERRORS + tuple(extra_errors) as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(2)
