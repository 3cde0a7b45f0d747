"""``MailchimpProvider``: campaigns, scheduling, reports and the audience through the
Marketing API. Mailchimp keeps the audience, the unsubscribes and the schedule; the
store keeps which remote campaign belongs to which issue."""

from __future__ import annotations

import getpass
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx
from sqlalchemy import Engine

from newsletter.approval import file_hashes
from newsletter.clock import Clock, utc_now
from newsletter.config import Settings
from newsletter.errors import ProviderAPIError, ProviderError, UnsupportedFeature
from newsletter.models import (
    CampaignState,
    Issue,
    SendReport,
    SendStatus,
    Subscriber,
    SubscriberStatus,
)
from newsletter.providers.base import (
    CampaignReport,
    Capability,
    ChangeSource,
    ImportReport,
    MemberInput,
    Provider,
    PushResult,
    SendPlan,
    SendRequest,
    TopicSync,
)
from newsletter.providers.mailchimp import campaign as payloads
from newsletter.providers.mailchimp.campaign import RemoteStatus
from newsletter.providers.mailchimp.client import MailchimpClient, outcome_unknown
from newsletter.providers.mailchimp.members import Members
from newsletter.providers.mailchimp.settings import MailchimpSettings
from newsletter.providers.mailchimp.tags import MAILCHIMP_TAGS
from newsletter.providers.mailchimp.topics import PAGE_SIZE, InterestGroups
from newsletter.render.compile import CompiledIssue
from newsletter.schedule_time import zone_name
from newsletter.store.campaigns import ProviderCampaigns, Schedule
from newsletter.store.database import engine_from_settings

READ_BACK = {
    RemoteStatus.SAVE: CampaignState.DRAFT,
    RemoteStatus.PAUSED: CampaignState.DRAFT,
    RemoteStatus.SCHEDULE: CampaignState.SCHEDULED,
    RemoteStatus.SENDING: CampaignState.SENDING,
    RemoteStatus.SENT: CampaignState.SENT,
    RemoteStatus.CANCELING: CampaignState.CANCELLED,
    RemoteStatus.CANCELED: CampaignState.CANCELLED,
}
"""Mailchimp's status as our campaign state; the others (archived, gone) leave it."""

APPLE_MAIL_NOTE = (
    "Opens are inflated: Apple Mail Privacy Protection loads every message's images, so "
    "many opens are machines, not readers. Clicks are the better signal."
)


class OutcomeUnknown(ProviderError):
    """An action may or may not have happened, and Mailchimp could not be asked which."""


@dataclass(frozen=True)
class RemoteCampaign:
    id: str
    status: RemoteStatus
    recipient_count: int = 0


