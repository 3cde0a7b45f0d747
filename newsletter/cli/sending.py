"""``newsletter test`` and ``newsletter send``: through whichever provider is chosen."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import typer

from newsletter import sending
from newsletter.audience_file import check_address
from newsletter.campaigns import load_issue
from newsletter.checks.audience import either, why_nobody
from newsletter.cli.app import app
from newsletter.cli.gate import show_gate
from newsletter.cli.options import (
    ProjectOption,
    ProviderOption,
    SkipCheckOption,
    settings_for,
    skipped,
)
from newsletter.cli.progress import ProgressLine
from newsletter.config import Settings
from newsletter.errors import ConfigError, ProviderError
from newsletter.interrupts import StopSignals, stop_requests
from newsletter.models import Issue, SendReport, SendStatus
from newsletter.providers import get_provider
from newsletter.providers.base import Provider, SendPlan


@app.command("test")
def test_send(
    file: Annotated[Path, typer.Argument(help="The campaign file.")],
    to: Annotated[
        list[str], typer.Option("--to", help="An address to send a test copy to; repeat for more.")
    ],
    skip_check: SkipCheckOption = None,
    project: ProjectOption = None,
    provider_name: ProviderOption = None,
) -> None:
    """Send test copies (subject starts with [Test]) to the given addresses only.

    Nothing is recorded as sent. Example:
    newsletter test campaigns/winter-2026.yaml --to me@example.org --to editor@example.org
    """
    settings = settings_for(project)
    addresses = []
    for address in to:
        try:
            addresses.append(check_address(address))
        except ValueError as exc:
            raise ConfigError(f"--to '{address}' is not a valid email address: {exc}") from None
    skip = skipped(skip_check)
    issue = load_issue(file, settings)
    with get_provider(settings, provider_name) as provider:
        report = provider.send_test(issue, addresses, skip=skip)
        show_gate(provider)
    typer.echo(f"Sent {report.sent} test cop{'y' if report.sent == 1 else 'ies'}: {report.message}")
    if report.status is not SendStatus.SENT:
        raise typer.Exit(1)


@app.command()
def send(
    file: Annotated[Path, typer.Argument(help="The campaign file.")],
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask to confirm.")] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show who would receive it; send nothing.")
    ] = False,
    resend: Annotated[
        bool, typer.Option("--resend", help="Send an issue that was already sent, to everyone.")
    ] = False,
    retry_failed: Annotated[
        bool,
        typer.Option(
            "--retry-failed",
            help="Send only to recipients deferred by temporary refusals (4xx), "
            "never to anyone refused for good or already sent to.",
        ),
    ] = False,
    connections: Annotated[
        int | None,
        typer.Option(min=1, max=64, help="SMTP connections in parallel (default 4)."),
    ] = None,
    rate: Annotated[
        float | None, typer.Option(min=0.01, help="At most this many messages a second.")
    ] = None,
    skip_check: SkipCheckOption = None,
    project: ProjectOption = None,
    provider_name: ProviderOption = None,
) -> None:
    """Send an issue to every subscribed member who chose one of its topics, exactly once.

    Shows the audience size and asks to confirm (--yes skips the question). If a send
    stops (Ctrl-C, a crash, the SMTP server going away), run the same command again: it
    continues where it stopped and nobody recorded as sent gets a second copy.

    Example: newsletter send campaigns/winter-2026.yaml --connections 4 --rate 20
    """
    if resend and retry_failed:
        raise ConfigError("--resend and --retry-failed cannot be used together")
    settings = _with_overrides(settings_for(project), connections, rate)
    issue = load_issue(file, settings)
    choice = _Choice(yes, dry_run, resend, retry_failed, skipped(skip_check))
    with StopSignals() as stop:
        try:
            report = _send(issue, settings, provider_name, choice)
        except KeyboardInterrupt:
            typer.echo(f"interrupted ({stop.name}); run the same command again", err=True)
            raise typer.Exit(stop.exit_code) from None
        if report is not None:
            _summary(report)
            _exit_for(report, stop)


def _exit_for(report: SendReport, stop: StopSignals) -> None:
    """Exit non-zero unless the issue went out to everyone, with one line on why."""
    if report.status is SendStatus.INTERRUPTED:
        typer.echo(
            f"interrupted ({stop.name}): {report.sent:,} sent by this run; "
            "run the same command again to send the rest",
            err=True,
        )
        raise typer.Exit(stop.exit_code)
    if report.status is SendStatus.STOPPED:
        typer.echo(
            f"{report.campaign}: stopped: {report.problem}; run the same command again to continue",
            err=True,
        )
        raise typer.Exit(EXIT_TRY_AGAIN_LATER)
    if report.status is not SendStatus.SENT:
        raise typer.Exit(1)


EXIT_TRY_AGAIN_LATER = 75
"""``EX_TEMPFAIL`` from sysexits.h: the send stopped short and running it again continues."""


@dataclass(frozen=True)
class _Choice:
    yes: bool
    dry_run: bool
    resend: bool
    retry_failed: bool
    skip: frozenset[str]


def _send(
    issue: Issue, settings: Settings, provider_name: str | None, choice: _Choice
) -> SendReport | None:
    """Send (after the confirmation) and return the report; None for a dry run or a no."""
    with get_provider(settings, provider_name) as provider:
        if choice.dry_run:
            result = sending.dry_run(issue, provider, resend=choice.resend, skip=choice.skip)
            show_gate(provider)
            typer.echo(_describe(result.plan))
            typer.echo(
                f"Dry run: nothing sent. Rendered {len(result.sample)} sample message(s) "
                f"for: {', '.join(result.sample) or 'nobody'}"
            )
            return None

        def confirm(plan: SendPlan) -> bool:
            show_gate(provider)
            typer.echo(_describe(plan))
            if choice.resend and plan.already_sent:
                typer.echo(f"--resend: the {plan.already_sent:,} who received it get it again")
            elif plan.recipients == 0 and not (choice.resend and plan.finished):
                why = _nobody(plan, choice.retry_failed, provider, issue)
                if why is not None:
                    typer.echo(why)
                    return False
            return choice.yes or typer.confirm("Send now?", default=False)

        progress = ProgressLine()
        try:
            return sending.send_issue(
                issue,
                provider,
                resend=choice.resend,
                retry_failed=choice.retry_failed,
                confirm=confirm,
                progress=progress,
                stop_scope=stop_requests,
                skip=choice.skip,
            )
        finally:
            progress.close()


def _with_overrides(settings: Settings, connections: int | None, rate: float | None) -> Settings:
    update: dict[str, object] = {}
    if connections is not None:
        update["connections"] = connections
    if rate is not None:
        update["rate"] = rate
    return settings.model_copy(update=update) if update else settings


def _describe(plan: SendPlan) -> str:
    topics = f" who chose {', '.join(plan.topics)}" if plan.topics else ""
    lines = [f"'{plan.slug}' goes to {plan.recipients:,} member(s) of {plan.audience}{topics}"]
    if plan.already_sent:
        lines.append(f"{plan.already_sent:,} already received it and are not counted")
    if plan.deferred:
        lines.append(f"{plan.deferred:,} deferred by temporary refusals (--retry-failed)")
    if plan.destination:
        lines.append(f"Messages go to {plan.destination}")
    return "\n".join(lines)


def _nobody(plan: SendPlan, retry_failed: bool, provider: Provider, issue: Issue) -> str | None:
    """Why a send with nobody to send to stops here, without error; None when it goes
    ahead, as ``--skip-check audience.nobody`` asked. An issue that reaches nobody is an
    error: the gate raises it (``audience.nobody``), or this does for a provider that
    cannot count whom an issue reaches."""
    if retry_failed:
        return "Nobody to retry: no recipient of this issue is deferred."
    gate = provider.last_gate
    if gate is not None and any(f.rule == "audience.nobody" for f in gate.waived):
        return None
    reach = provider.reach(issue)
    if reach is not None and reach.reached:
        retry = f"; --retry-failed tries the {plan.deferred:,} deferred" if plan.deferred else ""
        return (
            f"Nobody left to send to: each of the {reach.reached:,} member(s) it reaches "
            f"has had it or was refused{retry}."
        )
    if reach is not None:
        why = why_nobody(reach)
    elif plan.topics:
        why = f"no subscribed member chose {either(plan.topics)}"
    else:
        why = "the audience has no subscribed members"
    raise ProviderError(f"'{plan.slug}' reaches nobody: {why}")


def _summary(report: SendReport) -> None:
    counts = [
        f"sent {report.sent:,}",
        f"failed {report.failed:,}",
        f"deferred {report.deferred:,}",
        f"skipped {report.skipped:,}",
        f"uncertain {report.uncertain:,}",
    ]
    if report.pending:
        counts.append(f"still to send {report.pending:,}")
    typer.echo(f"{report.campaign}: {', '.join(counts)}")
    for note in filter(None, report.message.splitlines()):
        typer.echo(f"  {note}")
