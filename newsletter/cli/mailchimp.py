"""Campaigns a provider keeps itself, from the command line: ``push``, ``schedule``,
``unschedule``, ``report`` and ``audience sync-topics`` (Mailchimp today). Each asks the
chosen provider; one that cannot do it says so."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from newsletter.campaigns import load_issue
from newsletter.cli.app import app
from newsletter.cli.audience import audience_app
from newsletter.cli.gate import show_gate
from newsletter.cli.options import (
    ProjectOption,
    ProviderOption,
    SkipCheckOption,
    settings_for,
    skipped,
)
from newsletter.errors import ConfigError
from newsletter.providers import get_provider
from newsletter.schedule_time import parse_time

FileArgument = Annotated[Path, typer.Argument(help="The campaign file.")]


@app.command()
def push(
    file: FileArgument,
    skip_check: SkipCheckOption = None,
    project: ProjectOption = None,
    provider: ProviderOption = None,
) -> None:
    """Create the issue's draft campaign in Mailchimp, or update the draft pushed before.

    Example: newsletter push campaigns/winter-2026.yaml
    """
    settings = settings_for(project)
    skip = skipped(skip_check)
    issue = load_issue(file, settings)
    with get_provider(settings, provider) as chosen:
        result = chosen.push(issue, skip=skip)
        show_gate(chosen)
    verb = "Created" if result.created else "Updated"
    typer.echo(f"{verb} the Mailchimp draft for '{issue.slug}' (campaign {result.remote_id}).")


@app.command()
def schedule(
    file: FileArgument,
    at: Annotated[
        str | None,
        typer.Option(
            "--at",
            help="When to send: 2027-01-14T09:00 in the project's time zone, or with an "
            "offset or Z for UTC; default: the issue's send_at. Mailchimp takes quarter "
            "hours only.",
        ),
    ] = None,
    skip_check: SkipCheckOption = None,
    project: ProjectOption = None,
    provider: ProviderOption = None,
) -> None:
    """Schedule the issue: Mailchimp keeps the schedule itself; with the local provider
    `newsletter run-due` sends it when its time has come. What is scheduled now is what
    is sent: if the issue changes, schedule it again.

    Example: newsletter schedule campaigns/winter-2026.yaml --at 2027-01-14T09:15
    """
    settings = settings_for(project)
    skip = skipped(skip_check)
    issue = load_issue(file, settings)
    if at is not None:
        when = parse_time(at, settings.zone)
    elif issue.send_at is not None:
        when = issue.send_at
    else:
        raise ConfigError(f"{file}: give --at, or send_at: in the issue file")
    with get_provider(settings, provider) as chosen:
        report = chosen.schedule(issue, when, skip=skip)
        show_gate(chosen)
    typer.echo(report.message or f"Scheduled '{issue.slug}'.")


@app.command()
def unschedule(
    file: FileArgument, project: ProjectOption = None, provider: ProviderOption = None
) -> None:
    """Take a scheduled issue back to a draft; it is not sent until scheduled or sent again.

    Example: newsletter unschedule campaigns/winter-2026.yaml
    """
    settings = settings_for(project)
    issue = load_issue(file, settings)
    with get_provider(settings, provider) as chosen:
        chosen.unschedule(issue)
    typer.echo(f"'{issue.slug}' is not scheduled.")


@app.command()
def report(
    file: FileArgument, project: ProjectOption = None, provider: ProviderOption = None
) -> None:
    """Show how a sent issue did: sends, opens, clicks, bounces and unsubscribes (with
    the local provider: sent, failed, hard and soft bounces, complaints, unsubscribes).

    Example: newsletter report campaigns/winter-2026.yaml
    """
    settings = settings_for(project)
    issue = load_issue(file, settings)
    with get_provider(settings, provider) as chosen:
        result = chosen.report(issue)

    def show(value: int | None) -> str:
        if value is None:
            return "-"
        share = f" ({value / result.sent:.1%})" if result.sent else ""
        return f"{value}{share}"

    rows = [
        ("sent", str(result.sent)),
        ("failed", show(result.failed)),
        ("opened", show(result.opens)),
        ("clicked", show(result.clicks)),
        ("bounced", show(result.bounces)),
        ("  hard", show(result.hard_bounces)),
        ("  soft", show(result.soft_bounces)),
        ("complaints", show(result.complaints)),
        ("unsubscribed", show(result.unsubscribes)),
    ]
    only_when_known = {"failed", "  hard", "  soft", "complaints"}
    rows = [(label, value) for label, value in rows if value != "-" or label not in only_when_known]
    typer.echo(f"{issue.slug}")
    for label, value in rows:
        typer.echo(f"  {label:<13}{value}")
    for note in result.notes:
        typer.echo(f"note: {note}")


@audience_app.command("sync-topics")
def sync_topics(project: ProjectOption = None, provider: ProviderOption = None) -> None:
    """Create the Mailchimp interest category named in newsletter.yaml
    (mailchimp: interest_category) and one interest group per topic, where missing.

    Example: newsletter audience sync-topics
    """
    settings = settings_for(project)
    with get_provider(settings, provider) as chosen:
        result = chosen.sync_topics()
    made = "created" if result.category_created else "found"
    typer.echo(f"Interest category '{result.category}' {made}.")
    for name in result.created:
        typer.echo(f"  created  {name}")
    for name in result.existing:
        typer.echo(f"  exists   {name}")
