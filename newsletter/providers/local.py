"""The built-in provider: the audience in SQL, delivery over SMTP or into a Maildir outbox.

Works with no account and no server: SQLite by default, and without
``NEWSLETTER_SMTP_URL`` messages are written to the outbox folder.
"""

from __future__ import annotations

import csv
import dataclasses
import getpass
import secrets
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import IntegrityError

from newsletter.approval import file_hashes
from newsletter.checks import Delivery, Reach
from newsletter.clock import Clock, utc_now
from newsletter.config import Settings
from newsletter.delivery.dkim_keys import signer_from_settings
from newsletter.delivery.engine import (
    MessageSender,
    PreparedRun,
    RecipientFactory,
    RunResult,
    SendOptions,
)
from newsletter.delivery.maildir import MaildirOutbox
from newsletter.delivery.message import MessageTemplate, message_id, unsubscribe_mailto
from newsletter.delivery.outcome import Released, end_state, next_steps, report_status
from newsletter.delivery.smtp import SmtpServer
from newsletter.delivery.transport import Transport
from newsletter.errors import CampaignBusy, DeliveryError, ProviderError
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
    CampaignReport,
    Capability,
    ChangeSource,
    ImportReport,
    MemberInput,
    Provider,
    SendPlan,
    SendRequest,
)
from newsletter.render.compile import CompiledIssue
from newsletter.render.merge import LOCAL_TAGS, Recipient
from newsletter.returns.addresses import TEST_CAMPAIGN, ReturnAddresses
from newsletter.schedule_time import zone_name
from newsletter.store import campaigns, deliveries
from newsletter.store import reach as reach_store
from newsletter.store import returns as returns_store
from newsletter.store import subscribers as store
from newsletter.store import topics as topics_store
from newsletter.store.database import is_postgresql, open_database
from newsletter.store.deliveries import AudienceRow, DeliveryStatus, Selection
from newsletter.store.idle import sqlite_file
from newsletter.store.subscribers import ImportCounts, NewMember
from newsletter.store.workers import Lease

if TYPE_CHECKING:
    from newsletter.returns.inbound import InboundSummary, Shown
    from newsletter.returns.mailbox import Mailbox

IMPORT_BATCH = 500
IMPORT_TRIES = 3
NO_BOUNCE_MAILBOX = (
    "no bounce_address is set: only bounces and complaints that quote a message's "
    "Message-ID can be counted"
)


