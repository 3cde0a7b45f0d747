"""The rules a family declares: their ids, how bad a finding is, and why it matters."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

from newsletter.checks.context import CheckInput
from newsletter.checks.findings import Finding, Severity


@dataclass(frozen=True)
class Rule:
    id: str
    """``family.name``; what findings carry and ``--skip-check`` names."""
    severity: Severity
    """The worst a finding of this rule can be."""
    why: str
    """Why it matters, for the README and ``newsletter check --rules``."""


class Family(Protocol):
    """A module of rules: ``RULES`` and ``findings``."""

    RULES: tuple[Rule, ...]

    def findings(self, check: CheckInput) -> Iterable[Finding]: ...
