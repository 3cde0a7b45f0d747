"""The families ``newsletter check`` runs only when asked: ``--links`` fetches every link,
``--spam`` scores a sample message with SpamAssassin. Their rules are known to
``--skip-check`` like the others; they never run in the gate, which must work offline."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from newsletter.checks.context import CheckInput
from newsletter.checks.findings import Finding
from newsletter.checks.rules import Rule


@dataclass(frozen=True)
class Extra:
    """What an on-request family found, and its figures for the report."""

    name: str
    findings: list[Finding]
    summary: dict[str, Any] = field(default_factory=dict)


class OnRequest(Protocol):
    RULES: tuple[Rule, ...]

    def run(self, check: CheckInput) -> Extra: ...


def families() -> tuple[OnRequest, ...]:
    return tuple(loader() for loader in _LOADERS.values())


def family(name: str) -> OnRequest:
    return _LOADERS[name]()


def _links() -> OnRequest:
    from newsletter.checks import links_online

    return links_online


def _spam() -> OnRequest:
    from newsletter.checks import spam

    return spam


_LOADERS: dict[str, Callable[[], OnRequest]] = {"links": _links, "spam": _spam}
"""``--links`` and ``--spam``, by name, imported when used."""
