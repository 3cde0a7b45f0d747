"""A campaign as Mailchimp takes it: settings, recipients and content from one issue."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from newsletter.config import Settings
from newsletter.errors import ProviderError
from newsletter.models import Issue
from newsletter.providers.mailchimp.audience import InterestMap
from newsletter.render.compile import CompiledIssue

_ENCODED_TAG = re.compile(r"\*%7C([A-Z0-9_:]+)%7C\*", re.IGNORECASE)


class RemoteStatus(StrEnum):
    """A campaign's status as Mailchimp reports it."""

    SAVE = "save"
    PAUSED = "paused"
    SCHEDULE = "schedule"
    SENDING = "sending"
    SENT = "sent"
    CANCELING = "canceling"
    CANCELED = "canceled"
    ARCHIVED = "archived"
    MISSING = "missing"
    """Not Mailchimp's: the campaign is not there any more."""
    UNKNOWN = "unknown"
    """Not Mailchimp's: a status this program does not know."""

    @classmethod
    def read(cls, text: str) -> RemoteStatus:
        try:
            return cls(text)
        except ValueError:
            return cls.UNKNOWN


SENT = frozenset({RemoteStatus.SENDING, RemoteStatus.SENT})
DRAFT = frozenset({RemoteStatus.SAVE, RemoteStatus.PAUSED})
"""Statuses in which the campaign can still change."""


def campaign_title(issue: Issue) -> str:
    """The campaign's name in Mailchimp; the slug in brackets finds it again."""
    return f"{issue.display_title} [{issue.slug}]"


def title_matches(title: str, slug: str) -> bool:
    return title.endswith(f"[{slug}]")


def campaign_settings(issue: Issue, settings: Settings) -> dict[str, Any]:
    sender = settings.sender
    return {
        "subject_line": issue.subject,
        "preview_text": issue.preview_text,
        "title": campaign_title(issue),
        "from_name": sender.from_name,
        "reply_to": str(sender.reply_to or sender.from_email),
    }


def recipients(issue: Issue, audience_id: str, interests: InterestMap | None) -> dict[str, Any]:
    """The audience, narrowed to members interested in any of the issue's topics."""
    body: dict[str, Any] = {"list_id": audience_id}
    if issue.topics and interests is not None:
        body["segment_opts"] = {
            "match": "any",
            "conditions": [
                {
                    "condition_type": "Interests",
                    "field": f"interests-{interests.category_id}",
                    "op": "interestcontains",
                    "value": list(interests.interests(issue.topics)),
                }
            ],
        }
    return body


def content(compiled: CompiledIssue) -> dict[str, str]:
    """HTML and text with Mailchimp's merge tags intact (``|`` never as ``%7C``)."""
    return {
        "html": _ENCODED_TAG.sub(r"*|\1|*", compiled.html),
        "plain_text": _ENCODED_TAG.sub(r"*|\1|*", compiled.text),
    }


def quarter_hour_utc(when: datetime, settings: Settings) -> datetime:
    """``when`` in UTC, refused unless it falls on a quarter hour (Mailchimp's rule)."""
    if when.tzinfo is None:
        when = when.replace(tzinfo=settings.zone)
    at = when.astimezone(UTC)
    if at.minute % 15 or at.second or at.microsecond:
        earlier = at.replace(minute=at.minute - at.minute % 15, second=0, microsecond=0)
        later = earlier + timedelta(minutes=15)
        raise ProviderError(
            f"Mailchimp schedules only on the quarter hour (UTC): {at:%Y-%m-%d %H:%M:%S} UTC "
            f"is not one; choose {earlier:%H:%M} or {later:%H:%M} UTC"
        )
    return at
