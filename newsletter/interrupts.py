"""Ctrl-C (SIGINT) and SIGTERM (what systemd and ``kill`` send) stop a command the same way.

Outside a send, the first signal raises ``KeyboardInterrupt`` in the main thread. While a
send runs (``stop_requests()``), a signal only sets an event: the send loop sees it,
lets each connection finish and record the message it has in flight, releases the
campaign and returns its report. An exception raised at an arbitrary point there could
interrupt ``Thread.join`` or a database transaction half-way, so none is raised. Signals
after the first are ignored; ``kill -9`` still ends the process at once, and the next
send resumes from the store.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType, TracebackType
from typing import Any, ClassVar

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class StopSignals:
    """Handles the stop signals for the duration of a command (main thread only)."""

    active: ClassVar[StopSignals | None] = None

    def __init__(self) -> None:
        self.received: signal.Signals | None = None
        self.event = threading.Event()
        self._deferring = 0
        self._previous: dict[signal.Signals, Any] = {}
        self._outer: StopSignals | None = None

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
            self._outer, StopSignals.active = StopSignals.active, self
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)
        if self._previous:
            StopSignals.active = self._outer
        self._previous.clear()

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self.received is not None:
            return
        self.received = signal.Signals(signum)
        self.event.set()
        if not self._deferring:
            raise KeyboardInterrupt


@contextmanager
def stop_requests() -> Iterator[threading.Event]:
    """Inside, a stop signal sets the yielded event instead of raising.

    Within a command's ``StopSignals`` the command learns of the signal from it; used
    alone (as a library), the signal is handed on to the previous handler on the way out.
    """
    active = StopSignals.active
    if active is not None:
        active._deferring += 1
        try:
            yield active.event
        finally:
            active._deferring -= 1
        return
    with StopSignals() as signals:
        signals._deferring += 1
        yield signals.event
    if signals.received is not None:
        signal.raise_signal(signals.received)
