"""What the pre-send gate let through, shown after a command that passed it."""

from __future__ import annotations

import typer

from newsletter.providers.base import Provider


def show_gate(provider: Provider) -> None:
    """One stderr line per warning and per error let through by ``--skip-check``."""
    gate = provider.last_gate
    if gate is None:
        return
    for finding in gate.waived:
        typer.echo(f"skipped check [{finding.rule}]: {finding.message}", err=True)
    for finding in gate.warnings:
        typer.echo(f"warning [{finding.rule}]: {finding.message}", err=True)
