"""What every provider offers, and the capabilities each one declares.

The base class owns the shared flow (compiling with the provider's merge tags, checking
capabilities); each provider fills in the operations it supports. An operation a
provider cannot express raises ``UnsupportedFeature``; nothing is silently dropped.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import ClassVar

from newsletter.config import Settings
from newsletter.errors import UnsupportedFeature
from newsletter.models import CampaignState, Issue, SendReport, Subscriber, SubscriberStatus
from newsletter.render.compile import CompiledIssue, compile_issue
from newsletter.render.merge import MergeTags


class Capability(StrEnum):
    TEST_SEND = "test-send"
    SEND = "send"
    SCHEDULE = "schedule"
    """The provider keeps the schedule itself (Mailchimp); otherwise ``run-due`` sends."""
    AUDIENCE = "audience"
    TOPICS = "topics"
    PREFERENCES = "preferences"
    """Our preference centre can look up, unsubscribe and change topics through it."""
    REPORTS = "reports"


class ChangeSource(StrEnum):
    """Where a subscription change came from, for the consent log."""

    ONE_CLICK = "one-click"
    PAGE = "page"
    CLI = "cli"
    IMPORT = "import"
    SEND = "send"


@dataclass(frozen=True)
class MemberInput:
    """A member to add or update, as read from a CSV file or the command line."""

    email: str
    first_name: str = ""
    last_name: str = ""
    topics: frozenset[str] = frozenset()
    source_line: int | None = None


@dataclass(frozen=True)
class RejectedMember:
    email: str
    reason: str
    source_line: int | None = None


@dataclass(frozen=True)
class ImportReport:
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    kept_unsubscribed: int = 0
    rejected: tuple[RejectedMember, ...] = ()


@dataclass(frozen=True)
class SendPlan:
    """What a send would do, shown before asking to confirm."""

    slug: str
    audience: str
    recipients: int
    topics: tuple[str, ...] = ()
    problems: tuple[str, ...] = ()
    """Reasons the provider would refuse the send (Mailchimp's send-checklist, ...)."""
    already_sent: int = 0
    deferred: int = 0
    """Recipients waiting for ``--retry-failed`` after temporary refusals."""
    finished: bool = False
    """The issue was sent: nobody is left but, perhaps, the deferred."""
    destination: str = ""
    """Where the messages would go (an SMTP server, an outbox folder), for the user."""

    @property
    def ready(self) -> bool:
        return not self.problems


@dataclass(frozen=True)
class CampaignReport:
    slug: str
    sent: int
    opens: int | None = None
    clicks: int | None = None
    bounces: int | None = None
    unsubscribes: int | None = None
    notes: tuple[str, ...] = ()
    raw: dict[str, object] = field(default_factory=dict)


Progress = Callable[[int, int], None]
"""Called as ``progress(done, total)`` while a send runs."""


class Provider(ABC):
    name: ClassVar[str]
    capabilities: ClassVar[frozenset[Capability]]
    merge_tags: ClassVar[MergeTags]

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def require(self, capability: Capability, doing: str) -> None:
        if capability not in self.capabilities:
            raise UnsupportedFeature(f"the {self.name} provider cannot {doing}")

    def compile(self, issue: Issue) -> CompiledIssue:
        """The issue compiled once, with this provider's merge tags in the slots."""
        return compile_issue(issue, self.settings, self.merge_tags)

    def close(self) -> None:  # noqa: B027 - providers without resources have nothing to close
        """Release connections and files."""

    def __enter__(self) -> Provider:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # Campaigns

    @abstractmethod
    def send_test(self, issue: Issue, recipients: Sequence[str]) -> SendReport:
        """Send a copy to the given addresses only; marks nothing as sent."""

    @abstractmethod
    def plan_send(self, issue: Issue, *, retry_failed: bool = False) -> SendPlan:
        """Who would receive the issue and whether anything stops the send."""

    @abstractmethod
    def send(
        self,
        issue: Issue,
        *,
        resend: bool = False,
        retry_failed: bool = False,
        progress: Progress | None = None,
    ) -> SendReport:
        """Send to the audience, exactly once; refuses an issue already sent unless ``resend``.

        ``retry_failed``: send only to the recipients deferred by temporary refusals.
        """

    @abstractmethod
    def campaign_state(self, slug: str) -> CampaignState | None:
        """What this provider recorded for the issue, or None if it never saw it."""

    def has_gone_out(self, slug: str) -> bool:
        """Whether anyone may have received the issue, so its web version may be shown."""
        return self.campaign_state(slug) in (CampaignState.SENDING, CampaignState.SENT)

    def schedule(self, issue: Issue, when: datetime) -> SendReport:
        self.require(Capability.SCHEDULE, "schedule a campaign itself")
        raise NotImplementedError

    def unschedule(self, issue: Issue) -> None:
        self.require(Capability.SCHEDULE, "unschedule a campaign")
        raise NotImplementedError

    def report(self, issue: Issue) -> CampaignReport:
        self.require(Capability.REPORTS, "report on a campaign")
        raise NotImplementedError

    # Audience

    @abstractmethod
    def import_members(
        self,
        members: Iterable[MemberInput],
        *,
        resubscribe: bool = False,
        source: ChangeSource = ChangeSource.IMPORT,
    ) -> ImportReport:
        """Add or update members; never resubscribes an unsubscribed one unless asked."""

    @abstractmethod
    def members(
        self, *, status: SubscriberStatus | None = None, topic: str | None = None
    ) -> Iterator[Subscriber]: ...

    def topic_counts(self) -> dict[str, int]:
        """Subscribed members per topic id, in one pass over the audience."""
        counts: dict[str, int] = {}
        for member in self.members(status=SubscriberStatus.SUBSCRIBED):
            for topic in member.topics:
                counts[topic] = counts.get(topic, 0) + 1
        return counts

    @abstractmethod
    def find_by_email(self, email: str) -> Subscriber | None: ...

    @abstractmethod
    def get_subscriber(self, subscriber_id: str) -> Subscriber | None:
        """The subscriber a signed link names, or None."""

    @abstractmethod
    def unsubscribe(
        self, subscriber_id: str, *, source: ChangeSource, note: str = ""
    ) -> Subscriber:
        """Idempotent: unsubscribing twice changes nothing the second time."""

    @abstractmethod
    def resubscribe(
        self, subscriber_id: str, *, source: ChangeSource, note: str = ""
    ) -> Subscriber: ...

    @abstractmethod
    def set_topics(
        self, subscriber_id: str, topics: frozenset[str], *, source: ChangeSource
    ) -> Subscriber: ...
