"""Ctrl-C and `kill` during training: finish the current step, write a checkpoint, then stop.

Both loops (core/training.py, core/distill.py) hold a `StopRequest` while they run. The first SIGINT or SIGTERM only
sets it (so an update or a checkpoint write is never cut in half); the loop sees it at the top of its next step,
writes its checkpoint and raises `Interrupted`. The commands turn that into one line and exit code 128 + the signal
number (130 for SIGINT, 143 for SIGTERM, as a shell reports a process killed by it): the run did not finish, so a
script running several phases (scripts/reproduce/) stops there instead of going on. A second signal aborts at once.
"""
from __future__ import annotations

import signal
import sys
import threading

SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Interrupted(Exception):
    """A loop stopped on a signal after writing its checkpoint; `exit_code` is 128 + the signal number."""

    def __init__(self, signum: int, message: str):
        super().__init__(message)
        self.exit_code = 128 + signum


class StopRequest:
    """Installs the handlers on creation (main thread only: elsewhere signals cannot be caught and nothing changes);
    `restore()` puts the previous handlers back."""

    def __init__(self):
        self.signum: int | None = None
        self._previous = {}
        if threading.current_thread() is threading.main_thread():
            self._previous = {s: signal.signal(s, self._handle) for s in SIGNALS}

    @property
    def requested(self) -> bool:
        return self.signum is not None

    @property
    def name(self) -> str:
        return signal.Signals(self.signum).name if self.signum else ""

    def _handle(self, signum, frame) -> None:
        if self.requested:   # the second signal: the user does not want to wait
            self.restore()
            raise KeyboardInterrupt
        self.signum = signum
        print(f"\n{signal.Signals(signum).name} received: finishing the current step, then writing a checkpoint "
              f"(send it again to abort without one)", file=sys.stderr, flush=True)

    def restore(self) -> None:
        for s, handler in self._previous.items():
            signal.signal(s, handler)
        self._previous = {}

    def stop(self, step: int, state_dir) -> None:
        """Called by a loop after its checkpoint at `step`: restore the handlers, then raise Interrupted."""
        self.restore()
        raise Interrupted(self.signum, f"stopped by {self.name} at step {step}; the checkpoint is in {state_dir}, "
                                       f"rerun the same command to resume")
