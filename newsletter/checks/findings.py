"""What a rule reports: which rule, how bad, where, what is wrong and how to fix it."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

FieldPath = tuple[str | int, ...]


class Severity(StrEnum):
    ERROR = "error"
    """Stops ``test``, ``send``, ``schedule``, ``push`` and ``run-due``."""
    WARNING = "warning"
    NOTE = "note"
    """Worth knowing; never counted against the issue."""


class Source(StrEnum):
    """Which file a place is in."""

    CAMPAIGN = "campaign"
    PROJECT = "project"
    TEMPLATE = "template"


@dataclass(frozen=True)
class Place:
    """Where the cause lives: a field of the campaign file (``("sections", 2, "body")``),
    of the project file, or a template when the compiled output came from one."""

    source: Source = Source.CAMPAIGN
    field: FieldPath = ()
    name: str = ""
    """The template's name, for ``Source.TEMPLATE``."""

    @property
    def dotted(self) -> str:
        if self.source is Source.TEMPLATE:
            return f"template {self.name}" if self.name else "template"
        out = ""
        for part in self.field:
            out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
        return out


ISSUE = Place()


@dataclass(frozen=True)
class Finding:
    rule: str
    """``family.name``, e.g. ``links.insecure``; what ``--skip-check`` names."""
    severity: Severity
    message: str
    """What is wrong, in one sentence without a full stop."""
    fix: str = ""
    """How to put it right."""
    place: Place = ISSUE

    @property
    def family(self) -> str:
        return self.rule.partition(".")[0]
