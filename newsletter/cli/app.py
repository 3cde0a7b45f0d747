"""The typer application and the error boundary every command runs inside."""

from __future__ import annotations

from typing import Any

import click
import typer
from typer.core import TyperGroup

from newsletter.errors import CampaignError, NewsletterError

HELP_ORDER = (
    "new",
    "validate",
    "render",
    "preview",
    "test",
    "send",
    "push",
    "schedule",
    "unschedule",
    "report",
    "inbound",
    "audience",
    "serve",
)
"""The order ``--help`` lists commands in: the order an issue goes through them."""


class NewsletterGroup(TyperGroup):
    """Turns a ``NewsletterError`` into its message on stderr and its exit code.

    A ``CampaignError`` is already one ``FILE:LINE:COL: field: message`` line per problem
    and is printed as it is; any other error is one line starting ``error:``.
    """

    def list_commands(self, ctx: click.Context) -> list[str]:
        rank = {name: index for index, name in enumerate(HELP_ORDER)}
        return sorted(super().list_commands(ctx), key=lambda name: rank.get(name, len(rank)))

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except NewsletterError as exc:
            located = isinstance(exc, CampaignError)
            typer.echo(str(exc) if located else f"error: {exc}", err=True)
            raise typer.Exit(exc.exit_code) from None


def new_app(help_text: str) -> typer.Typer:
    return typer.Typer(
        cls=NewsletterGroup,
        help=help_text,
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_enable=False,
        rich_markup_mode=None,
    )


app = new_app(
    "Campaigns as code: write each newsletter issue as a YAML file, check it, render it, "
    "and send it exactly once."
)
