"""``newsletter audience ...``: import, export, list, add, unsubscribe, topics.

Every command works through the provider interface, so it manages whichever audience
the chosen provider keeps (the local database or Mailchimp).
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from typing import Annotated

import typer

from newsletter.audience_file import read_members, write_members
from newsletter.cli.app import app, new_app
from newsletter.cli.options import ProjectOption, ProviderOption, settings_for
from newsletter.errors import ConfigError, ProviderError
from newsletter.models import SubscriberStatus
from newsletter.providers import get_provider
from newsletter.providers.base import Capability, ChangeSource, MemberInput
from newsletter.types import check_address

audience_app = new_app("Manage the audience: import, export, list, add and unsubscribe members.")
app.add_typer(audience_app, name="audience")


def member_address(email: str) -> str:
    """``email`` spelled as the audience stores it (as import does), or a one-line error."""
    try:
        return check_address(email)
    except ValueError as exc:
        raise ConfigError(f"'{email}' is not a valid email address: {exc}") from None


@audience_app.command("import")
def import_(
    file: Annotated[Path, typer.Argument(help="CSV with a header: email, first_name, ...")],
    resubscribe: Annotated[
        bool,
        typer.Option(help="Also resubscribe listed members who had unsubscribed or bounced."),
    ] = False,
    topics: Annotated[
        str | None,
        typer.Option(
            "--topics",
            help="Topics (comma-separated) for members whose row names none and who have "
            "chosen none yet; members who chose topics keep them.",
        ),
    ] = None,
    project: ProjectOption = None,
    provider_name: ProviderOption = None,
) -> None:
    """Add or update members from a CSV file (columns email, first_name, last_name, topics).

    Header names are matched loosely ("E-mail Address", "Surname", ...). Bad rows are
    listed as FILE:LINE: reason and the rest are imported. Rows for the same address
    are merged. Members who unsubscribed stay unsubscribed unless --resubscribe is given.
    Importing the same file twice changes nothing the second time. An issue that names
    topics reaches only members who chose one of them: --topics gives topics to the
    members of a list without a topics column.

    Example: newsletter audience import members.csv --topics reviews,events
    """
    settings = settings_for(project)
    defaults = _default_topics(topics, settings.topic_ids)
    read = read_members(file, settings.topic_ids)
    members = [dataclasses.replace(m, default_topics=defaults) for m in read.members]
    with get_provider(settings, provider_name) as provider:
        provider.require(Capability.AUDIENCE, "import members")
        report = provider.import_members(members, resubscribe=resubscribe)
    problems = list(read.problems)
    problems += [
        f"{file}:{r.source_line}: {r.reason}" if r.source_line else f"{file}: {r.email}: {r.reason}"
        for r in report.rejected
    ]
    typer.echo(
        f"{file}: {report.added} added, {report.updated} updated, {report.unchanged} unchanged"
        + (f", {read.merged} duplicate rows merged" if read.merged else "")
        + (
            f", {report.kept_unsubscribed} kept unsubscribed (use --resubscribe to change)"
            if report.kept_unsubscribed
            else ""
        )
    )
    if problems:
        typer.echo("\n".join(problems), err=True)
        typer.echo(f"{len(problems)} row(s) not imported", err=True)
        raise typer.Exit(1)


def _default_topics(value: str | None, known: frozenset[str]) -> frozenset[str]:
    chosen = frozenset(t for t in re.split(r"[,;\s]+", (value or "").lower()) if t)
    unknown = sorted(chosen - known)
    if unknown:
        choices = ", ".join(sorted(known)) or "none are defined"
        raise ConfigError(
            f"--topics: unknown topic '{unknown[0]}' (topics in newsletter.yaml: {choices})"
        )
    if value is not None and not chosen:
        raise ConfigError("--topics needs at least one topic, e.g. --topics reviews,events")
    return chosen


@audience_app.command()
def export(
    file: Annotated[Path, typer.Argument(help="The CSV file to write.")],
    status: Annotated[SubscriberStatus | None, typer.Option(help="Only this status.")] = None,
    project: ProjectOption = None,
    provider_name: ProviderOption = None,
) -> None:
    """Write members to a CSV file (email, first_name, last_name, topics, status).

    Example: newsletter audience export members.csv --status subscribed
    """
    settings = settings_for(project)
    with get_provider(settings, provider_name) as provider:
        provider.require(Capability.AUDIENCE, "list members")
        count = write_members(file, provider.members(status=status))
    typer.echo(f"Wrote {count} member(s) to {file}")


@audience_app.command("list")
def list_(
    status: Annotated[SubscriberStatus | None, typer.Option(help="Only this status.")] = None,
    topic: Annotated[str | None, typer.Option(help="Only members who chose this topic.")] = None,
    project: ProjectOption = None,
    provider_name: ProviderOption = None,
) -> None:
    """Print members, one a line: email, name, status, topics.

    Example: newsletter audience list --status subscribed --topic events
    """
    settings = settings_for(project)
    if topic is not None and topic not in settings.topic_ids:
        raise ConfigError(f"unknown topic '{topic}' (see: newsletter audience topics)")
    count = 0
    with get_provider(settings, provider_name) as provider:
        provider.require(Capability.AUDIENCE, "list members")
        for member in provider.members(status=status, topic=topic):
            name = f"{member.first_name} {member.last_name}".strip()
            topics = ",".join(sorted(member.topics)) or "-"
            typer.echo(f"{member.email}\t{name or '-'}\t{member.status.value}\t{topics}")
            count += 1
    typer.echo(f"{count} member(s)", err=True)


@audience_app.command()
def add(
    email: Annotated[str, typer.Argument(help="The member's email address.")],
    first_name: Annotated[str, typer.Option(help="First name.")] = "",
    last_name: Annotated[str, typer.Option(help="Last name.")] = "",
    topic: Annotated[
        list[str] | None, typer.Option("--topic", help="A topic they chose; repeat for more.")
    ] = None,
    project: ProjectOption = None,
    provider_name: ProviderOption = None,
) -> None:
    """Add one member, or update their name and topics.

    Example: newsletter audience add ana@example.org --first-name Ana --topic events
    """
    settings = settings_for(project)
    address = member_address(email)
    member = MemberInput(address, first_name, last_name, frozenset(topic or ()))
    with get_provider(settings, provider_name) as provider:
        provider.require(Capability.AUDIENCE, "add members")
        report = provider.import_members([member], source=ChangeSource.CLI)
    if report.rejected:
        raise ProviderError(f"{address}: {report.rejected[0].reason}")
    if report.kept_unsubscribed:
        typer.echo(f"{address} unsubscribed earlier and stays unsubscribed")
    elif report.added:
        typer.echo(f"Added {address}")
    elif report.updated:
        typer.echo(f"Updated {address}")
    else:
        typer.echo(f"{address} is already a member; nothing changed")


@audience_app.command()
def unsubscribe(
    email: Annotated[str, typer.Argument(help="The member's email address.")],
    note: Annotated[str, typer.Option(help="Why, for the consent log.")] = "",
    project: ProjectOption = None,
    provider_name: ProviderOption = None,
) -> None:
    """Unsubscribe a member; recorded in the consent log with the note.

    Example: newsletter audience unsubscribe ana@example.org --note "asked by phone"
    """
    settings = settings_for(project)
    address = member_address(email)
    with get_provider(settings, provider_name) as provider:
        provider.require(Capability.AUDIENCE, "unsubscribe members")
        member = provider.find_by_email(address)
        if member is None:
            raise ProviderError(f"{email} is not in the audience")
        if member.status is SubscriberStatus.UNSUBSCRIBED:
            typer.echo(f"{member.email} was already unsubscribed")
            return
        provider.unsubscribe(member.id, source=ChangeSource.CLI, note=note)
    typer.echo(f"Unsubscribed {member.email}")


@audience_app.command()
def topics(
    project: ProjectOption = None,
    provider_name: ProviderOption = None,
) -> None:
    """List the topics from newsletter.yaml with how many subscribed members chose each.

    Example: newsletter audience topics
    """
    settings = settings_for(project)
    with get_provider(settings, provider_name) as provider:
        provider.require(Capability.TOPICS, "list topics")
        counts = provider.topic_counts()
        for topic in settings.topics:
            typer.echo(f"{topic.id}\t{counts.get(topic.id, 0)}\t{topic.name}")
