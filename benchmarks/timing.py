"""Timing one call the same way in every benchmark."""

from __future__ import annotations

import time
from collections.abc import Callable


def per_call_ms(action: Callable[[], object], iterations: int, rounds: int = 5) -> float:
    """The fastest of ``rounds`` (mean milliseconds per call in each), after a warm-up.

    The fastest round is the one least disturbed by other work on the machine; baselines
    are measured the same way.
    """
    for _ in range(max(iterations // 10, 3)):
        action()
    means = []
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(iterations):
            action()
        means.append((time.perf_counter() - start) * 1000 / iterations)
    return min(means)
