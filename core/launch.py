"""torchrun's description of the launch, read from the environment without importing torch: the start-up checks and
the error reporting of every command run before the process group exists (core.distributed joins it)."""
from __future__ import annotations

import os


def launched_world_size() -> int:
    """Processes torchrun started (WORLD_SIZE; 1 without torchrun)."""
    return int(os.environ.get("WORLD_SIZE", "1"))


def launched_rank() -> int:
    """This process's global rank (RANK; 0 without torchrun)."""
    return int(os.environ.get("RANK", "0"))
