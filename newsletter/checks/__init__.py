"""Pre-send rules: what is wrong with a compiled issue, found before anyone receives it.

Each family of rules is a module with ``RULES`` and ``findings``. ``gate`` is what every
path that sends runs (through the provider base, for every provider); ``newsletter
check`` shows the same findings with their places, and can add the families that need
the network or SpamAssassin.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from newsletter.checks import (
    accessibility,
    audience,
    clients,
    compliance,
    images,
    links,
    returns,
    size,
    text,
)
from newsletter.checks.context import CheckInput, Delivery, Reach
from newsletter.checks.findings import Finding, Place, Severity, Source
from newsletter.checks.rules import Family, Rule
from newsletter.errors import CheckFailed, ConfigError

__all__ = [
    "CheckInput",
    "Delivery",
    "Finding",
    "GateResult",
    "Place",
    "Reach",
    "Rule",
    "Severity",
    "Source",
    "findings",
    "gate",
    "ordered",
    "rules",
    "waivers",
]

FAMILIES: dict[str, Family] = {
    "size": size,
    "compliance": compliance,
    "links": links,
    "images": images,
    "text": text,
    "accessibility": accessibility,
    "clients": clients,
    "audience": audience,
    "returns": returns,
}
"""The families every check and every gate runs, in the order they are reported."""

_ORDER = {Severity.ERROR: 0, Severity.WARNING: 1, Severity.NOTE: 2}


def rules() -> dict[str, Rule]:
    """Every rule by id, the on-request families' included."""
    from newsletter.checks import optional

    found: dict[str, Rule] = {}
    for family in (*FAMILIES.values(), *optional.families()):
        for rule in family.RULES:
            found[rule.id] = rule
    return found


def waivers(names: Iterable[str]) -> frozenset[str]:
    """``--skip-check`` values, each a rule id or a whole family, checked against the rules."""
    known = rules()
    families = {rule_id.partition(".")[0] for rule_id in known}
    chosen = set()
    for name in names:
        name = name.strip()
        if name not in known and name not in families:
            raise ConfigError(
                f"--skip-check {name}: no such rule or family; "
                "`newsletter check --rules` lists them"
            )
        chosen.add(name)
    return frozenset(chosen)


def is_waived(finding: Finding, waive: frozenset[str]) -> bool:
    return finding.rule in waive or finding.family in waive


def findings(check: CheckInput, families: Iterable[str] | None = None) -> list[Finding]:
    """The findings of ``families`` (default: all that always run), worst first."""
    chosen = FAMILIES if families is None else {name: FAMILIES[name] for name in families}
    return ordered([finding for family in chosen.values() for finding in family.findings(check)])


def ordered(found: Iterable[Finding]) -> list[Finding]:
    """Worst first; within a severity, in the order the rules found them."""
    return sorted(found, key=lambda finding: _ORDER[finding.severity])


@dataclass(frozen=True)
class GateResult:
    warnings: list[Finding]
    waived: list[Finding]
    """Errors let through by ``--skip-check``."""


def gate(check: CheckInput, waive: frozenset[str] = frozenset()) -> GateResult:
    """Refuse an issue with any error not waived (one line naming each); return the
    warnings and the errors that were waived."""
    found = findings(check)
    errors = [f for f in found if f.severity is Severity.ERROR]
    stopping = [f for f in errors if not is_waived(f, waive)]
    if stopping:
        raise CheckFailed(
            f"'{check.issue.slug}' cannot go out: "
            + "; ".join(_brief(check, finding) for finding in stopping)
            + ". `newsletter check` shows where and how to fix each; --skip-check RULE "
            "sends it anyway",
            [finding.rule for finding in stopping],
        )
    return GateResult(
        [f for f in found if f.severity is Severity.WARNING],
        [f for f in errors if is_waived(f, waive)],
    )


def _brief(check: CheckInput, finding: Finding) -> str:
    where = finding.place.dotted
    line = check.line_of(finding.place)
    if line is not None:
        where = f"{where}, line {line}" if where else f"line {line}"
    return (
        f"{finding.rule} ({where}): {finding.message}"
        if where
        else (f"{finding.rule}: {finding.message}")
    )
