"""Ctrl-C and SIGTERM for long-running commands: the first stops gracefully, the second at once.

The first signal calls ``on_stop(name)`` (stop taking work, drain, print the summary); the
command then exits 128 + the signal's number (130 for SIGINT, 143 for SIGTERM), as shells and
supervisors expect. A second signal exits at once, saying what that means. Handlers are
installed after Ray's own (``ray.init`` installs a SIGTERM handler that dumps stacks).
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Callable
from types import FrameType, TracebackType
from typing import Any

__all__ = ["GracefulStop"]


class GracefulStop:
    def __init__(self, on_stop: Callable[[str], None], what: str = "in-flight work") -> None:
        self.on_stop, self.what = on_stop, what
        self.signal: signal.Signals | None = None
        self._previous: dict[signal.Signals, Any] = {}

    @property
    def exit_code(self) -> int | None:
        return None if self.signal is None else 128 + int(self.signal)

    def __enter__(self) -> GracefulStop:
        for sig in (signal.SIGINT, signal.SIGTERM):
            self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)

    def _handle(self, signum: int, _frame: FrameType | None) -> None:
        sig = signal.Signals(signum)
        if self.signal is not None:  # the second one: stop now
            sys.stderr.write(
                f"\n{sig.name} again: stopping at once; {self.what} is redelivered on the next "
                "run (nothing is lost)\n"
            )
            sys.stderr.flush()
            os._exit(128 + signum)
        self.signal = sig
        sys.stderr.write(
            f"\n{sig.name}: finishing {self.what} and printing the summary "
            f"({'Ctrl-C' if sig == signal.SIGINT else 'signal'} again stops at once)\n"
        )
        sys.stderr.flush()
        self.on_stop(sig.name)
