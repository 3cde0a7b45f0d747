"""A provider that exists only in the tests, to show one registry entry is all it takes.

It keeps its audience in memory like the fake it extends.
"""

from __future__ import annotations

from typing import ClassVar

from newsletter.config import Settings
from newsletter.providers.memory import MemoryProvider


class PigeonProvider(MemoryProvider):
    name = "pigeon"
    opened: ClassVar[list[PigeonProvider]] = []
    """Every instance, so a test can see what a command did through this provider."""

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings)
        PigeonProvider.opened.append(self)
