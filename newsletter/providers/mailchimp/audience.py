"""Members and topics as Mailchimp writes them: subscriber hashes, interest groups,
batch-subscribe payloads and answers."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from newsletter.errors import ProviderAPIError, ProviderError
from newsletter.models import Subscriber, SubscriberStatus
from newsletter.providers.base import ImportReport, MemberInput, RejectedMember

BATCH_SIZE = 500
"""Mailchimp accepts at most 500 members per batch-subscribe call."""

_HASH = re.compile(r"^[0-9a-f]{32}$")

STATUS_FROM_MAILCHIMP = {
    "subscribed": SubscriberStatus.SUBSCRIBED,
    "unsubscribed": SubscriberStatus.UNSUBSCRIBED,
    "cleaned": SubscriberStatus.BOUNCED,
    "pending": SubscriberStatus.PENDING,
    "transactional": SubscriberStatus.UNSUBSCRIBED,
    "archived": SubscriberStatus.UNSUBSCRIBED,
}
STATUS_TO_MAILCHIMP = {
    SubscriberStatus.SUBSCRIBED: "subscribed",
    SubscriberStatus.UNSUBSCRIBED: "unsubscribed",
    SubscriberStatus.BOUNCED: "cleaned",
    SubscriberStatus.COMPLAINED: "unsubscribed",
    SubscriberStatus.PENDING: "pending",
}
KEPT_STATUSES = frozenset({"unsubscribed", "cleaned"})
"""Statuses an import never changes: the person left, or the address bounces."""


def subscriber_hash(email: str) -> str:
    """Mailchimp's member id: the MD5 of the lower-cased address."""
    return hashlib.md5(email.strip().lower().encode("utf-8"), usedforsecurity=False).hexdigest()


def is_subscriber_hash(value: str) -> bool:
    return bool(_HASH.match(value))


@dataclass(frozen=True)
class InterestMap:
    """The interest category holding the topics, and each topic's interest id."""

    category_id: str
    by_topic: Mapping[str, str]

    @property
    def by_interest(self) -> dict[str, str]:
        return {interest: topic for topic, interest in self.by_topic.items()}

    def interests(self, topics: Iterable[str], *, all_topics: bool = False) -> dict[str, bool]:
        """The ``interests`` object for a member: chosen topics true, others false if asked."""
        chosen = set(topics)
        missing = chosen - set(self.by_topic)
        if missing:
            raise ProviderError(
                f"topic '{sorted(missing)[0]}' has no Mailchimp interest group; run: "
                "newsletter audience sync-topics"
            )
        if all_topics:
            return {interest: topic in chosen for topic, interest in self.by_topic.items()}
        return {self.by_topic[topic]: True for topic in sorted(chosen)}

    def topics(self, interests: Mapping[str, Any] | None) -> frozenset[str]:
        names = self.by_interest
        return frozenset(
            names[interest]
            for interest, on in (interests or {}).items()
            if on and interest in names
        )


def member_payload(
    member: MemberInput, interests: InterestMap | None, *, resubscribe: bool
) -> dict[str, Any]:
    """One member of a batch: ``status_if_new`` so an existing member's status stays."""
    payload: dict[str, Any] = {
        "email_address": member.email,
        "status_if_new": "subscribed",
        "email_type": "html",
    }
    if resubscribe:
        payload["status"] = "subscribed"
    merge_fields = {
        tag: value
        for tag, value in (("FNAME", member.first_name), ("LNAME", member.last_name))
        if value
    }
    if merge_fields:
        payload["merge_fields"] = merge_fields
    topics = member.topics or member.default_topics
    if topics and interests is not None:
        payload["interests"] = interests.interests(topics)
    return payload


def batch_report(batch: list[MemberInput], answer: Mapping[str, Any]) -> ImportReport:
    """Counts from one batch-subscribe answer; errors become rejected rows with the reason."""
    by_email = {member.email.lower(): member for member in batch}
    added = len(_objects(answer.get("new_members")))
    updated = kept = 0
    for item in _objects(answer.get("updated_members")):
        if str(item.get("status", "")) in KEPT_STATUSES:
            kept += 1
        else:
            updated += 1
    rejected = []
    for error in _objects(answer.get("errors")):
        email = str(error.get("email_address", ""))
        source = by_email.get(email.lower())
        reason = str(error.get("error") or error.get("error_code") or "rejected by Mailchimp")
        rejected.append(
            RejectedMember(source.email if source else email, reason, source and source.source_line)
        )
    unchanged = max(0, len(batch) - added - updated - kept - len(rejected))
    return ImportReport(added, updated, unchanged, kept, tuple(rejected))


def _objects(items: object) -> list[Mapping[str, Any]]:
    return [item for item in items if isinstance(item, Mapping)] if isinstance(items, list) else []


def add_reports(reports: Iterable[ImportReport]) -> ImportReport:
    total = ImportReport()
    for report in reports:
        total = ImportReport(
            total.added + report.added,
            total.updated + report.updated,
            total.unchanged + report.unchanged,
            total.kept_unsubscribed + report.kept_unsubscribed,
            total.rejected + report.rejected,
        )
    return total


def to_subscriber(
    member: Mapping[str, Any], interests: InterestMap | None, *, known_email: str | None = None
) -> Subscriber:
    """A Mailchimp member as a ``Subscriber`` whose id is its subscriber hash.

    ``known_email`` is the address the caller looked the member up by; it is used when
    the answer's address is not a valid one.
    """
    merge = member.get("merge_fields") or {}
    status = STATUS_FROM_MAILCHIMP.get(str(member.get("status")), SubscriberStatus.UNSUBSCRIBED)
    fields = {
        "first_name": str(merge.get("FNAME") or ""),
        "last_name": str(merge.get("LNAME") or ""),
        "status": status,
        "topics": interests.topics(member.get("interests")) if interests else frozenset(),
    }
    for email in (member.get("email_address"), known_email):
        if not email:
            continue
        try:
            return Subscriber(id=subscriber_hash(str(email)), email=str(email), **fields)
        except ValidationError:
            continue
    raise ProviderAPIError("Mailchimp answered with a member without a valid email address")
