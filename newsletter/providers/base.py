"""What every provider offers, and the capabilities each one declares.

The base class owns the flow, as django-anymail's backends do: ``send_test``,
``plan_send``, ``send``, ``push`` and ``schedule`` check the capability, run the rules
every provider shares (the pre-send gate of ``newsletter.checks``, known topics, an
issue already sent) and only then call the provider's hook (``_send``, ``_push`` ...)
with the issue compiled once. Audience changes pass the same way: unknown topics are
refused here, before any provider sees them. An operation a provider cannot express
raises ``UnsupportedFeature``; nothing is silently dropped.
"""

from __future__ import annotations

import dataclasses
import hashlib
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, ClassVar

from newsletter import checks
from newsletter.checks import CheckInput, Delivery, GateResult, Reach
from newsletter.clock import Clock, utc_now
from newsletter.config import Settings
from newsletter.errors import ProviderError, UnsupportedFeature
from newsletter.models import CampaignState, Issue, SendReport, Subscriber, SubscriberStatus
from newsletter.render.compile import CompiledIssue, compile_issue
from newsletter.render.merge import MergeTags
from newsletter.schedule_time import exact_instant
from newsletter.yamlfile import LoadedYaml

if TYPE_CHECKING:
    from newsletter.returns.inbound import InboundSummary, Shown
    from newsletter.returns.mailbox import Mailbox


class Capability(StrEnum):
    TEST_SEND = "test-send"
    SEND = "send"
    SCHEDULE = "schedule"
    """The provider keeps the schedule itself (Mailchimp)."""
    RUN_DUE = "run-due"
    """The schedule is kept in our store and ``newsletter run-due`` sends what is due."""
    DRAFTS = "drafts"
    """Keeps a draft campaign that ``push`` creates and updates (Mailchimp)."""
    RETRY_DEFERRED = "retry-deferred"
    """Records recipients deferred by temporary refusals, for ``send --retry-failed``."""
    AUDIENCE = "audience"
    TOPICS = "topics"
    TOPIC_SYNC = "topic-sync"
    """Topics live as the provider's own groups, created by ``audience sync-topics``."""
    PREFERENCES = "preferences"
    """Our preference centre can look up, unsubscribe and change topics through it."""
    REPORTS = "reports"
    INBOUND = "inbound"
    """Acts on what comes back to the bounce mailbox itself (``newsletter inbound``);
    Mailchimp reads its own bounces and complaints."""


class ChangeSource(StrEnum):
    """Where a subscription change came from, for the consent log."""

    ONE_CLICK = "one-click"
    PAGE = "page"
    CLI = "cli"
    IMPORT = "import"
    SEND = "send"
    BOUNCE = "bounce"
    COMPLAINT = "complaint"
    MAILTO = "mailto"


@dataclass(frozen=True)
class MemberInput:
    """A member to add or update, as read from a CSV file or the command line."""

    email: str
    first_name: str = ""
    last_name: str = ""
    topics: frozenset[str] = frozenset()
    source_line: int | None = None
    default_topics: frozenset[str] = frozenset()
    """Topics for a member whose row names none and who has chosen none yet
    (``audience import --topics``); a member who chose topics keeps them."""

    def topics_given(self, current: frozenset[str] | set[str]) -> frozenset[str]:
        """The topics to write for a member who has ``current``; empty keeps them."""
        return self.topics or (frozenset() if current else self.default_topics)


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
    failed: int | None = None
    """Refused by the receiving server during the send."""
    hard_bounces: int | None = None
    soft_bounces: int | None = None
    complaints: int | None = None
    notes: tuple[str, ...] = ()
    raw: dict[str, object] = field(default_factory=dict)


Progress = Callable[[int, int], None]
"""Called as ``progress(done, total)`` while a send runs."""


@dataclass(frozen=True)
class PushResult:
    remote_id: str
    created: bool


@dataclass(frozen=True)
class TopicSync:
    category: str
    category_created: bool
    created: tuple[str, ...]
    existing: tuple[str, ...]


