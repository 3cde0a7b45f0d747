"""Ctrl-C (SIGINT) and SIGTERM (what systemd and ``kill`` send) stop a command the same way.

The first signal raises ``KeyboardInterrupt`` in the main thread, which a send turns
into a clean stop: messages in flight finish and are recorded, the campaign is released
and the summary printed. Signals after the first are ignored, so pressing Ctrl-C again
cannot break off that wind-down half-way; ``kill -9`` still ends the process at once,
and the next send resumes from the store.
"""

from __future__ import annotations

import signal
import threading
from types import FrameType, TracebackType
from typing import Any

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class StopSignals:
    def __init__(self) -> None:
        self.received: signal.Signals | None = None
        self._previous: dict[signal.Signals, Any] = {}

    @property
    def exit_code(self) -> int:
        """The shell's convention: 128 + the signal number (130 for Ctrl-C, 143 for SIGTERM)."""
        return 128 + (self.received or signal.SIGINT)

    @property
    def name(self) -> str:
        return (self.received or signal.SIGINT).name

    def __enter__(self) -> StopSignals:
        if threading.current_thread() is threading.main_thread():
            for signum in STOP_SIGNALS:
                self._previous[signum] = signal.signal(signum, self._handle)
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)
        self._previous.clear()

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self.received is not None:
            return
        self.received = signal.Signals(signum)
        raise KeyboardInterrupt
