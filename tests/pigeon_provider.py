"""A provider that exists only in the tests, to show one registry entry is all it takes.

It keeps its audience in memory like the fake it extends, and writes its own merge tags.
"""

from __future__ import annotations

from typing import ClassVar

from newsletter.config import Settings
from newsletter.providers.memory import MemoryProvider
from newsletter.render.merge import SLOT_NAMES, IfFirstName, MergeTags

PIGEON_TAGS = MergeTags(
    name="pigeon",
    slots={name: f"%%pigeon.{name}%%" for name in SLOT_NAMES},
    if_first_name=IfFirstName(start="%%if first_name%%", otherwise="%%else%%", end="%%end%%"),
)


class PigeonProvider(MemoryProvider):
    name = "pigeon"
    merge_tags = PIGEON_TAGS
    opened: ClassVar[list[PigeonProvider]] = []
    """Every instance, so a test can see what a command did through this provider."""

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings)
        PigeonProvider.opened.append(self)
