"""Pre-send rules: what is wrong with a compiled issue, found before anyone receives it.

Each family of rules is a module returning ``Finding`` values. ``gate`` is what every
path that sends runs (through the provider base, for every provider); ``validate`` and
``render`` show the same findings.
"""

from __future__ import annotations

from newsletter.checks import size
from newsletter.checks.findings import Finding, Severity
from newsletter.errors import RenderError
from newsletter.render.compile import CompiledIssue

__all__ = ["Finding", "Severity", "findings", "gate"]


def findings(compiled: CompiledIssue) -> list[Finding]:
    return size.findings(compiled)


def gate(compiled: CompiledIssue) -> list[Finding]:
    """Refuse an issue with any error (one line naming every error); return the warnings."""
    found = findings(compiled)
    errors = [f.message for f in found if f.severity is Severity.ERROR]
    if errors:
        raise RenderError(f"'{compiled.slug}' cannot go out: {'; '.join(errors)}")
    return [f for f in found if f.severity is Severity.WARNING]
