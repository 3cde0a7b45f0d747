"""``newsletter run-due``, the scheduled send job for cron or a systemd timer, and
``newsletter status``: where each issue stands."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from newsletter.campaigns import load_issue
from newsletter.cli.app import app
from newsletter.cli.inbound import inbound_url
from newsletter.cli.options import ProjectOption, settings_for
from newsletter.clock import utc_now
from newsletter.config import Settings
from newsletter.interrupts import StopSignals, stop_requests
from newsletter.models import CampaignState
from newsletter.schedule_time import parse_time


@app.command("run-due")
def run_due(
    now: Annotated[
        str | None,
        typer.Option(
            "--now",
            help="Act as if it were this time (2027-01-14T09:00, project time zone, or "
            "with an offset or Z); default: the real clock.",
            show_default=False,
        ),
    ] = None,
    project: ProjectOption = None,
) -> None:
    """Send every issue scheduled with the local provider whose time has come, and
    resume any send that stopped. Safe to run every minute and twice at once. With
    NEWSLETTER_INBOUND_URL set it first reads the bounce mailbox (newsletter inbound).

    Exits 0 when everything due went out (or nothing was due), 75 when a send stopped
    and the next run continues it, 1 when an issue changed since it was scheduled, was
    missed (more than max_lateness late) or failed.

    Example (crontab): * * * * * cd /srv/newsletter && newsletter run-due
    """
    settings = settings_for(project)
    at = parse_time(now, settings.zone, "--now") if now else utc_now()
    local_due, remote = _anything_due(settings, at)
    mailbox = inbound_url(settings)
    results = []
    if local_due or mailbox:
        from newsletter.providers.local import LocalProvider
        from newsletter.scheduler import read_inbound
        from newsletter.scheduler import run_due as run

        clock = (lambda: at) if now else utc_now
        with StopSignals(), stop_requests() as stop, LocalProvider(settings, clock=clock) as local:
            if mailbox:
                results.append(read_inbound(local, mailbox))
            if local_due:
                results += run(local, at, stop=stop)
    for name in remote:
        from newsletter.providers import get_provider
        from newsletter.scheduler import read_back

        with get_provider(settings, name) as provider:
            results += read_back(provider)
    if not results:
        typer.echo(f"Nothing due at {at.astimezone(UTC):%Y-%m-%d %H:%M} UTC.")
        return
    from newsletter.scheduler import exit_code

    for result in results:
        typer.echo(f"{result.slug}: {result.outcome.value}: {result.message}")
    code = exit_code(results)
    if code:
        raise typer.Exit(code)


def _anything_due(settings: Settings, at: datetime) -> tuple[bool, list[str]]:
    """Whether a local issue is due, and the providers that keep schedules themselves
    with a campaign scheduled or sending (to read its state back). The every-minute
    case is answered from the store alone: the providers, the delivery engine and the
    renderer are loaded only when something is to be done."""
    from newsletter.store.idle import nothing_to_do

    if nothing_to_do(settings.database_url.get_secret_value(), settings.root, at):
        return False, []
    from newsletter.store import campaigns
    from newsletter.store.database import open_database

    engine = open_database(settings)
    try:
        with engine.connect() as connection:
            local = bool(campaigns.due(connection, "local", at))
            moving = (CampaignState.SCHEDULED, CampaignState.SENDING)
            remote = {
                name
                for name, campaign in campaigns.every(connection)
                if name != "local" and campaign.state in moving
            }
        return local, sorted(remote)
    finally:
        engine.dispose()


class StatusFormat(StrEnum):
    TABLE = "table"
    JSON = "json"


@app.command()
def status(
    file: Annotated[
        Path | None, typer.Argument(help="One campaign file; default: every issue.")
    ] = None,
    output: Annotated[StatusFormat, typer.Option("--format", help="table or json.")] = (
        StatusFormat.TABLE
    ),
    project: ProjectOption = None,
) -> None:
    """Show each issue's state, provider, scheduled time (project zone and UTC), the
    sent / failed / deferred / uncertain counts, the last problem and any pre-send
    checks skipped with --skip-check.

    Example: newsletter status --format json
    """
    from newsletter.status import issue_statuses
    from newsletter.store.database import open_database

    settings = settings_for(project)
    slug = load_issue(file, settings).slug if file is not None else None
    engine = open_database(settings)
    try:
        found = issue_statuses(settings, engine, slug)
    finally:
        engine.dispose()
    if output is StatusFormat.JSON:
        typer.echo(json.dumps([entry.as_json() for entry in found], indent=2))
        return
    for entry in found:
        when = f"  {entry.scheduled_local} ({entry.scheduled_utc})" if entry.scheduled_local else ""
        typer.echo(f"{entry.slug}  {entry.state}  {entry.provider}{when}")
        if entry.sent or entry.failed or entry.deferred or entry.uncertain:
            typer.echo(
                f"  sent {entry.sent:,}, failed {entry.failed:,}, deferred {entry.deferred:,}, "
                f"uncertain {entry.uncertain:,}"
            )
        if entry.last_problem:
            typer.echo(f"  last problem: {entry.last_problem}")
        if entry.skipped_checks:
            typer.echo(f"  checks skipped: {', '.join(entry.skipped_checks)}")