@dataclass(frozen=True)
class SendRequest:
    """How to send, as the base hands it to a provider's ``_send``."""

    resend: bool = False
    retry_failed: bool = False
    progress: Progress | None = None
    stop: threading.Event = field(default_factory=threading.Event)
    """Set by the caller (the CLI on Ctrl-C or SIGTERM) to end the send cleanly."""


class TopicScreen:
    """Passes members whose topics the project defines; keeps the others as rejected."""

    def __init__(self, known: frozenset[str]) -> None:
        self.known = known
        self.rejected: list[RejectedMember] = []

    def __call__(self, members: Iterable[MemberInput]) -> Iterator[MemberInput]:
        for member in members:
            unknown = (member.topics | member.default_topics) - self.known
            if unknown:
                reason = f"unknown topic '{sorted(unknown)[0]}'"
                self.rejected.append(RejectedMember(member.email, reason, member.source_line))
                continue
            yield member

    def merged(self, report: ImportReport) -> ImportReport:
        if not self.rejected:
            return report
        rejected = sorted(
            (*self.rejected, *report.rejected), key=lambda r: (r.source_line or 0, r.email)
        )
        return dataclasses.replace(report, rejected=tuple(rejected))


class Provider(ABC):
    name: ClassVar[str]
    capabilities: ClassVar[frozenset[Capability]]
    merge_tags: ClassVar[MergeTags]

    def __init__(self, settings: Settings, *, clock: Clock = utc_now) -> None:
        self.settings = settings
        self.clock = clock
        self.last_gate: GateResult | None = None
        """What the latest gate let through: its warnings and the errors waived."""

    def require(self, capability: Capability, doing: str) -> None:
        if capability not in self.capabilities:
            raise UnsupportedFeature(
                f"the {self.name} provider cannot {doing}; choose one that can with "
                "--provider or provider: in newsletter.yaml"
            )

    def compile(self, issue: Issue) -> CompiledIssue:
        """The issue compiled once, with this provider's merge tags in the slots."""
        return compile_issue(issue, self.settings, self.merge_tags)

    def delivery(self) -> Delivery:
        """What this provider adds around the body (headers, signature), for the checks."""
        return Delivery(self.name, self.merge_tags, list_unsubscribe_header=False)

    def reach(self, issue: Issue) -> Reach | None:
        """Who the issue reaches among the subscribed members; None where unknown."""
        return None

    def check_input(
        self,
        issue: Issue,
        compiled: CompiledIssue | None = None,
        *,
        source: LoadedYaml | None = None,
        audience: bool = False,
    ) -> CheckInput:
        """The issue as this provider would send it, ready for the pre-send rules;
        ``audience`` adds who it reaches (a query to the provider)."""
        return CheckInput(
            issue,
            compiled or self.compile(issue),
            self.settings,
            self.delivery(),
            source=source,
            reach=self.reach(issue) if audience else None,
        )

    def checked(
        self, issue: Issue, skip: frozenset[str] = frozenset(), *, audience: bool = False
    ) -> CompiledIssue:
        """The issue compiled and passed through the pre-send gate: an issue with an
        error that ``skip`` does not name stops here, before anything leaves."""
        check = self.check_input(issue, audience=audience)
        self.last_gate = checks.gate(check, skip)
        return check.compiled

    def approval_hash(self, issue: Issue, compiled: CompiledIssue) -> str:
        """What ``schedule`` approves and ``run-due`` compares: everything a recipient
        sees (the compiled issue: the file, its templates, the settings that reach the
        body), the header values from newsletter.yaml, and who receives it (the topics)."""
        s = self.settings
        digest = hashlib.sha256()
        for part in (
            compiled.content_hash,
            s.sender.model_dump_json(),
            s.audience.model_dump_json(),
            str(s.public_url),
            s.greeting.model_dump_json() if s.greeting else "",
            ",".join(sorted(issue.topics)),
        ):
            digest.update(part.encode("utf-8"))
            digest.update(b"\0")
        return digest.hexdigest()

    def close(self) -> None:  # noqa: B027 - providers without resources have nothing to close
        """Release connections and files."""

    def __enter__(self) -> Provider:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # Campaigns: the shared flow

    def send_test(
        self, issue: Issue, recipients: Sequence[str], *, skip: frozenset[str] = frozenset()
    ) -> SendReport:
        """Send a copy to the given addresses only; marks nothing as sent."""
        self.require(Capability.TEST_SEND, "send a test copy")
        return self._send_test(issue, self.checked(issue, skip), recipients)

    def plan_send(
        self, issue: Issue, *, retry_failed: bool = False, skip: frozenset[str] = frozenset()
    ) -> SendPlan:
        """Who would receive the issue and whether anything stops the send."""
        self.require(Capability.SEND, "send a campaign")
        if retry_failed:
            self.require(Capability.RETRY_DEFERRED, "retry deferred recipients")
        compiled = self.checked(issue, skip, audience=not retry_failed)
        return self._plan_send(issue, compiled, retry_failed=retry_failed)

    def send(
        self,
        issue: Issue,
        *,
        resend: bool = False,
        retry_failed: bool = False,
        progress: Progress | None = None,
        stop: threading.Event | None = None,
        skip: frozenset[str] = frozenset(),
    ) -> SendReport:
        """Send to the audience, exactly once; refuses an issue already sent unless
        ``resend``. ``retry_failed``: only the recipients deferred by temporary refusals.
        ``skip``: rules (or families) whose errors are let through, recorded with the
        campaign.
        """
        self.require(Capability.SEND, "send a campaign")
        if retry_failed:
            self.require(Capability.RETRY_DEFERRED, "retry deferred recipients")
            if resend:
                raise ProviderError("--resend and --retry-failed cannot be used together")
        compiled = self.checked(issue, skip, audience=not retry_failed)
        if not (resend or retry_failed) and self.campaign_state(issue.slug) is CampaignState.SENT:
            raise ProviderError(self.already_sent(issue.slug))
        self._record_skipped(issue, skip)
        request = SendRequest(resend, retry_failed, progress, stop or threading.Event())
        return self._send(issue, compiled, request)

    def push(self, issue: Issue, *, skip: frozenset[str] = frozenset()) -> PushResult:
        """Create the issue's draft campaign with the provider, or bring it up to date."""
        self.require(Capability.DRAFTS, "keep a draft campaign")
        result = self._push(issue, self.checked(issue, skip))
        self._record_skipped(issue, skip)
        return result

    def schedule(
        self, issue: Issue, when: datetime, *, skip: frozenset[str] = frozenset()
    ) -> SendReport:
        """Approve the issue as it is now and have it sent at ``when``: by the provider
        itself (``SCHEDULE``) or by ``run-due`` (``RUN_DUE``)."""
        if Capability.SCHEDULE not in self.capabilities:
            self.require(Capability.RUN_DUE, "schedule a campaign")
        when = exact_instant(when)
        if when <= self.clock():
            raise ProviderError(f"{when:%Y-%m-%d %H:%M %Z} is in the past")
        report = self._schedule(issue, self.checked(issue, skip), when)
        self._record_skipped(issue, skip)
        return report

    def unschedule(self, issue: Issue) -> None:
        if Capability.SCHEDULE not in self.capabilities:
            self.require(Capability.RUN_DUE, "unschedule a campaign")
        self._unschedule(issue)

    def report(self, issue: Issue) -> CampaignReport:
        self.require(Capability.REPORTS, "report on a campaign")
        raise NotImplementedError

    def read_returns(
        self, mailbox: Mailbox, *, dry_run: bool = False, show: Shown | None = None
    ) -> InboundSummary:
        """Act on the bounces, complaints and mailto unsubscribes waiting in ``mailbox``."""
        self.require(Capability.INBOUND, "act on the bounce mailbox (it reads bounces itself)")
        raise NotImplementedError

    def already_sent(self, slug: str) -> str:
        """The refusal for an issue sent before; providers may add what else can be done."""
        return f"'{slug}' was already sent; pass --resend to send it to everyone again"

    @abstractmethod
    def campaign_state(self, slug: str) -> CampaignState | None:
        """What this provider recorded for the issue, or None if it never saw it."""

    def has_gone_out(self, slug: str) -> bool:
        """Whether anyone may have received the issue, so its web version may be shown."""
        return self.campaign_state(slug) in (CampaignState.SENDING, CampaignState.SENT)

    def skipped_checks(self, slug: str) -> frozenset[str]:
        """The checks skipped when the issue was last sent, scheduled or pushed."""
        return frozenset()

    # Campaigns: the provider's hooks, called after the shared rules

    def _record_skipped(self, issue: Issue, skip: frozenset[str]) -> None:  # noqa: B027
        """Keep ``skip`` with the campaign (every provider that keeps campaign rows does);
        an empty ``skip`` clears an earlier one."""

    @abstractmethod
    def _send_test(
        self, issue: Issue, compiled: CompiledIssue, recipients: Sequence[str]
    ) -> SendReport: ...

    @abstractmethod
    def _plan_send(
        self, issue: Issue, compiled: CompiledIssue, *, retry_failed: bool
    ) -> SendPlan: ...

    @abstractmethod
    def _send(self, issue: Issue, compiled: CompiledIssue, request: SendRequest) -> SendReport:
        """Send ``compiled`` (already through the gate) as ``request`` asks."""

    def _push(self, issue: Issue, compiled: CompiledIssue) -> PushResult:
        raise NotImplementedError

    def _schedule(self, issue: Issue, compiled: CompiledIssue, when: datetime) -> SendReport:
        raise NotImplementedError

    def _unschedule(self, issue: Issue) -> None:
        raise NotImplementedError

    # Audience: the shared flow

    def import_members(
        self,
        members: Iterable[MemberInput],
        *,
        resubscribe: bool = False,
        source: ChangeSource = ChangeSource.IMPORT,
    ) -> ImportReport:
        """Add or update members; never resubscribes an unsubscribed one unless asked.
        Members naming a topic the project does not define are rejected, not imported."""
        self.require(Capability.AUDIENCE, "keep an audience")
        screen = TopicScreen(self.settings.topic_ids)
        report = self._import_members(screen(members), resubscribe=resubscribe, source=source)
        return screen.merged(report)

    def set_topics(
        self, subscriber_id: str, topics: frozenset[str], *, source: ChangeSource
    ) -> Subscriber:
        unknown = topics - self.settings.topic_ids
        if unknown:
            raise ProviderError(f"unknown topic '{sorted(unknown)[0]}'")
        return self._set_topics(subscriber_id, frozenset(topics), source=source)

    def sync_topics(self) -> TopicSync:
        """Create the provider's groups for the project's topics, where missing."""
        self.require(Capability.TOPIC_SYNC, "keep topics as groups of its own")
        raise NotImplementedError

    def topic_counts(self) -> dict[str, int]:
        """Subscribed members per topic id, in one pass over the audience."""
        counts: dict[str, int] = {}
        for member in self.members(status=SubscriberStatus.SUBSCRIBED):
            for topic in member.topics:
                counts[topic] = counts.get(topic, 0) + 1
        return counts

    # Audience: the provider's hooks

    @abstractmethod
    def _import_members(
        self,
        members: Iterable[MemberInput],
        *,
        resubscribe: bool,
        source: ChangeSource,
    ) -> ImportReport:
        """Members whose topics are all known."""

    @abstractmethod
    def _set_topics(
        self, subscriber_id: str, topics: frozenset[str], *, source: ChangeSource
    ) -> Subscriber:
        """Topics already checked against the project's."""

    @abstractmethod
    def members(
        self, *, status: SubscriberStatus | None = None, topic: str | None = None
    ) -> Iterator[Subscriber]: ...

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
