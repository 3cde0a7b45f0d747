"""The current time as an injected parameter: code that decides by the clock takes a
``Clock``, and only the command line hands it the real one."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

Clock = Callable[[], datetime]
"""Returns the current time, aware."""


def utc_now() -> datetime:
    return datetime.now(UTC)
