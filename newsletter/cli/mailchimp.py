"""Mailchimp campaigns from the command line: ``push``, ``schedule``, ``unschedule``,
``report`` and ``audience sync-topics``."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from newsletter.campaigns import load_issue
from newsletter.cli.app import app
from newsletter.cli.audience import audience_app
from newsletter.cli.options import ProjectOption, ProviderOption, settings_for
from newsletter.config import Settings
from newsletter.errors import ConfigError, UnsupportedFeature
from newsletter.providers import get_provider

if TYPE_CHECKING:
    from newsletter.providers.mailchimp import MailchimpProvider

FileArgument = Annotated[Path, typer.Argument(help="The campaign file.")]


def _mailchimp(settings: Settings, name: str | None, doing: str) -> MailchimpProvider:
    from newsletter.providers.mailchimp import MailchimpProvider  # httpx: only when used

    provider = get_provider(settings, name or "mailchimp")
    if not isinstance(provider, MailchimpProvider):
        raise UnsupportedFeature(f"{doing} needs the mailchimp provider (--provider mailchimp)")
    return provider


@app.command()
def push(
    file: FileArgument, project: ProjectOption = None, provider: ProviderOption = None
) -> None:
    """Create the issue's draft campaign in Mailchimp, or update the draft pushed before.

    Example: newsletter push campaigns/winter-2026.yaml
    """
    settings = settings_for(project)
    issue = load_issue(file, settings)
    with _mailchimp(settings, provider, "push") as mailchimp:
        result = mailchimp.push(issue)
    verb = "Created" if result.created else "Updated"
    typer.echo(f"{verb} the Mailchimp draft for '{issue.slug}' (campaign {result.remote_id}).")


def _parse_time(text: str, settings: Settings) -> datetime:
    try:
        when = datetime.fromisoformat(text.strip().replace(" ", "T", 1))
    except ValueError:
        raise ConfigError(
            f"--at '{text}' is not a time; write it as 2027-01-14T09:00 (project time zone) "
            "or 2027-01-14T09:00Z (UTC)"
        ) from None
    return when if when.tzinfo else when.replace(tzinfo=settings.zone)


@app.command()
def schedule(
    file: FileArgument,
    at: Annotated[
        str,
        typer.Option(
            "--at",
            help="When to send: 2027-01-14T09:00 in the project's time zone, or with Z for "
            "UTC. Mailchimp takes quarter hours only.",
        ),
    ],
    project: ProjectOption = None,
    provider: ProviderOption = None,
) -> None:
    """Push the issue and schedule it with the provider.

    Example: newsletter schedule campaigns/winter-2026.yaml --at 2027-01-14T09:15
    """
    settings = settings_for(project)
    issue = load_issue(file, settings)
    with get_provider(settings, provider) as chosen:
        report = chosen.schedule(issue, _parse_time(at, settings))
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
    """Show how a sent issue did: sends, opens, clicks, bounces and unsubscribes.

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
        ("opened", show(result.opens)),
        ("clicked", show(result.clicks)),
        ("bounced", show(result.bounces)),
        ("unsubscribed", show(result.unsubscribes)),
    ]
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
    with _mailchimp(settings, provider, "sync-topics") as mailchimp:
        result = mailchimp.sync_topics()
    made = "created" if result.category_created else "found"
    typer.echo(f"Interest category '{result.category}' {made}.")
    for name in result.created:
        typer.echo(f"  created  {name}")
    for name in result.existing:
        typer.echo(f"  exists   {name}")
