"""``newsletter inbound``: act on what came back to the bounce mailbox."""

from __future__ import annotations

from typing import Annotated

import typer

from newsletter.cli.app import app
from newsletter.cli.options import ProjectOption, ProviderOption, settings_for
from newsletter.config import Settings
from newsletter.errors import ConfigError


def inbound_url(settings: Settings) -> str:
    return settings.inbound_url.get_secret_value() if settings.inbound_url else ""


@app.command()
def inbound(
    dry_run: Annotated[
        bool,
        typer.Option("--dry-run", help="Show what each message would do; change nothing."),
    ] = False,
    project: ProjectOption = None,
    provider_name: ProviderOption = None,
) -> None:
    """Read the bounce mailbox (NEWSLETTER_INBOUND_URL: imaps://user:password@host/INBOX
    or maildir:///path) and act on it: hard bounces and, after a run of them, soft
    bounces mark the member bounced; complaints mark them complained; mail to the
    signed unsubscribe address unsubscribes. Handled messages move to the Processed
    folder (IMAP) or are marked seen (Maildir); the rest stay for a person. One summary
    line; run-due runs it too.

    Example: newsletter inbound --dry-run
    """
    from newsletter.providers import get_provider
    from newsletter.returns.mailbox import open_mailbox

    settings = settings_for(project)
    url = inbound_url(settings)
    if not url:
        raise ConfigError("NEWSLETTER_INBOUND_URL is not set: name the bounce mailbox to read")
    with get_provider(settings, provider_name) as provider:
        mailbox = open_mailbox(url)
        try:
            summary = provider.read_returns(
                mailbox,
                dry_run=dry_run,
                show=(
                    (lambda m, v, a: typer.echo(f"{m.ref}: {v.value}: {a.outcome}"))
                    if dry_run
                    else None
                ),
            )
        finally:
            mailbox.close()
    typer.echo(summary.line(mailbox.description))
