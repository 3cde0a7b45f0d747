"""``newsletter check``: every pre-send rule, with where each finding comes from."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from newsletter import checks
from newsletter.campaigns import load_located
from newsletter.checks import optional, report
from newsletter.cli.app import app
from newsletter.cli.options import ProjectOption, ProviderOption, settings_for
from newsletter.errors import ConfigError
from newsletter.providers import get_provider


class Format(StrEnum):
    TEXT = "text"
    JSON = "json"


@app.command()
def check(
    file: Annotated[Path | None, typer.Argument(help="The campaign file.")] = None,
    output: Annotated[
        Format, typer.Option("--format", help="text: a line per finding; json: one document.")
    ] = Format.TEXT,
    links: Annotated[
        bool, typer.Option("--links", help="Fetch every link and report broken ones.")
    ] = False,
    spam: Annotated[
        bool, typer.Option("--spam", help="Score a sample message with SpamAssassin.")
    ] = False,
    list_rules: Annotated[
        bool, typer.Option("--rules", help="List every rule and why it matters, then stop.")
    ] = False,
    project: ProjectOption = None,
    provider_name: ProviderOption = None,
) -> None:
    """Check an issue as the provider would send it: size, compliance, links, images,
    text, accessibility, client support and who it reaches. Exits 1 on any error.

    test, send, schedule, push and run-due run the same checks (not --links or --spam)
    and stop on errors. Example: newsletter check campaigns/winter-2026.yaml --links
    """
    if list_rules:
        for rule in checks.rules().values():
            typer.echo(f"{rule.id:<28} {rule.severity.value:<8} {rule.why}")
        return
    if file is None:
        raise ConfigError("newsletter check needs a campaign file (or --rules)")
    settings = settings_for(project)
    located = load_located(file, settings)
    with get_provider(settings, provider_name) as provider:
        subject = provider.check_input(located.issue, source=located.source, audience=True)
    found = checks.findings(subject)
    extras = [
        optional.family(name).run(subject)
        for name, wanted in (("links", links), ("spam", spam))
        if wanted
    ]
    for extra in extras:
        found.extend(extra.findings)
    result = report.build(subject, file, checks.ordered(found), extras)
    if output is Format.JSON:
        typer.echo(report.as_json(result))
    else:
        for line in report.text_lines(result):
            typer.echo(line)
    if not result.ok:
        raise typer.Exit(1)
