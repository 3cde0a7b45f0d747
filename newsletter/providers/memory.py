"""An in-process provider: the audience in a dict, sent messages in a list.

Used by tests and by ``--dry-run``: it goes through the same steps as a real send
(compile once, fill each recipient's slots) and keeps what it would have delivered.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime

from newsletter.checks import Reach
from newsletter.clock import Clock, utc_now
from newsletter.config import Settings
from newsletter.errors import ProviderError
from newsletter.links import LinkBuilder
from newsletter.models import (
    CampaignState,
    Issue,
    SendReport,
    SendStatus,
    Subscriber,
    SubscriberStatus,
)
from newsletter.providers.base import (
    Capability,
    ChangeSource,
    ImportReport,
    MemberInput,
    Provider,
    SendPlan,
    SendRequest,
)
from newsletter.render.compile import CompiledIssue
from newsletter.render.merge import LOCAL_TAGS, Recipient, SlotTemplate


@dataclass(frozen=True)
class SentMessage:
    slug: str
    to: str
    subject: str
    html: str
    text: str
    test: bool = False


@dataclass(frozen=True)
class Change:
    subscriber_id: str
    what: str
    source: ChangeSource
    at: datetime
    note: str = ""


class MemoryProvider(Provider):
    name = "memory"
    capabilities = frozenset(
        {
            Capability.TEST_SEND,
            Capability.SEND,
            Capability.AUDIENCE,
            Capability.TOPICS,
            Capability.PREFERENCES,
        }
    )
    merge_tags = LOCAL_TAGS

    def __init__(self, settings: Settings, *, clock: Clock = utc_now) -> None:
        super().__init__(settings, clock=clock)
        self.subscribers: dict[str, Subscriber] = {}
        self.sent: list[SentMessage] = []
        self.sent_issues: set[str] = set()
        self.changes: list[Change] = []
        self.skipped: dict[str, frozenset[str]] = {}
        self._ids = (f"m{n:06d}" for n in itertools.count(1))

    def _recipient(self, subscriber: Subscriber, slug: str) -> Recipient:
        """Signed links when a secret is configured; readable placeholders otherwise."""
        if self.settings.secrets:
            links = LinkBuilder.from_settings(self.settings)
            return links.recipient(
                subscriber.id, subscriber.email, subscriber.first_name, subscriber.last_name, slug
            )
        base = self.settings.public_url.rstrip("/")
        return Recipient(
            email=subscriber.email,
            first_name=subscriber.first_name,
            last_name=subscriber.last_name,
            unsubscribe_url=f"{base}/unsubscribe/{subscriber.id}",
            preferences_url=f"{base}/preferences/{subscriber.id}",
            archive_url=f"{base}/archive/{slug}",
            about_url=f"{base}/about",
        )

    def _deliver(
        self,
        issue: Issue,
        compiled: CompiledIssue,
        subscribers: Iterable[Subscriber],
        *,
        test: bool,
    ) -> int:
        html = SlotTemplate(compiled.html, html_escape=True)
        text = SlotTemplate(compiled.text, html_escape=False)
        count = 0
        for subscriber in subscribers:
            values = self._recipient(subscriber, issue.slug).values(self.settings.greeting)
            self.sent.append(
                SentMessage(
                    issue.slug,
                    subscriber.email,
                    compiled.subject,
                    html.fill(values),
                    text.fill(values),
                    test,
                )
            )
            count += 1
        return count

    def _audience(self, issue: Issue) -> list[Subscriber]:
        wanted = set(issue.topics)
        return [
            s
            for s in self.subscribers.values()
            if s.status is SubscriberStatus.SUBSCRIBED and (not wanted or wanted & s.topics)
        ]

    def reach(self, issue: Issue) -> Reach:
        wanted = set(issue.topics)
        subscribed = [
            s for s in self.subscribers.values() if s.status is SubscriberStatus.SUBSCRIBED
        ]
        reached = sum(1 for s in subscribed if not wanted or wanted & s.topics)
        no_topic = sum(1 for s in subscribed if wanted and not s.topics)
        other = len(subscribed) - reached - no_topic
        return Reach(len(subscribed), reached, no_topic, other, tuple(issue.topics))

    def _send_test(
        self, issue: Issue, compiled: CompiledIssue, recipients: Sequence[str]
    ) -> SendReport:
        people = [
            self.find_by_email(email) or Subscriber(id=f"test-{uuid.uuid4().hex}", email=email)
            for email in recipients
        ]
        sent = self._deliver(issue, compiled, people, test=True)
        return SendReport(
            status=SendStatus.SENT, campaign=issue.slug, provider=self.name, sent=sent
        )

    def _plan_send(self, issue: Issue, compiled: CompiledIssue, *, retry_failed: bool) -> SendPlan:
        return SendPlan(
            slug=issue.slug,
            audience=self.settings.audience.name,
            recipients=len(self._audience(issue)),
            topics=tuple(issue.topics),
            already_sent=1 if issue.slug in self.sent_issues else 0,
        )

    def campaign_state(self, slug: str) -> CampaignState | None:
        return CampaignState.SENT if slug in self.sent_issues else None

    def skipped_checks(self, slug: str) -> frozenset[str]:
        return self.skipped.get(slug, frozenset())

    def _record_skipped(self, issue: Issue, skip: frozenset[str]) -> None:
        self.skipped[issue.slug] = skip

    def _send(self, issue: Issue, compiled: CompiledIssue, request: SendRequest) -> SendReport:
        audience = self._audience(issue)
        sent = self._deliver(issue, compiled, audience, test=False)
        if request.progress:
            request.progress(sent, len(audience))
        self.sent_issues.add(issue.slug)
        return SendReport(
            status=SendStatus.SENT, campaign=issue.slug, provider=self.name, sent=sent
        )

    def _import_members(
        self,
        members: Iterable[MemberInput],
        *,
        resubscribe: bool,
        source: ChangeSource,
    ) -> ImportReport:
        added = updated = unchanged = kept = 0
        for member in members:
            existing = self.find_by_email(member.email)
            if existing is None:
                subscriber = Subscriber(
                    id=next(self._ids),
                    email=member.email,
                    first_name=member.first_name,
                    last_name=member.last_name,
                    topics=member.topics_given(frozenset()),
                )
                self.subscribers[subscriber.id] = subscriber
                self._log(subscriber.id, "subscribed", source)
                added += 1
                continue
            status = existing.status
            if status is not SubscriberStatus.SUBSCRIBED and not resubscribe:
                kept += 1
                continue
            updated_subscriber = existing.model_copy(
                update={
                    "first_name": member.first_name or existing.first_name,
                    "last_name": member.last_name or existing.last_name,
                    "topics": member.topics_given(existing.topics) or existing.topics,
                    "status": SubscriberStatus.SUBSCRIBED,
                }
            )
            if updated_subscriber == existing:
                unchanged += 1
            else:
                self.subscribers[existing.id] = updated_subscriber
                self._log(existing.id, "updated", source)
                updated += 1
        return ImportReport(added, updated, unchanged, kept)

    def members(
        self, *, status: SubscriberStatus | None = None, topic: str | None = None
    ) -> Iterator[Subscriber]:
        for subscriber in self.subscribers.values():
            if status is not None and subscriber.status is not status:
                continue
            if topic is not None and topic not in subscriber.topics:
                continue
            yield subscriber

    def find_by_email(self, email: str) -> Subscriber | None:
        wanted = email.strip().lower()
        return next((s for s in self.subscribers.values() if s.email.lower() == wanted), None)

    def get_subscriber(self, subscriber_id: str) -> Subscriber | None:
        return self.subscribers.get(subscriber_id)

    def _change(
        self, subscriber_id: str, what: str, source: ChangeSource, note: str, **update: object
    ) -> Subscriber:
        subscriber = self.subscribers.get(subscriber_id)
        if subscriber is None:
            raise ProviderError(f"no subscriber with id '{subscriber_id}'")
        changed = subscriber.model_copy(update=update)
        if changed != subscriber:
            self.subscribers[subscriber_id] = changed
            self._log(subscriber_id, what, source, note)
        return changed

    def _log(self, subscriber_id: str, what: str, source: ChangeSource, note: str = "") -> None:
        self.changes.append(Change(subscriber_id, what, source, self.clock(), note))

    def unsubscribe(
        self, subscriber_id: str, *, source: ChangeSource, note: str = ""
    ) -> Subscriber:
        return self._change(
            subscriber_id, "unsubscribed", source, note, status=SubscriberStatus.UNSUBSCRIBED
        )

    def resubscribe(
        self, subscriber_id: str, *, source: ChangeSource, note: str = ""
    ) -> Subscriber:
        return self._change(
            subscriber_id, "resubscribed", source, note, status=SubscriberStatus.SUBSCRIBED
        )

    def _set_topics(
        self, subscriber_id: str, topics: frozenset[str], *, source: ChangeSource
    ) -> Subscriber:
        return self._change(
            subscriber_id,
            f"topics={','.join(sorted(topics))}",
            source,
            "",
            topics=frozenset(topics),
        )
