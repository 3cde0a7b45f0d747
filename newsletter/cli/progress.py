"""A progress line on stderr: done/total, a bar, the rate and the time left."""

from __future__ import annotations

import sys
import time
from typing import TextIO

BAR = 24


class ProgressLine:
    def __init__(self, stream: TextIO | None = None, every: float = 0.25) -> None:
        self.stream = stream or sys.stderr
        self.every = every if self.stream.isatty() else 5.0
        self.started = time.monotonic()
        self._shown = 0.0
        self._last = ""

    def __call__(self, done: int, total: int) -> None:
        now = time.monotonic()
        if now - self._shown < self.every and done < total:
            return
        self._shown = now
        elapsed = max(now - self.started, 1e-6)
        rate = done / elapsed
        share = done / total if total else 1.0
        filled = int(BAR * min(share, 1.0))
        left = (total - done) / rate if rate > 0 else 0.0
        line = (
            f"[{'#' * filled}{'.' * (BAR - filled)}] {done:,}/{total:,} "
            f"{rate:,.0f} msg/s  {_clock(left)} left"
        )
        if line == self._last:
            return
        self._last = line
        end = "\r" if self.stream.isatty() else "\n"
        self.stream.write(line + end)
        self.stream.flush()

    def close(self) -> None:
        if self._last and self.stream.isatty():
            self.stream.write("\n")
            self.stream.flush()


def _clock(seconds: float) -> str:
    minutes, secs = divmod(int(seconds + 0.5), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"
