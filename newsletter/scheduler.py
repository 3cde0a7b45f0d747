"""``run-due``: send every locally scheduled issue whose time has come, exactly once.

Short, idempotent and safe to run every minute, twice at once or after downtime
(DESIGN decision 6). Each due campaign is loaded from its file and compiled again; if
the content hash differs from the one approved by ``schedule``, it is set aside as
needing approval. One more than ``max_lateness`` late is marked missed. Everything
else goes through the provider's usual gated, claimed send, so two runs cannot both
send it: the second finds it held and says by whom. Time is a parameter (``now``).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING

from newsletter.approval import changed_files
from newsletter.campaigns import campaign_path, load_issue
from newsletter.errors import CampaignBusy, MailboxError, NewsletterError
from newsletter.models import CampaignState, Issue, SendStatus
from newsletter.providers.base import Progress, Provider
from newsletter.providers.local import LocalProvider
from newsletter.store import campaigns

if TYPE_CHECKING:
    from newsletter.providers.mailchimp import MailchimpProvider


class Outcome(StrEnum):
    SENT = "sent"
    PARTIAL = "partial"
    """Sent, but some recipients were refused or deferred."""
    STOPPED = "stopped"
    """Stopped short (the relay went away ...); still due, the next run resumes it."""
    HELD = "held"
    """Another run is sending it, or has just sent it."""
    READ_BACK = "read-back"
    """A provider that keeps the schedule itself (Mailchimp) moved it on."""
    NEEDS_APPROVAL = "needs-approval"
    MISSED = "missed"
    FAILED = "failed"
    READ = "read"
    """The bounce mailbox was read and acted on."""


FINE = frozenset({Outcome.SENT, Outcome.HELD, Outcome.READ_BACK, Outcome.READ})
BOUNCE_MAILBOX = "bounce mailbox"

EXIT_TRY_AGAIN_LATER = 75
"""``EX_TEMPFAIL``: something stopped short and the next run continues it."""


@dataclass(frozen=True)
class DueResult:
    slug: str
    outcome: Outcome
    message: str
    late: timedelta | None = None


def exit_code(results: list[DueResult]) -> int:
    """0 when all went out (or another run holds them), 75 when only stopped sends wait
    for the next run, 1 when a person has to look."""
    outcomes = {result.outcome for result in results}
    if outcomes - FINE - {Outcome.STOPPED}:
        return 1
    return EXIT_TRY_AGAIN_LATER if Outcome.STOPPED in outcomes else 0


def run_due(
    provider: LocalProvider,
    now: datetime,
    *,
    stop: threading.Event | None = None,
    progress: Progress | None = None,
) -> list[DueResult]:
    """Deal with each due campaign once, oldest first; one result each."""
    with provider.engine.begin() as connection:
        due = campaigns.due(connection, provider.name, now)
    return [_one(provider, campaign, now, stop, progress) for campaign in due]


def read_inbound(provider: Provider, url: str) -> DueResult:
    """``newsletter inbound``, before the sends: a bounce read now stops mail to that
    member in the send that follows. A mailbox that cannot be reached is tried again by
    the next run (exit 75); sends go ahead either way."""
    from newsletter.returns.mailbox import open_mailbox

    try:
        mailbox = open_mailbox(url)
        try:
            summary = provider.read_returns(mailbox)
        finally:
            mailbox.close()
    except MailboxError as exc:
        return DueResult(BOUNCE_MAILBOX, Outcome.STOPPED, " ".join(str(exc).split()))
    except NewsletterError as exc:
        return DueResult(BOUNCE_MAILBOX, Outcome.FAILED, " ".join(str(exc).split()))
    return DueResult(BOUNCE_MAILBOX, Outcome.READ, summary.line(mailbox.description))


def read_back(provider: MailchimpProvider) -> list[DueResult]:
    """The state of the campaigns ``provider`` schedules itself, read into the store."""
    try:
        moved = provider.read_back()
    except NewsletterError as exc:
        problem = f"cannot read the campaigns' state back: {' '.join(str(exc).split())}"
        return [DueResult(provider.name, Outcome.FAILED, problem)]
    return [
        DueResult(slug, Outcome.READ_BACK, f"{provider.name}: {before.value} -> {after.value}")
        for slug, before, after in moved
    ]


def _one(
    provider: LocalProvider,
    campaign: campaigns.Campaign,
    now: datetime,
    stop: threading.Event | None,
    progress: Progress | None,
) -> DueResult:
    if (
        campaign.state is CampaignState.SENDING
        and not provider.shares_sends
        and not campaigns.owner_is_gone(campaign, now)
    ):
        return DueResult(campaign.slug, Outcome.HELD, f"held by another run ({campaign.owner})")
    path = campaign_path(provider.settings, campaign.slug)
    try:
        issue = load_issue(path, provider.settings)
        approved = provider.approval_hash(issue, provider.compile(issue))
    except NewsletterError as exc:
        problem = f"{path} cannot be read or compiled: {' '.join(str(exc).split())}"
        return _set_aside(provider, campaign, Outcome.NEEDS_APPROVAL, problem, now)
    late = now - campaign.scheduled_utc if campaign.scheduled_utc else None
    if campaign.state is CampaignState.SCHEDULED:
        limit = provider.settings.max_lateness
        if late is not None and late > limit:
            problem = (
                f"not sent: {_duration(late)} late, more than max_lateness ({_duration(limit)}); "
                f"schedule {path} again to send it"
            )
            return _set_aside(provider, campaign, Outcome.MISSED, problem, now)
        if approved != campaign.approved_hash:
            changed = changed_files(campaign.approved_files, provider.settings, campaign.slug)
            where = ", ".join(changed) or "settings from the environment or .env"
            problem = (
                f"what {path} sends changed after it was scheduled ({where}); "
                f"run newsletter schedule {path} again to approve it"
            )
            return _set_aside(provider, campaign, Outcome.NEEDS_APPROVAL, problem, now)
    return _send(provider, issue, now, late, stop, progress)


def _send(
    provider: LocalProvider,
    issue: Issue,
    now: datetime,
    late: timedelta | None,
    stop: threading.Event | None,
    progress: Progress | None,
) -> DueResult:
    slug = issue.slug
    try:
        skip = provider.skipped_checks(slug)
        report = provider.send(issue, stop=stop, progress=progress, skip=skip)
    except CampaignBusy as exc:
        return DueResult(slug, Outcome.HELD, f"held by another run ({exc.owner})")
    except NewsletterError as exc:
        if provider.campaign_state(slug) is CampaignState.SENT:
            return DueResult(slug, Outcome.HELD, "already sent by another run")
        problem = " ".join(str(exc).split())
        with provider.engine.begin() as connection:
            # Still scheduled (refused before the claim): failed, so it is not tried
            # again every minute; ``schedule`` or ``send`` after the fix.
            record = campaigns.get(connection, provider.name, slug)
            if record is not None:
                campaigns.set_aside(connection, record.id, CampaignState.FAILED, problem, now)
        return DueResult(slug, Outcome.FAILED, problem)
    outcome = {
        SendStatus.SENT: Outcome.SENT,
        SendStatus.PARTIAL: Outcome.PARTIAL,
        SendStatus.STOPPED: Outcome.STOPPED,
        SendStatus.INTERRUPTED: Outcome.STOPPED,
    }.get(report.status, Outcome.FAILED)
    counts = f"{report.sent:,} sent"
    if report.failed or report.deferred:
        counts += f", {report.failed:,} failed, {report.deferred:,} deferred"
    if report.uncertain:
        counts += f", {report.uncertain:,} uncertain (may hold two copies)"
    when = f", {_duration(late)} late" if late is not None and late >= timedelta(minutes=1) else ""
    detail = f": {report.problem}" if report.problem and outcome is not Outcome.SENT else ""
    return DueResult(slug, outcome, f"{counts}{when}{detail}", late)


def _set_aside(
    provider: LocalProvider,
    campaign: campaigns.Campaign,
    outcome: Outcome,
    problem: str,
    now: datetime,
) -> DueResult:
    if campaign.state is not CampaignState.SCHEDULED:
        # A stopped send to resume stays as it is, due, until the file is put right.
        return DueResult(campaign.slug, outcome, problem)
    state = CampaignState(outcome.value)
    with provider.engine.begin() as connection:
        changed = campaigns.set_aside(connection, campaign.id, state, problem, now)
    if not changed:
        return DueResult(campaign.slug, Outcome.HELD, "taken by another run")
    return DueResult(campaign.slug, outcome, problem)


def _duration(span: timedelta) -> str:
    minutes = int(span.total_seconds() // 60)
    if minutes < 120:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes} min"
    return f"{hours // 24} days {hours % 24} h"