class MailchimpProvider(Provider):
    name = "mailchimp"
    capabilities = frozenset(
        {
            Capability.TEST_SEND,
            Capability.SEND,
            Capability.SCHEDULE,
            Capability.DRAFTS,
            Capability.AUDIENCE,
            Capability.TOPICS,
            Capability.TOPIC_SYNC,
            Capability.PREFERENCES,
            Capability.REPORTS,
        }
    )
    merge_tags = MAILCHIMP_TAGS

    def __init__(
        self,
        settings: Settings,
        *,
        client: MailchimpClient | None = None,
        engine: Engine | None = None,
        transport: httpx.BaseTransport | None = None,
        clock: Clock = utc_now,
    ) -> None:
        super().__init__(settings, clock=clock)
        self.mailchimp = MailchimpSettings.for_project(settings)
        self._client = client
        self._transport = transport
        self._engine = engine
        self._owns_engine = False
        self._records: ProviderCampaigns | None = None
        self._groups: InterestGroups | None = None
        self._members: Members | None = None

    def __repr__(self) -> str:
        return f"MailchimpProvider(audience={self.mailchimp.audience_id!r})"

    # Parts made on first use, so a missing key fails only the commands that need it.

    @property
    def client(self) -> MailchimpClient:
        if self._client is None:
            self._client = MailchimpClient(
                self.mailchimp.key(), self.mailchimp.api_root(), transport=self._transport
            )
        return self._client

    @property
    def audience_id(self) -> str:
        return self.mailchimp.audience()

    @property
    def records(self) -> ProviderCampaigns:
        if self._records is None:
            if self._engine is None:
                self._engine = engine_from_settings(self.settings)
                self._owns_engine = True
            self._records = ProviderCampaigns(self._engine, self.name, self.clock)
        return self._records

    def skipped_checks(self, slug: str) -> frozenset[str]:
        record = self.records.get(slug)
        return record.skipped_checks if record else frozenset()

    def _record_skipped(self, issue: Issue, skip: frozenset[str]) -> None:
        self.records.record_skipped(issue.slug, issue.subject, skip)

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
        if self._owns_engine and self._engine is not None:
            self._engine.dispose()

    # Campaigns

    def locate(self, issue: Issue) -> RemoteCampaign | None:
        """The campaign pushed for this issue: by the stored id, else by its title."""
        record = self.records.get(issue.slug)
        if record is not None and record.remote_id:
            found = self._campaign(record.remote_id)
            if found is not None:
                return found
        answer = self.client.get(
            "/campaigns",
            list_id=self.audience_id,
            count=PAGE_SIZE,
            sort_field="create_time",
            sort_dir="DESC",
            fields="campaigns.id,campaigns.status,campaigns.settings.title,"
            "campaigns.recipients.recipient_count",
        )
        for item in answer.get("campaigns") or []:
            title = str((item.get("settings") or {}).get("title") or "")
            if payloads.title_matches(title, issue.slug):
                return _remote(item)
        return None

    def _campaign(self, remote_id: str) -> RemoteCampaign | None:
        try:
            answer = self.client.get(
                f"/campaigns/{remote_id}", fields="id,status,recipients.recipient_count"
            )
        except ProviderAPIError as exc:
            if exc.status == 404:
                return None
            raise
        return _remote({"id": remote_id, **answer})

    def _push(self, issue: Issue, compiled: CompiledIssue) -> PushResult:
        """Create the issue's draft campaign, or bring the existing draft up to date."""
        interests = self.groups.required() if issue.topics else None
        remote = self.locate(issue)
        if remote is not None:
            self._refuse_unless_editable(issue, remote)
        body = {
            "recipients": payloads.recipients(issue, self.audience_id, interests),
            "settings": payloads.campaign_settings(issue, self.settings),
        }
        if remote is None:
            answer = self.client.request(
                "POST", "/campaigns", json_body={"type": "regular", **body}
            )
            remote_id, created = str(answer["id"]), True
        else:
            self.client.request("PATCH", f"/campaigns/{remote.id}", json_body=body)
            remote_id, created = remote.id, False
        self.records.save(
            issue.slug, remote_id=remote_id, state=CampaignState.DRAFT, subject=issue.subject
        )
        self.client.request(
            "PUT", f"/campaigns/{remote_id}/content", json_body=payloads.content(compiled)
        )
        self.records.save(
            issue.slug,
            remote_id=remote_id,
            state=CampaignState.DRAFT,
            content_hash=compiled.content_hash,
        )
        return PushResult(remote_id, created)

    def _refuse_unless_editable(self, issue: Issue, remote: RemoteCampaign) -> None:
        if remote.status in payloads.SENT:
            raise ProviderError(
                f"'{issue.slug}' was already sent by Mailchimp (campaign {remote.id}); "
                "a sent campaign cannot change"
            )
        if remote.status is RemoteStatus.SCHEDULE:
            raise ProviderError(
                f"'{issue.slug}' is scheduled in Mailchimp; run: newsletter unschedule FILE, "
                "then try again"
            )

    def checklist_problems(self, remote_id: str) -> tuple[str, ...]:
        answer = self.client.get(f"/campaigns/{remote_id}/send-checklist")
        problems = tuple(
            ": ".join(
                part
                for part in (str(item.get("heading", "")), str(item.get("details", "")))
                if part
            )
            for item in answer.get("items") or []
            if item.get("type") == "error"
        )
        if not answer.get("is_ready") and not problems:
            problems = ("Mailchimp's send checklist says the campaign is not ready",)
        return problems if not answer.get("is_ready") else ()

    def _send_test(
        self, issue: Issue, compiled: CompiledIssue, recipients: Sequence[str]
    ) -> SendReport:
        if not recipients:
            raise ProviderError("name at least one address to send the test to")
        pushed = self._push(issue, compiled)
        for send_type in ("html", "plaintext"):
            self.client.request(
                "POST",
                f"/campaigns/{pushed.remote_id}/actions/test",
                json_body={"test_emails": list(recipients), "send_type": send_type},
            )
        return SendReport(
            status=SendStatus.SENT,
            campaign=issue.slug,
            provider=self.name,
            sent=len(recipients),
            message=f"test copies (HTML and plain text) sent to {', '.join(recipients)}",
            raw={"campaign_id": pushed.remote_id},
        )

    def _plan_send(self, issue: Issue, compiled: CompiledIssue, *, retry_failed: bool) -> SendPlan:
        """Pushes the draft first: Mailchimp counts and checks the campaign it holds."""
        audience = f"{self.settings.audience.name} (Mailchimp audience {self.audience_id})"
        remote = self.locate(issue)
        if remote is not None and remote.status in payloads.SENT:
            return SendPlan(
                slug=issue.slug,
                audience=audience,
                recipients=remote.recipient_count,
                topics=tuple(issue.topics),
                problems=(f"already sent by Mailchimp (campaign {remote.id})",),
                already_sent=remote.recipient_count or 1,
            )
        pushed = self._push(issue, compiled)
        problems = self.checklist_problems(pushed.remote_id)
        remote = self._campaign(pushed.remote_id)
        return SendPlan(
            slug=issue.slug,
            audience=audience,
            recipients=remote.recipient_count if remote else 0,
            topics=tuple(issue.topics),
            problems=problems,
        )

    def campaign_state(self, slug: str) -> CampaignState | None:
        record = self.records.get(slug)
        return record.state if record else None

    def _send(self, issue: Issue, compiled: CompiledIssue, request: SendRequest) -> SendReport:
        remote = self.locate(issue)
        if remote is not None and remote.status in payloads.SENT:
            if request.resend:
                raise UnsupportedFeature(
                    "Mailchimp cannot send a sent campaign again; replicate it in Mailchimp"
                )
            raise ProviderError(f"'{issue.slug}' was already sent by Mailchimp ({remote.id})")
        pushed = self._push(issue, compiled)
        problems = self.checklist_problems(pushed.remote_id)
        if problems:
            raise ProviderError(f"Mailchimp will not send '{issue.slug}': {'; '.join(problems)}")
        self.records.save(issue.slug, remote_id=pushed.remote_id, state=CampaignState.SENDING)
        try:
            status = self._act(
                pushed.remote_id,
                "send",
                None,
                accepted=payloads.SENT,
                answered=RemoteStatus.SENDING,
            )
        except OutcomeUnknown:
            raise
        except ProviderError:
            self.records.save(issue.slug, remote_id=pushed.remote_id, state=CampaignState.DRAFT)
            raise
        self.records.save(issue.slug, remote_id=pushed.remote_id, state=CampaignState.SENT)
        remote = self._campaign(pushed.remote_id)
        count = remote.recipient_count if remote else 0
        if request.progress:
            request.progress(count, count)
        return SendReport(
            status=SendStatus.SENT if status is RemoteStatus.SENT else SendStatus.QUEUED,
            campaign=issue.slug,
            provider=self.name,
            sent=count,
            message=f"Mailchimp is sending '{issue.slug}' to {count} recipients",
            raw={"campaign_id": pushed.remote_id, "status": status},
        )

    def _act(
        self,
        remote_id: str,
        action: str,
        body: dict[str, Any] | None,
        *,
        accepted: frozenset[RemoteStatus],
        answered: RemoteStatus = RemoteStatus.UNKNOWN,
    ) -> RemoteStatus:
        """Send an action once; when the outcome is unknown, the campaign's status decides.

        Returns ``answered`` when Mailchimp accepted the action, else the status read.
        """
        try:
            self.client.request(
                "POST", f"/campaigns/{remote_id}/actions/{action}", json_body=body, idempotent=False
            )
        except ProviderAPIError as exc:
            if not outcome_unknown(exc):
                raise
            try:
                remote = self._campaign(remote_id)
            except ProviderAPIError as read_error:
                raise OutcomeUnknown(
                    f"{exc}; reading the campaign's status failed too ({read_error}): check "
                    f"campaign {remote_id} in Mailchimp before trying again"
                ) from None
            status = remote.status if remote else RemoteStatus.MISSING
            if status in accepted:
                return status
            raise ProviderError(
                f"{exc}; Mailchimp shows the campaign as '{status}', so the {action} did "
                "not happen: run the command again"
            ) from None
        return answered

    def _schedule(self, issue: Issue, compiled: CompiledIssue, when: datetime) -> SendReport:
        at = payloads.quarter_hour_utc(when, self.settings)
        if at <= self.clock():
            raise ProviderError(f"{at:%Y-%m-%d %H:%M} UTC is in the past")
        remote = self.locate(issue)
        if remote is not None and remote.status is RemoteStatus.SCHEDULE:
            self._act(remote.id, "unschedule", None, accepted=payloads.DRAFT)
        pushed = self._push(issue, compiled)
        problems = self.checklist_problems(pushed.remote_id)
        if problems:
            raise ProviderError(
                f"Mailchimp will not schedule '{issue.slug}': {'; '.join(problems)}"
            )
        self._act(
            pushed.remote_id,
            "schedule",
            {"schedule_time": at.isoformat()},
            accepted=frozenset({RemoteStatus.SCHEDULE}),
        )
        record = self.records.get(issue.slug)
        self.records.save(
            issue.slug,
            remote_id=pushed.remote_id,
            state=CampaignState.SCHEDULED,
            content_hash=record.content_hash if record else None,
            scheduled_at=at,
            schedule=Schedule(
                at,
                zone_name(when),
                getpass.getuser(),
                self.approval_hash(issue, compiled),
                file_hashes(self.settings, issue.slug),
            ),
        )
        return SendReport(
            status=SendStatus.SCHEDULED,
            campaign=issue.slug,
            provider=self.name,
            message=f"Mailchimp will send '{issue.slug}' at {at:%Y-%m-%d %H:%M} UTC",
            raw={"campaign_id": pushed.remote_id, "schedule_time": at.isoformat()},
        )

    def unschedule(self, issue: Issue) -> None:
        record = self.records.get(issue.slug)
        remote_id = record.remote_id if record else None
        if record is None or record.state is not CampaignState.SCHEDULED or not remote_id:
            remote = self.locate(issue)
            if remote is None:
                raise ProviderError(f"'{issue.slug}' has not been pushed to Mailchimp")
            if remote.status in payloads.SENT:
                raise ProviderError(f"'{issue.slug}' was already sent by Mailchimp")
            if remote.status is not RemoteStatus.SCHEDULE:
                return
            remote_id = remote.id
        self._act(remote_id, "unschedule", None, accepted=payloads.DRAFT)
        self.records.save(issue.slug, remote_id=remote_id, state=CampaignState.DRAFT)

    def read_back(self) -> list[tuple[str, CampaignState, CampaignState]]:
        """Each scheduled or sending campaign's state as Mailchimp reports it now, kept
        in the store: (slug, before, after) for those that moved on."""
        moved = []
        for record in self.records.in_progress():
            remote = self._campaign(record.remote_id) if record.remote_id else None
            state = READ_BACK.get(remote.status) if remote is not None else None
            if state is None or state is record.state:
                continue
            assert record.remote_id is not None
            self.records.save(
                record.slug,
                remote_id=record.remote_id,
                state=state,
                scheduled_at=record.scheduled_utc,
            )
            moved.append((record.slug, record.state, state))
        return moved

    def report(self, issue: Issue) -> CampaignReport:
        remote = self.locate(issue)
        if remote is None:
            raise ProviderError(f"'{issue.slug}' has not been pushed to Mailchimp")
        try:
            answer = self.client.get(
                f"/reports/{remote.id}",
                fields="id,emails_sent,opens,clicks,bounces,unsubscribed,send_time",
            )
        except ProviderAPIError as exc:
            if exc.status == 404:
                raise ProviderError(f"'{issue.slug}' has not been sent; no report yet") from None
            raise
        opens = answer.get("opens") or {}
        clicks = answer.get("clicks") or {}
        bounces = answer.get("bounces") or {}
        return CampaignReport(
            slug=issue.slug,
            sent=int(answer.get("emails_sent") or 0),
            opens=_int(opens.get("unique_opens")),
            clicks=_int(clicks.get("unique_subscriber_clicks")),
            bounces=sum(
                int(bounces.get(kind) or 0)
                for kind in ("hard_bounces", "soft_bounces", "syntax_errors")
            ),
            unsubscribes=_int(answer.get("unsubscribed")),
            notes=(APPLE_MAIL_NOTE,),
            raw=answer,
        )

    # Topics

    @property
    def groups(self) -> InterestGroups:
        if self._groups is None:
            self._groups = InterestGroups(self.client, self.audience_id, self.settings)
        return self._groups

    def sync_topics(self) -> TopicSync:
        self.require(Capability.TOPIC_SYNC, "keep topics as groups of its own")
        return self.groups.sync()

    # Audience

    @property
    def audience(self) -> Members:
        if self._members is None:
            self._members = Members(
                self.client, self.audience_id, self.settings, self.groups, self.clock
            )
        return self._members

    def _import_members(
        self,
        members: Iterable[MemberInput],
        *,
        resubscribe: bool,
        source: ChangeSource,
    ) -> ImportReport:
        """No note per member: a note is one call each, and imports go 500 to a call."""
        return self.audience.import_members(members, resubscribe=resubscribe)

    def members(
        self, *, status: SubscriberStatus | None = None, topic: str | None = None
    ) -> Iterator[Subscriber]:
        return self.audience.list(status=status, topic=topic)

    def find_by_email(self, email: str) -> Subscriber | None:
        return self.audience.find_by_email(email)

    def get_subscriber(self, subscriber_id: str) -> Subscriber | None:
        return self.audience.get(subscriber_id)

    def unsubscribe(
        self, subscriber_id: str, *, source: ChangeSource, note: str = ""
    ) -> Subscriber:
        """A change is recorded as a note on the Mailchimp member (time, source, note)."""
        return self.audience.set_status(
            subscriber_id, SubscriberStatus.UNSUBSCRIBED, "Unsubscribed", source=source, note=note
        )

    def resubscribe(
        self, subscriber_id: str, *, source: ChangeSource, note: str = ""
    ) -> Subscriber:
        return self.audience.set_status(
            subscriber_id, SubscriberStatus.SUBSCRIBED, "Subscribed again", source=source, note=note
        )

    def _set_topics(
        self, subscriber_id: str, topics: frozenset[str], *, source: ChangeSource
    ) -> Subscriber:
        return self.audience.set_topics(subscriber_id, topics, source=source)


def _remote(item: dict[str, Any]) -> RemoteCampaign:
    recipients = item.get("recipients") or {}
    return RemoteCampaign(
        id=str(item["id"]),
        status=RemoteStatus.read(str(item.get("status") or "")),
        recipient_count=int(recipients.get("recipient_count") or 0),
    )


def _int(value: object) -> int | None:
    return int(value) if isinstance(value, int | float) else None
