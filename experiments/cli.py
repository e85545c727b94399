"""The experiments' command-line plumbing: the shared error handling (core.cli) and the parsing of key=value runs."""
from __future__ import annotations

from core.cli import USER_ERRORS, add_results_dir, run_cli  # noqa: F401  (the experiments' commands import them here)

