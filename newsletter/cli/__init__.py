"""The ``newsletter`` command: thin typer commands over the library.

Each module registers its commands on ``app``; ``app.NewsletterGroup`` is the one place
where errors become exit codes (one line on stderr, no traceback, no local values).
"""

from __future__ import annotations

from newsletter.cli import (
    audience,
    check,
    compose,
    inbound,
    mailchimp,
    scheduling,
    sending,
    serve,
)
from newsletter.cli.app import app

__all__ = ["app", "main"]

_commands = (compose, check, audience, sending, mailchimp, scheduling, inbound, serve)


def main() -> None:
    app()
