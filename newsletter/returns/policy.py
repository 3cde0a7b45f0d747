"""What a classified report does to the member it is about.

A hard bounce marks the member ``bounced`` at once. A soft bounce marks them ``bounced``
once ``soft_bounce_limit`` sends in a row bounced within their last
``soft_bounce_window`` sends; a send between them that did not bounce resets the count
(sends newer than the latest soft bounce are not counted either way: their bounces may
still be on the way). A complaint marks them ``complained``, a mailto unsubscribe
``unsubscribed``. Bounced and complained members are never mailed (the send only takes
``subscribed`` ones) and an import keeps them as they are unless ``--resubscribe``.

Every decision about a member goes into the consent log, with its source and the
report's Message-ID, and into the ``returns`` table with the report kept compressed
until ``report_retention`` has passed. A report is found again by its key, so the
same report twice changes nothing.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from newsletter.config import Settings
from newsletter.models import SubscriberStatus
from newsletter.providers.base import ChangeSource
from newsletter.returns.addresses import AddressKind
from newsletter.returns.classify import Decision, Verdict
from newsletter.store.consent import ConsentEntry
from newsletter.store.return_batch import ReturnsStore
from newsletter.store.returns import Member, ReturnRow

MAX_KEY = 255
_STILL_MAILED = (SubscriberStatus.SUBSCRIBED.value, SubscriberStatus.PENDING.value)
_SOURCES = {
    Verdict.HARD_BOUNCE: ChangeSource.BOUNCE,
    Verdict.SOFT_BOUNCE: ChangeSource.BOUNCE,
    Verdict.COMPLAINT: ChangeSource.COMPLAINT,
    Verdict.UNSUBSCRIBE: ChangeSource.MAILTO,
}


@dataclass(frozen=True)
class Limits:
    soft_bounce_limit: int = 3
    soft_bounce_window: int = 5
    keep_reports: timedelta = timedelta(days=90)

    @classmethod
    def from_settings(cls, settings: Settings) -> Limits:
        return cls(
            settings.soft_bounce_limit, settings.soft_bounce_window, settings.report_retention
        )


@dataclass(frozen=True)
class Applied:
    handled: bool
    """Understood and recorded (or recorded before): the message may leave the inbox."""
    outcome: str
    """What happened, in a few words, for the summary and ``--dry-run``."""
    changed: bool = False
    subscriber_id: str | None = None
    before: bool = False
    """Recorded by an earlier run: nothing to do but move the message."""


@dataclass(frozen=True)
class _Target:
    member: Member
    campaign_id: int | None
    slug: str


def report_key(decision: Decision, raw: bytes) -> str:
    """The report's Message-ID, or a digest of its bytes when it has none (qmail)."""
    if decision.report_id and len(decision.report_id) <= MAX_KEY:
        return decision.report_id
    normalised = raw.replace(b"\r\n", b"\n")
    return "sha256:" + hashlib.sha256(normalised).hexdigest()


def soft_run(sends: Sequence[int], bounced: set[int]) -> int:
    """Bounced sends in a row, from the newest bounced one back (``sends`` newest first)."""
    count = 0
    for campaign_id in sends:
        if campaign_id in bounced:
            count += 1
        elif count:
            break
    return count


def prepare(store: ReturnsStore, reports: Sequence[tuple[Decision, bytes]]) -> None:
    """Read what acting on these reports will ask about, for the whole batch at once."""
    acting = [(decision, raw) for decision, raw in reports if decision.acts]
    store.prefetch(
        (report_key(decision, raw) for decision, raw in acting),
        (decision.token.subscriber_id for decision, _ in acting if decision.token is not None),
    )


def apply(
    store: ReturnsStore, decision: Decision, raw: bytes, limits: Limits, now: datetime
) -> Applied:
    """Act on one report in the transaction ``store`` runs in."""
    if not decision.acts:
        return Applied(False, decision.reason)
    key = report_key(decision, raw)
    if store.is_recorded(key):
        return Applied(True, "handled before", before=True)
    target = _target(store, decision)
    if isinstance(target, str):
        return Applied(False, target)
    member = target.member
    status, outcome = _next_status(store, decision, target, limits)
    note = _note(decision, target.slug)
    source = _SOURCES[decision.verdict].value
    changed = status is not None and store.set_status(member, status.value, now)
    action = status.value if changed and status is not None else decision.verdict.value
    store.log(
        ConsentEntry(member.id, now, action, source, note if changed else f"{outcome}; {note}")
    )
    store.record(
        ReturnRow(
            key,
            now,
            decision.verdict.value,
            member.id,
            target.campaign_id,
            outcome,
            raw,
            now + limits.keep_reports,
        )
    )
    return Applied(True, outcome, changed, member.id)


def _target(store: ReturnsStore, decision: Decision) -> _Target | str:
    """The member and campaign a report is about, or why they cannot be told."""
    wanted = AddressKind.UNSUBSCRIBE if decision.verdict is Verdict.UNSUBSCRIBE else None
    token = decision.token
    found: tuple[str, int] | None = None
    if token is not None and token.kind is (wanted or AddressKind.RETURN_PATH):
        found = (token.subscriber_id, token.campaign_id)
    elif wanted is None and decision.original_id:
        found = store.by_message_id(decision.original_id)
    if found is None:
        return "names none of our messages"
    member = store.member(found[0])
    if member is None:
        return "names a member who is no longer in the audience"
    if decision.heuristic and decision.recipient.lower() != member.email.lower():
        return f"a non-standard bounce for {decision.recipient}, not the member's address"
    slug = store.campaign_slug(found[1]) if found[1] else None
    return _Target(member, found[1] if slug is not None else None, slug or "")


def _next_status(
    store: ReturnsStore, decision: Decision, target: _Target, limits: Limits
) -> tuple[SubscriberStatus | None, str]:
    """The member's new status (None: it stays) and the outcome in words."""
    current = target.member.status
    verdict = decision.verdict
    if verdict is Verdict.COMPLAINT:
        if current == SubscriberStatus.COMPLAINED.value:
            return None, "already complained"
        return SubscriberStatus.COMPLAINED, "complained"
    if current not in _STILL_MAILED:
        return None, f"already {current}"
    if verdict is Verdict.UNSUBSCRIBE:
        return SubscriberStatus.UNSUBSCRIBED, "unsubscribed"
    if verdict is Verdict.HARD_BOUNCE:
        return SubscriberStatus.BOUNCED, "bounced (hard)"
    member_id = target.member.id
    bounced = store.bounced_campaigns(member_id)
    if target.campaign_id is not None:
        bounced.add(target.campaign_id)
    run = soft_run(store.recent_sends(member_id, limits.soft_bounce_window), bounced)
    if run >= limits.soft_bounce_limit:
        return SubscriberStatus.BOUNCED, f"bounced ({run} soft bounces in a row)"
    return None, f"soft bounce {run} of {limits.soft_bounce_limit}"


def _note(decision: Decision, slug: str) -> str:
    parts = [f"report {decision.report_id or 'without a Message-ID'}"]
    if slug:
        parts.append(f"issue {slug}")
    parts.append(decision.reason)
    return "; ".join(parts)
