"""The newsletter's data: an issue and its sections, subscribers, campaign states, reports.

Models are validated and immutable and do no I/O. A campaign file is validated with a
context holding the project's time zone and topic ids (see ``campaigns.load_issue``).
"""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Discriminator,
    EmailStr,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from newsletter.render.markdown import markdown_images, markdown_links
from newsletter.types import AT, HeaderText, HttpsUrl, Identifier, LinkUrl


def slugify(text: str) -> str:
    """``"Have Your Say!"`` -> ``"have-your-say"``; ASCII letters, digits and hyphens."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")[:64] or "section"


def _zoned(value: datetime, info: ValidationInfo) -> datetime:
    """A time written without a zone is in the project's time zone."""
    if value.tzinfo is None:
        zone = (info.context or {}).get("timezone") or UTC
        return value.replace(tzinfo=zone if not isinstance(zone, str) else ZoneInfo(zone))
    return value


def _markdown(value: str) -> str:
    if markdown_images(value):
        raise ValueError(
            "images in Markdown are not supported: use an article's image: field, "
            "which has alt text and a width"
        )
    for href in markdown_links(value):
        if href.startswith(("mailto:", "https://")) and " " not in href:
            continue
        raise ValueError(f"link '{href}' must be an absolute https:// URL or a mailto: link")
    return value


ZonedDatetime = Annotated[datetime, AfterValidator(_zoned)]
Markdown = Annotated[str, AfterValidator(_markdown)]
"""CommonMark text: paragraphs, lists, links, emphasis. Raw HTML is shown as text."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class Image(_Model):
    src: HttpsUrl
    alt: str = Field(min_length=1, description="what the image shows, for screen readers")
    width: int = Field(default=600, gt=0, le=600)
    href: LinkUrl | None = None


class Button(_Model):
    text: str = Field(min_length=1, max_length=80)
    url: LinkUrl


class _Section(_Model):
    id: Identifier | None = None
    heading: str = Field(min_length=1)

    @property
    def contents_label(self) -> str:
        """The line for this section in the "In this issue" list."""
        return self.heading


class Article(_Section):
    type: Literal["article"]
    kicker: str | None = None
    body: Markdown = Field(min_length=1)
    image: Image | None = None
    button: Button | None = None

    @property
    def contents_label(self) -> str:
        return f"{self.kicker} – {self.heading}" if self.kicker else self.heading


class NewsItem(_Model):
    title: str = Field(min_length=1)
    body: Markdown = Field(min_length=1)
    url: LinkUrl | None = None


class News(_Section):
    type: Literal["news"]
    items: list[NewsItem] = Field(min_length=1)


class Event(_Section):
    type: Literal["event"]
    title: str = Field(min_length=1)
    starts_at: ZonedDatetime
    ends_at: ZonedDatetime | None = None
    location: str = Field(min_length=1)
    body: Markdown = Field(min_length=1)
    button: Button | None = None

    @model_validator(mode="after")
    def _ends_after_start(self) -> Event:
        if self.ends_at is not None and self.ends_at <= self.starts_at:
            raise PydanticCustomError(
                "ends_before_start", "must be after starts_at", {AT: ("ends_at",)}
            )
        return self


class CallToAction(_Section):
    type: Literal["cta"]
    body: Markdown = Field(min_length=1)
    buttons: list[Button] = Field(min_length=1)


Section = Annotated[Article | News | Event | CallToAction, Discriminator("type")]


MAX_SECTIONS = 200
"""Sections in one issue; far more than fit under Gmail's clipping point."""


class Issue(_Model):
    """One newsletter issue, as written in ``campaigns/<slug>.yaml``."""

    slug: Identifier
    subject: HeaderText = Field(min_length=1, max_length=150)
    preview_text: HeaderText = Field(min_length=1, max_length=200)
    title: str | None = None
    topics: list[Identifier] = []
    send_at: ZonedDatetime | None = None
    table_of_contents: bool = True
    intro: Markdown = ""
    sections: list[Section] = Field(min_length=1, max_length=MAX_SECTIONS)

    @field_validator("topics")
    @classmethod
    def _known_topics(cls, value: list[str], info: ValidationInfo) -> list[str]:
        known = (info.context or {}).get("topics")
        if known is not None:
            unknown = [topic for topic in value if topic not in known]
            if unknown:
                choices = ", ".join(sorted(known)) or "none are defined"
                raise ValueError(
                    f"unknown topic '{unknown[0]}' (topics in newsletter.yaml: {choices})"
                )
        if len(set(value)) != len(value):
            raise ValueError("a topic is listed twice")
        return value

    @field_validator("sections")
    @classmethod
    def _unique_ids(cls, sections: list[Any]) -> list[Any]:
        explicit: dict[str, int] = {}
        for index, section in enumerate(sections):
            if section.id is not None:
                if section.id in explicit:
                    raise PydanticCustomError(
                        "duplicate_section_id",
                        "section id '{id}' is already used by sections[{first}]",
                        {"id": section.id, "first": explicit[section.id], AT: (index, "id")},
                    )
                explicit[section.id] = index
        taken = set(explicit)
        result = []
        for section in sections:
            if section.id is None:
                base = slugify(section.heading)
                candidate, number = base, 2
                while candidate in taken:
                    candidate, number = f"{base}-{number}", number + 1
                taken.add(candidate)
                section = section.model_copy(update={"id": candidate})
            result.append(section)
        return result

    @property
    def display_title(self) -> str:
        return self.title or self.subject


class SubscriberStatus(StrEnum):
    SUBSCRIBED = "subscribed"
    UNSUBSCRIBED = "unsubscribed"
    BOUNCED = "bounced"
    COMPLAINED = "complained"
    """Reported our mail as spam (a feedback loop's complaint): never mailed again."""
    PENDING = "pending"


class Subscriber(_Model):
    """A member of the audience as a provider reports it; ``id`` is opaque, never the email."""

    id: str
    email: EmailStr
    first_name: str = ""
    last_name: str = ""
    status: SubscriberStatus = SubscriberStatus.SUBSCRIBED
    topics: frozenset[str] = frozenset()


class CampaignState(StrEnum):
    DRAFT = "draft"
    SCHEDULED = "scheduled"
    NEEDS_APPROVAL = "needs-approval"
    """Scheduled, but the issue changed since: ``schedule`` again approves the new content."""
    MISSED = "missed"
    """Scheduled, but ``run-due`` found it more than ``max_lateness`` late and did not send."""
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    CANCELLED = "cancelled"


class SendStatus(StrEnum):
    """What happened to one send request, from any provider."""

    SENT = "sent"
    """The campaign went out; nobody was refused or is waiting for a retry."""
    QUEUED = "queued"
    SCHEDULED = "scheduled"
    PARTIAL = "partial"
    """The campaign went out, but some recipients failed or were deferred."""
    STOPPED = "stopped"
    """The send stopped short (the relay went away, failures in a row, messages that got
    no answer) and is resumed by running it again."""
    INTERRUPTED = "interrupted"
    """Ctrl-C or SIGTERM stopped the send; run it again to continue."""
    FAILED = "failed"


class SendReport(_Model):
    status: SendStatus
    campaign: str
    provider: str
    sent: int = 0
    failed: int = 0
    deferred: int = 0
    skipped: int = 0
    uncertain: int = 0
    pending: int = 0
    """Recipients still to send to when the send ended."""
    state: CampaignState | None = None
    """The campaign's state afterwards, where the provider records one."""
    problem: str | None = None
    """Why the send stopped short, in one line."""
    message: str = ""
    raw: dict[str, Any] = {}