class LocalProvider(Provider):
    name = "local"
    capabilities = frozenset(
        {
            Capability.TEST_SEND,
            Capability.SEND,
            Capability.RETRY_DEFERRED,
            Capability.RUN_DUE,
            Capability.AUDIENCE,
            Capability.TOPICS,
            Capability.PREFERENCES,
            Capability.REPORTS,
            Capability.INBOUND,
        }
    )
    merge_tags = LOCAL_TAGS

    def __init__(self, settings: Settings, *, clock: Clock = utc_now) -> None:
        super().__init__(settings, clock=clock)
        self._engine: Engine | None = None

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            self._engine = open_database(self.settings)
        return self._engine

    def close(self) -> None:
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None

    def campaign_state(self, slug: str) -> CampaignState | None:
        with self.engine.connect() as connection:
            campaign = campaigns.get(connection, self.name, slug)
        return campaign.state if campaign else None

    def delivery(self) -> Delivery:
        """Each message carries List-Unsubscribe with its one-click POST, and a DKIM
        signature when a key is configured."""
        s = self.settings
        signing = s.dkim_domain is not None and s.dkim_key_file is not None
        return Delivery(
            self.name,
            self.merge_tags,
            list_unsubscribe_header=True,
            dkim_domain=str(s.dkim_domain) if signing else None,
            returns_handled=s.bounce_address is not None,
        )

    def reach(self, issue: Issue) -> Reach | None:
        """None where the store was never made (a checkout without the audience, as in
        CI): whom the issue reaches is unknown there, and making an empty store would not
        tell."""
        if self._engine is None:
            url = self.settings.database_url.get_secret_value()
            path = sqlite_file(url, self.settings.root)
            if path is not None and not path.exists():
                return None
        with self.engine.connect() as connection:
            return reach_store.count(connection, issue.topics)

    def skipped_checks(self, slug: str) -> frozenset[str]:
        with self.engine.connect() as connection:
            campaign = campaigns.get(connection, self.name, slug)
        return campaign.skipped_checks if campaign else frozenset()

    def _record_skipped(self, issue: Issue, skip: frozenset[str]) -> None:
        with self.engine.begin() as connection:
            campaigns.record_skipped(
                connection, self.name, (issue.slug, issue.subject), skip, self.clock()
            )

    def already_sent(self, slug: str) -> str:
        with self.engine.connect() as connection:
            campaign = campaigns.get(connection, self.name, slug)
            counts = deliveries.counts(connection, campaign.id) if campaign else {}
        deferred = counts.get(DeliveryStatus.DEFERRED, 0)
        hint = (
            f"; {deferred:,} deferred recipient(s) can be tried again with --retry-failed"
            if deferred
            else ""
        )
        return super().already_sent(slug) + hint

    def has_gone_out(self, slug: str) -> bool:
        """Sent, or stopped after at least one message went out: a send that delivered
        nothing publishes nothing."""
        with self.engine.connect() as connection:
            campaign = campaigns.get(connection, self.name, slug)
            if campaign is None or campaign.state is CampaignState.DRAFT:
                return False
            if campaign.state is CampaignState.SENT:
                return True
            return deliveries.counts(connection, campaign.id).get(DeliveryStatus.SENT, 0) > 0

    # What comes back, and what it adds up to per issue

    def read_returns(
        self, mailbox: Mailbox, *, dry_run: bool = False, show: Shown | None = None
    ) -> InboundSummary:
        from newsletter.returns.inbound import process
        from newsletter.returns.policy import Limits

        return process(
            self.engine,
            mailbox,
            ReturnAddresses.from_settings(self.settings),
            Limits.from_settings(self.settings),
            self.clock(),
            dry_run=dry_run,
            show=show,
        )

    def report(self, issue: Issue) -> CampaignReport:
        """Sent, refused during the send, bounced (hard and soft, from the bounce
        mailbox), complaints and unsubscribes (any way, after this issue and before the
        member's next)."""
        with self.engine.connect() as connection:
            campaign = campaigns.get(connection, self.name, issue.slug)
            if campaign is None or campaign.state is CampaignState.DRAFT:
                raise ProviderError(f"'{issue.slug}' has not been sent; no report yet")
            sent = deliveries.counts(connection, campaign.id)
            came_back = returns_store.counts(connection, campaign.id)
            unsubscribes = returns_store.unsubscribes_after(connection, campaign.id)
        hard = came_back.get("hard-bounce", 0)
        soft = came_back.get("soft-bounce", 0)
        notes = () if self.settings.bounce_address else (NO_BOUNCE_MAILBOX,)
        return CampaignReport(
            slug=issue.slug,
            sent=sent.get(DeliveryStatus.SENT, 0) + sent.get(DeliveryStatus.UNCERTAIN, 0),
            failed=sent.get(DeliveryStatus.FAILED, 0),
            bounces=hard + soft,
            hard_bounces=hard,
            soft_bounces=soft,
            complaints=came_back.get("complaint", 0),
            unsubscribes=unsubscribes,
            notes=notes,
        )

    # Schedules, kept in the store; ``newsletter run-due`` sends what is due

    def _schedule(self, issue: Issue, compiled: CompiledIssue, when: datetime) -> SendReport:
        now = self.clock()
        approved = self.approval_hash(issue, compiled)
        files = file_hashes(self.settings, issue.slug)
        plan = campaigns.Schedule(when, zone_name(when), getpass.getuser(), approved, files)
        slug = issue.slug
        with self.engine.begin() as connection:
            campaign = campaigns.get_or_create(connection, self.name, slug, issue.subject, now)
            if not campaigns.set_schedule(connection, campaign.id, plan, now):
                raise ProviderError(
                    f"'{issue.slug}' cannot be scheduled: it is {campaign.state.value}"
                )
        local = when.astimezone(self.settings.zone)
        return SendReport(
            status=SendStatus.SCHEDULED,
            campaign=issue.slug,
            provider=self.name,
            state=CampaignState.SCHEDULED,
            message=(
                f"Scheduled '{issue.slug}' for {local:%Y-%m-%d %H:%M %Z} "
                f"({when.astimezone(UTC):%Y-%m-%d %H:%M} UTC); newsletter run-due sends it "
                "then, as it is now"
            ),
            raw={"scheduled_at": when.astimezone(UTC).isoformat(), "by": plan.by},
        )

    def _unschedule(self, issue: Issue) -> None:
        with self.engine.begin() as connection:
            campaign = campaigns.get(connection, self.name, issue.slug)
            if campaign is None or campaign.state is CampaignState.DRAFT:
                return
            if not campaigns.clear_schedule(connection, campaign.id, self.clock()):
                raise ProviderError(
                    f"'{issue.slug}' cannot be unscheduled: it is {campaign.state.value}"
                )

    # Delivery set-up

    def transport(self) -> Transport:
        """SMTP when ``NEWSLETTER_SMTP_URL`` is set, otherwise the Maildir outbox."""
        url = self._smtp_url()
        if url:
            return SmtpServer.from_url(url, timeout=self.settings.smtp_timeout)
        return MaildirOutbox(self.settings.resolve(self.settings.outbox))

    def _smtp_url(self) -> str:
        return self.settings.smtp_url.get_secret_value() if self.settings.smtp_url else ""

    def options(self) -> SendOptions:
        s = self.settings
        return SendOptions(
            connections=s.connections if self._smtp_url() else 1,
            rate=s.rate,
            retries=s.smtp_retries,
            retry_delay=s.smtp_retry_delay,
            give_up_after=s.smtp_give_up_after,
            max_failures_in_a_row=s.max_failures_in_a_row,
        )

    def _recipients(self, slug: str, campaign_id: int = TEST_CAMPAIGN) -> RecipientFactory:
        """Each row's recipient with its signed links, the mailto: half of its
        List-Unsubscribe and its return path. With a ``bounce_address`` both addresses
        are signed ones on that mailbox (see ``returns.addresses``); without, the mailto
        goes to the reply-to address naming the link's token, and the sender is From."""
        links = LinkBuilder.from_settings(self.settings)
        settings = self.settings
        returns = ReturnAddresses.from_settings(settings)
        sender = settings.sender.from_email

        def recipient(row: AudienceRow) -> tuple[Recipient, str, str]:
            person = links.recipient(row.id, row.email, row.first_name, row.last_name, slug)
            if returns is not None:
                mailto = returns.unsubscribe_mailto(row.id, campaign_id)
                return person, mailto, returns.return_path(row.id, campaign_id)
            token = person.unsubscribe_url.rpartition("/")[2]
            return person, unsubscribe_mailto(settings, token), sender

        return recipient

    # Campaigns

    def _send_test(
        self, issue: Issue, compiled: CompiledIssue, recipients: Sequence[str]
    ) -> SendReport:
        template = MessageTemplate(compiled, self.settings, subject_prefix="[Test] ")
        transport = self.transport()
        run = secrets.token_hex(4)
        failures: list[str] = []
        sender = MessageSender(
            template,
            self._recipients(issue.slug),
            self.options(),
            signer_from_settings(self.settings),
        )
        channel = transport.open()
        try:
            for number, address in enumerate(recipients):
                known = self.find_by_email(address)
                row = AudienceRow(
                    known.id if known else "test",
                    address,
                    known.first_name if known else "",
                    known.last_name if known else "",
                )
                msg_id = message_id(f"test.{run}", f"{number}", template.domain)
                outcome = sender.deliver(channel, row, msg_id)
                if outcome.status is not DeliveryStatus.SENT:
                    failures.append(f"{address}: {outcome.error}")
        finally:
            channel.close()
        sent = len(recipients) - len(failures)
        return SendReport(
            status=SendStatus.SENT if not failures else SendStatus.PARTIAL,
            campaign=issue.slug,
            provider=self.name,
            sent=sent,
            failed=len(failures),
            message="; ".join(failures) or f"test copies sent through {transport.description}",
        )

    def _plan_send(self, issue: Issue, compiled: CompiledIssue, *, retry_failed: bool) -> SendPlan:
        LinkBuilder.from_settings(self.settings)
        selection = Selection.DEFERRED if retry_failed else Selection.REMAINING
        with self.engine.begin() as connection:
            campaign = campaigns.get(connection, self.name, issue.slug)
            campaign_id = campaign.id if campaign else -1
            remaining = deliveries.Audience(campaign_id, issue.topics, selection).count(connection)
            done = deliveries.counts(connection, campaign_id) if campaign else {}
        problems: list[str] = []
        if (
            campaign is not None
            and campaign.state is CampaignState.SENDING
            and not self.shares_sends
            and not campaigns.owner_is_gone(campaign, self.clock())
        ):
            problems.append(f"it is being sent right now by {campaign.owner}")
        return SendPlan(
            slug=issue.slug,
            audience=self.settings.audience.name,
            recipients=remaining,
            topics=tuple(issue.topics),
            problems=tuple(problems),
            already_sent=done.get(DeliveryStatus.SENT, 0),
            deferred=done.get(DeliveryStatus.DEFERRED, 0),
            finished=campaign is not None and campaign.state is CampaignState.SENT,
            destination=self.transport().description,
        )

    @property
    def shares_sends(self) -> bool:
        """Whether several processes may send one campaign together: on PostgreSQL
        (``store.workers``); SQLite takes one sending process at a time."""
        return is_postgresql(self.engine)

    def _send(self, issue: Issue, compiled: CompiledIssue, request: SendRequest) -> SendReport:
        """Claim the campaign (on PostgreSQL: join whoever else sends it), run the
        workers, release it with its new state, report."""
        run = self._prepare_run(issue, compiled)
        lease = Lease(self.engine, self.name, issue.slug) if self.shares_sends else None
        try:
            return self._send_run(issue, run, request, lease)
        finally:
            if lease is not None:
                lease.close()

    def _send_run(
        self, issue: Issue, run: PreparedRun, request: SendRequest, lease: Lease | None
    ) -> SendReport:
        selection = Selection.DEFERRED if request.retry_failed else Selection.REMAINING
        owner = campaigns.this_process()
        now = self.clock()
        with self.engine.begin() as connection:
            claim = self._claim(connection, issue, run.content_hash, owner, request, now, lease)
            uncertain_now = self._in_flight_left(connection, claim.id, now, lease)
            before = deliveries.counts(connection, claim.id)
            audience = deliveries.Audience(claim.id, issue.topics, selection)
            total = audience.count(connection)
        progress = request.progress
        run = dataclasses.replace(run, recipient=self._recipients(issue.slug, claim.id))
        try:
            workers = run.start(self.engine, audience, self._heartbeat(claim.id, owner), lease)
            result = workers.run(
                (lambda done: progress(done, total)) if progress else None, request.stop
            )
        except Exception as exc:
            self._release(claim.id, issue, owner, RunResult(), fatal=exc, lease=lease)
            raise
        outcome = self._release(claim.id, issue, owner, result, lease=lease)
        uncertain_now += workers.recovered
        return self._report(issue, run.description, result, outcome, before, uncertain_now)

    def _in_flight_left(
        self, connection: Connection, campaign_id: int, now: datetime, lease: Lease | None
    ) -> int:
        """Messages a stopped send left in flight become uncertain, and its reservations
        pending. While other workers send the campaign they may be theirs: the last
        worker sees to them then."""
        if lease is not None and not lease.only_worker():
            return 0
        try:
            deliveries.release_reserved(connection, campaign_id)
            return deliveries.mark_in_flight_uncertain(connection, campaign_id, now)
        finally:
            if lease is not None:
                lease.share()

    def _prepare_run(self, issue: Issue, compiled: CompiledIssue) -> PreparedRun:
        """Everything a run needs that can fail before anything is claimed."""
        return PreparedRun(
            slug=issue.slug,
            content_hash=compiled.content_hash,
            template=MessageTemplate(compiled, self.settings),
            recipient=self._recipients(issue.slug),
            transport=self.transport(),
            signer=signer_from_settings(self.settings),
            options=self.options(),
            clock=self.clock,
        )

    def _heartbeat(self, campaign_id: int, owner: str) -> Callable[[Connection], None]:
        def beat(connection: Connection) -> None:
            campaigns.heartbeat(connection, campaign_id, owner, self.clock())

        return beat

    def _claim(
        self,
        connection: Connection,
        issue: Issue,
        content_hash: str,
        owner: str,
        request: SendRequest,
        now: datetime,
        lease: Lease | None = None,
    ) -> campaigns.Campaign:
        """The campaign, claimed for sending; ``lease``: joined beside other workers."""
        campaign = campaigns.get_or_create(connection, self.name, issue.slug, issue.subject, now)
        if campaign.state is CampaignState.SENT and not request.retry_failed:
            if not request.resend:
                raise ProviderError(self.already_sent(issue.slug))
            campaigns.reset_for_resend(connection, campaign, now)
            campaign = campaigns.get(connection, self.name, issue.slug) or campaign
        if campaign.state is CampaignState.CANCELLED:
            raise ProviderError(f"'{issue.slug}' was cancelled")
        started = campaign.state is not CampaignState.DRAFT
        if started and campaign.content_hash and campaign.content_hash != content_hash:
            raise ProviderError(
                f"{issue.slug}: the issue changed after its send started; restore the file "
                "to finish the send, or pass --resend to send the new version to everyone"
            )
        if not campaigns.claim_for_sending(
            connection,
            campaign,
            owner,
            content_hash,
            now,
            again=request.retry_failed,
            join=lease is not None,
        ):
            holder = campaigns.get(connection, self.name, issue.slug)
            owner_now = (holder.owner if holder else None) or "another process"
            raise CampaignBusy(f"'{issue.slug}' is being sent right now by {owner_now}", owner_now)
        return campaign

    def _release(
        self,
        campaign_id: int,
        issue: Issue,
        owner: str,
        result: RunResult,
        fatal: Exception | None = None,
        lease: Lease | None = None,
    ) -> Released:
        """Give the campaign up with the state the run left it in; what is left to do.
        A worker that leaves others sending changes nothing: the last one decides."""
        others = lease is not None and not lease.leave()
        with self.engine.begin() as connection:
            counts = deliveries.counts(connection, campaign_id)
            pending = deliveries.Audience(campaign_id, issue.topics).count(connection)
            state, problem = end_state(result, fatal, pending, counts.get(DeliveryStatus.SENT, 0))
            if others:
                state, problem = CampaignState.SENDING, None
            else:
                now, shared = self.clock(), lease is not None
                campaigns.release(connection, campaign_id, owner, state, now, problem, shared)
            problems_file = self._write_problems(connection, campaign_id, issue.slug)
            unconfirmed = deliveries.unconfirmed_count(connection, campaign_id)
        return Released(state, problem, pending, counts, unconfirmed, problems_file, others)

    def _report(
        self,
        issue: Issue,
        destination: str,
        result: RunResult,
        released: Released,
        before: dict[DeliveryStatus, int],
        uncertain_now: int,
    ) -> SendReport:
        earlier = before.get(DeliveryStatus.SENT, 0)
        notes = [f"delivered through {destination}"] if result.sent else []
        if earlier:
            notes.append(f"{earlier:,} sent before this run")
        if uncertain_now:
            notes.append(f"{uncertain_now} message(s) were in flight when the last send stopped")
        if result.sent_again:
            notes.append(
                f"{result.sent_again} recipient(s) whose earlier message got no answer were "
                "sent it once more; they may have two copies"
            )
        notes.extend(next_steps(result, released))
        if released.problems_file is not None:
            notes.append(
                f"failed, deferred and unconfirmed recipients are listed in "
                f"{released.problems_file}"
            )
        counts = released.counts
        return SendReport(
            status=report_status(result, released),
            campaign=issue.slug,
            provider=self.name,
            sent=result.sent,
            failed=result.failed,
            deferred=result.deferred,
            skipped=result.skipped,
            uncertain=released.unconfirmed,
            pending=released.pending,
            state=released.state,
            problem=released.problem,
            message="\n".join(notes),
            raw={
                "sent_before": earlier,
                "sent_total": counts.get(DeliveryStatus.SENT, 0),
                "failed_total": counts.get(DeliveryStatus.FAILED, 0),
                "deferred_total": counts.get(DeliveryStatus.DEFERRED, 0),
                "unconfirmed": released.unconfirmed,
                "problems_file": str(released.problems_file) if released.problems_file else None,
            },
        )

    def _write_problems(self, connection: Connection, campaign_id: int, slug: str) -> Path | None:
        rows = list(deliveries.problems(connection, campaign_id))
        if not rows:
            return None
        folder = self.settings.root / ".newsletter" / "problems"
        path = folder / f"{slug}.csv"
        try:
            folder.mkdir(parents=True, exist_ok=True)
            with path.open("w", newline="", encoding="utf-8") as handle:
                writer = csv.writer(handle)
                writer.writerow(["email", "status", "message_id", "error"])
                writer.writerows(rows)
        except OSError as exc:
            raise DeliveryError(f"{path}: cannot write the failure list: {exc.strerror}") from None
        return path

    # Audience

    def _import_members(
        self,
        members: Iterable[MemberInput],
        *,
        resubscribe: bool,
        source: ChangeSource,
    ) -> ImportReport:
        counts = ImportCounts()
        batch: dict[str, NewMember] = {}
        now = self.clock()

        def flush() -> None:
            if batch:
                self._write_batch(list(batch.values()), resubscribe, source, now, counts)
                batch.clear()

        for member in members:
            key = store.email_key(member.email)
            if key in batch:
                flush()
            note = f"line {member.source_line}" if member.source_line else ""
            batch[key] = NewMember(
                member.email,
                member.first_name,
                member.last_name,
                member.topics,
                note,
                member.default_topics,
            )
            if len(batch) >= IMPORT_BATCH:
                flush()
        flush()
        return ImportReport(
            added=counts.added,
            updated=counts.updated,
            unchanged=counts.unchanged,
            kept_unsubscribed=counts.kept_unsubscribed,
        )

    def _write_batch(
        self,
        members: list[NewMember],
        resubscribe: bool,
        source: ChangeSource,
        now: datetime,
        counts: ImportCounts,
    ) -> None:
        """One batch in one transaction. Another import that adds one of its addresses
        first makes it fail on the unique email; it is then read again and written as
        an update, so imports running at once both finish."""
        for attempt in range(1, IMPORT_TRIES + 1):
            written = ImportCounts()
            try:
                with self.engine.begin() as connection:
                    store.import_batch(
                        connection,
                        members,
                        resubscribe=resubscribe,
                        source=source.value,
                        now=now,
                        counts=written,
                    )
            except IntegrityError:
                if attempt == IMPORT_TRIES:
                    raise
                continue
            counts.add(written)
            return

    def members(
        self, *, status: SubscriberStatus | None = None, topic: str | None = None
    ) -> Iterator[Subscriber]:
        return store.iter_members(self.engine, status=status, topic=topic)

    def topic_counts(self) -> dict[str, int]:
        with self.engine.connect() as connection:
            return topics_store.subscribed_counts(connection)

    def find_by_email(self, email: str) -> Subscriber | None:
        with self.engine.connect() as connection:
            return store.find_by_email(connection, email)

    def get_subscriber(self, subscriber_id: str) -> Subscriber | None:
        with self.engine.connect() as connection:
            return store.get(connection, subscriber_id)

    def _set_status(
        self,
        subscriber_id: str,
        status: SubscriberStatus,
        action: str,
        source: ChangeSource,
        note: str,
    ) -> Subscriber:
        with self.engine.begin() as connection:
            store.set_status(
                connection,
                subscriber_id,
                status,
                action=action,
                source=source.value,
                note=note,
                now=self.clock(),
            )
            subscriber = store.get(connection, subscriber_id)
        if subscriber is None:
            raise ProviderError(f"no subscriber with id '{subscriber_id}'")
        return subscriber

    def unsubscribe(
        self, subscriber_id: str, *, source: ChangeSource, note: str = ""
    ) -> Subscriber:
        return self._set_status(
            subscriber_id, SubscriberStatus.UNSUBSCRIBED, "unsubscribed", source, note
        )

    def resubscribe(
        self, subscriber_id: str, *, source: ChangeSource, note: str = ""
    ) -> Subscriber:
        return self._set_status(
            subscriber_id, SubscriberStatus.SUBSCRIBED, "resubscribed", source, note
        )

    def _set_topics(
        self, subscriber_id: str, topics: frozenset[str], *, source: ChangeSource
    ) -> Subscriber:
        with self.engine.begin() as connection:
            if store.get(connection, subscriber_id) is None:
                raise ProviderError(f"no subscriber with id '{subscriber_id}'")
            store.replace_topics(
                connection,
                subscriber_id,
                frozenset(topics),
                source=source.value,
                note="",
                now=self.clock(),
            )
            subscriber = store.get(connection, subscriber_id)
        assert subscriber is not None
        return subscriber
