"""Campaign rows: one per provider and slug, for every provider (the local one's sends,
the drafts Mailchimp holds for us). Every state change of a local send is one UPDATE
that claims the row only if it is still in the state the caller saw; ``ProviderCampaigns``
records what a remote provider reports."""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Connection, Engine, and_, delete, func, or_, select, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from newsletter.clock import Clock, utc_now
from newsletter.errors import StoreError
from newsletter.models import CampaignState
from newsletter.store.migrations import migrate
from newsletter.store.tables import campaigns, deliveries

STALE_AFTER = timedelta(minutes=2)
"""A send on another machine that has not reported for this long is taken to have died."""

CLAIMABLE = tuple(
    state.value
    for state in (
        CampaignState.DRAFT,
        CampaignState.SCHEDULED,
        CampaignState.NEEDS_APPROVAL,
        CampaignState.MISSED,
        CampaignState.FAILED,
    )
)

SCHEDULABLE = (*CLAIMABLE,)
"""States ``schedule`` may (re)schedule from: anything not being sent, sent or cancelled."""

UNSCHEDULABLE = (
    CampaignState.SCHEDULED.value,
    CampaignState.NEEDS_APPROVAL.value,
    CampaignState.MISSED.value,
)


@dataclass(frozen=True)
class Campaign:
    id: int
    slug: str
    state: CampaignState
    content_hash: str | None
    owner: str | None
    heartbeat_at: datetime | None
    last_problem: str | None = None
    remote_id: str | None = None
    """The provider's own id for the campaign (Mailchimp's), where it keeps one."""
    scheduled_at: datetime | None = None
    scheduled_zone: str | None = None
    scheduled_by: str | None = None
    approved_hash: str | None = None
    """The issue's content hash when it was scheduled: what ``run-due`` may send."""
    approved_files: str | None = None
    """The sources behind it and their hashes then, as JSON (see ``approval``)."""
    skipped_checks: frozenset[str] = frozenset()
    """Pre-send checks let through on purpose when it was last sent, scheduled or pushed."""

    @property
    def scheduled_utc(self) -> datetime | None:
        at = self.scheduled_at
        return at.replace(tzinfo=UTC) if at is not None and at.tzinfo is None else at


def this_process() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def get(connection: Connection, provider: str, slug: str) -> Campaign | None:
    row = connection.execute(
        select(campaigns).where(campaigns.c.provider == provider, campaigns.c.slug == slug)
    ).first()
    if row is None:
        return None
    return Campaign(
        row.id,
        row.slug,
        CampaignState(row.state),
        row.content_hash,
        row.owner,
        row.heartbeat_at,
        row.last_problem,
        row.remote_id,
        row.scheduled_at,
        row.scheduled_zone,
        row.scheduled_by,
        row.approved_hash,
        row.approved_files,
        frozenset(filter(None, (row.skipped_checks or "").split(","))),
    )


def get_or_create(
    connection: Connection, provider: str, slug: str, subject: str, now: datetime
) -> Campaign:
    found = get(connection, provider, slug)
    if found is not None:
        return found
    try:
        with connection.begin_nested():
            connection.execute(
                campaigns.insert().values(
                    provider=provider,
                    slug=slug,
                    state=CampaignState.DRAFT.value,
                    subject=subject,
                    updated_at=now,
                )
            )
    except IntegrityError:
        pass
    created = get(connection, provider, slug)
    assert created is not None
    return created


def record_skipped(
    connection: Connection,
    provider: str,
    issue: tuple[str, str],
    rules: frozenset[str],
    now: datetime,
) -> None:
    """Keep the checks skipped for the campaign (``issue``: slug and subject); empty
    clears them."""
    slug, subject = issue
    campaign = get_or_create(connection, provider, slug, subject, now)
    connection.execute(
        update(campaigns)
        .where(campaigns.c.id == campaign.id)
        .values(skipped_checks=",".join(sorted(rules)) or None, updated_at=now)
    )


def owner_is_gone(campaign: Campaign, now: datetime) -> bool:
    """The process named as sending is not running (same machine) or stopped reporting."""
    if campaign.owner is None:
        return True
    host, _, pid = campaign.owner.rpartition(":")
    if host == socket.gethostname() and pid.isdigit():
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            return True
        except PermissionError:
            return False
        return False
    beat = campaign.heartbeat_at
    if beat is None:
        return True
    if beat.tzinfo is None:
        beat = beat.replace(tzinfo=UTC)
    return now - beat > STALE_AFTER


def claim_for_sending(
    connection: Connection,
    campaign: Campaign,
    owner: str,
    content_hash: str,
    now: datetime,
    *,
    again: bool = False,
    join: bool = False,
) -> bool:
    """Draft, scheduled, failed or abandoned -> sending, owned by ``owner``; one UPDATE.

    ``again``: a sent campaign can be claimed too, to try its deferred recipients again.
    ``join``: one being sent can be claimed too, by a worker joining the others
    (``store.workers``); ``owner`` then names the last to join.
    """
    states = (*CLAIMABLE, CampaignState.SENT.value) if again else CLAIMABLE
    if join:
        states = (*states, CampaignState.SENDING.value)
    claimable = [campaigns.c.state.in_(states)]
    if campaign.state is CampaignState.SENDING and owner_is_gone(campaign, now):
        same_owner = (
            campaigns.c.owner.is_(None)
            if campaign.owner is None
            else campaigns.c.owner == campaign.owner
        )
        claimable.append(and_(campaigns.c.state == CampaignState.SENDING.value, same_owner))
    result = connection.execute(
        update(campaigns)
        .where(campaigns.c.id == campaign.id, or_(*claimable))
        .values(
            state=CampaignState.SENDING.value,
            owner=owner,
            heartbeat_at=now,
            content_hash=content_hash,
            started_at=func.coalesce(campaigns.c.started_at, now),
            updated_at=now,
        )
    )
    return result.rowcount == 1


@dataclass(frozen=True)
class Schedule:
    at: datetime
    """Aware; stored as UTC."""
    zone: str
    by: str
    approved_hash: str
    approved_files: str = ""
    """The sources behind the email and their hashes, as JSON (see ``approval``)."""


def set_schedule(connection: Connection, campaign_id: int, plan: Schedule, now: datetime) -> bool:
    """Schedulable -> scheduled at ``plan.at`` with what was approved; one UPDATE."""
    result = connection.execute(
        update(campaigns)
        .where(campaigns.c.id == campaign_id, campaigns.c.state.in_(SCHEDULABLE))
        .values(
            state=CampaignState.SCHEDULED.value,
            scheduled_at=plan.at.astimezone(UTC),
            scheduled_zone=plan.zone,
            scheduled_by=plan.by,
            approved_hash=plan.approved_hash,
            approved_files=plan.approved_files or None,
            last_problem=None,
            updated_at=now,
        )
    )
    return result.rowcount == 1


def clear_schedule(connection: Connection, campaign_id: int, now: datetime) -> bool:
    """Scheduled, needing approval or missed -> draft; one UPDATE."""
    result = connection.execute(
        update(campaigns)
        .where(campaigns.c.id == campaign_id, campaigns.c.state.in_(UNSCHEDULABLE))
        .values(state=CampaignState.DRAFT.value, scheduled_at=None, updated_at=now)
    )
    return result.rowcount == 1


def set_aside(
    connection: Connection, campaign_id: int, state: CampaignState, problem: str, now: datetime
) -> bool:
    """Scheduled -> needs approval or missed, with why; one UPDATE, so a run that lost
    the race to another changes nothing."""
    result = connection.execute(
        update(campaigns)
        .where(campaigns.c.id == campaign_id, campaigns.c.state == CampaignState.SCHEDULED.value)
        .values(state=state.value, last_problem=problem, updated_at=now)
    )
    return result.rowcount == 1


def due(connection: Connection, provider: str, now: datetime) -> list[Campaign]:
    """Scheduled campaigns whose time has come, and scheduled ones ``sending``: being
    sent by another run, or left by a run that stopped or died, oldest first. A send
    started by hand (never scheduled) is left to the person who started it."""
    rows = connection.execute(
        select(campaigns.c.slug)
        .where(
            campaigns.c.provider == provider,
            or_(
                and_(
                    campaigns.c.state == CampaignState.SCHEDULED.value,
                    campaigns.c.scheduled_at <= now.astimezone(UTC),
                ),
                and_(
                    campaigns.c.state == CampaignState.SENDING.value,
                    campaigns.c.approved_hash.is_not(None),
                ),
            ),
        )
        .order_by(campaigns.c.scheduled_at, campaigns.c.id)
    ).all()
    found = [get(connection, provider, row.slug) for row in rows]
    return [campaign for campaign in found if campaign is not None]


def in_progress(connection: Connection, provider: str) -> list[Campaign]:
    """A remote provider's campaigns that are scheduled or sending: what it may have
    moved on since (Mailchimp sends them itself)."""
    rows = connection.execute(
        select(campaigns.c.slug).where(
            campaigns.c.provider == provider,
            campaigns.c.state.in_((CampaignState.SCHEDULED.value, CampaignState.SENDING.value)),
        )
    ).all()
    found = [get(connection, provider, row.slug) for row in rows]
    return [campaign for campaign in found if campaign is not None]


def every(connection: Connection) -> list[tuple[str, Campaign]]:
    """Every campaign row, with its provider's name."""
    rows = connection.execute(select(campaigns.c.provider, campaigns.c.slug)).all()
    found = [(row.provider, get(connection, row.provider, row.slug)) for row in rows]
    return [(provider, campaign) for provider, campaign in found if campaign is not None]


def heartbeat(connection: Connection, campaign_id: int, owner: str, now: datetime) -> None:
    connection.execute(
        update(campaigns)
        .where(campaigns.c.id == campaign_id, campaigns.c.owner == owner)
        .values(heartbeat_at=now)
    )


def release(
    connection: Connection,
    campaign_id: int,
    owner: str,
    state: CampaignState,
    now: datetime,
    problem: str | None = None,
    last_worker: bool = False,
) -> bool:
    """Leave the send: ``sent``, ``failed``, or still ``sending`` with no owner (stopped,
    to be resumed), with ``problem`` saying why it stopped short. ``last_worker``: the
    last of several workers, whoever joined last (``store.workers``)."""
    finished = now if state is CampaignState.SENT else None
    mine = [] if last_worker else [campaigns.c.owner == owner]
    result = connection.execute(
        update(campaigns)
        .where(
            campaigns.c.id == campaign_id,
            *mine,
            campaigns.c.state == CampaignState.SENDING.value,
        )
        .values(
            state=state.value,
            owner=None,
            finished_at=finished,
            last_problem=problem,
            updated_at=now,
        )
    )
    return result.rowcount == 1


def reset_for_resend(connection: Connection, campaign: Campaign, now: datetime) -> bool:
    """A sent campaign back to draft with its deliveries cleared, so all get it again."""
    result = connection.execute(
        update(campaigns)
        .where(campaigns.c.id == campaign.id, campaigns.c.state == campaign.state.value)
        .values(state=CampaignState.DRAFT.value, owner=None, finished_at=None, updated_at=now)
    )
    if result.rowcount != 1:
        return False
    connection.execute(delete(deliveries).where(deliveries.c.campaign_id == campaign.id))
    return True


class ProviderCampaigns:
    """One provider's campaign rows, each change in its own transaction; for providers
    that keep the campaign themselves and report its state (Mailchimp)."""

    def __init__(self, engine: Engine, provider: str, clock: Clock = utc_now) -> None:
        self.engine = engine
        self.provider = provider
        self.clock = clock
        self._ready = False

    def _ensure_tables(self) -> None:
        if not self._ready:
            migrate(self.engine)
            self._ready = True

    def in_progress(self) -> list[Campaign]:
        try:
            self._ensure_tables()
            with self.engine.connect() as connection:
                return in_progress(connection, self.provider)
        except SQLAlchemyError as exc:
            raise StoreError(f"cannot read the campaign store: {type(exc).__name__}") from None

    def get(self, slug: str) -> Campaign | None:
        try:
            self._ensure_tables()
            with self.engine.connect() as connection:
                return get(connection, self.provider, slug)
        except SQLAlchemyError as exc:
            raise StoreError(f"cannot read the campaign store: {type(exc).__name__}") from None

    def record_skipped(self, slug: str, subject: str, rules: frozenset[str]) -> None:
        try:
            self._ensure_tables()
            with self.engine.begin() as connection:
                record_skipped(connection, self.provider, (slug, subject), rules, self.clock())
        except SQLAlchemyError as exc:
            raise StoreError(f"cannot write the campaign store: {type(exc).__name__}") from None

    def save(
        self,
        slug: str,
        *,
        remote_id: str,
        state: CampaignState,
        subject: str = "",
        content_hash: str | None = None,
        scheduled_at: datetime | None = None,
        schedule: Schedule | None = None,
    ) -> None:
        """Insert or update the slug's row in one transaction; ``schedule`` records who
        scheduled it, in which zone, and what was approved."""
        now = self.clock()
        values: dict[str, object] = {
            "remote_id": remote_id,
            "state": state.value,
            "updated_at": now,
            "scheduled_at": scheduled_at,
        }
        if schedule is not None:
            values["scheduled_zone"] = schedule.zone
            values["scheduled_by"] = schedule.by
            values["approved_hash"] = schedule.approved_hash
            values["approved_files"] = schedule.approved_files or None
        if subject:
            values["subject"] = subject
        if content_hash is not None:
            values["content_hash"] = content_hash
        if state is CampaignState.SENDING:
            values["started_at"] = now
        if state is CampaignState.SENT:
            values["finished_at"] = now
        try:
            self._ensure_tables()
            with self.engine.begin() as connection:
                mine = (campaigns.c.provider == self.provider, campaigns.c.slug == slug)
                changed = connection.execute(
                    update(campaigns).where(*mine).values(**values)
                ).rowcount
                if not changed:
                    connection.execute(
                        campaigns.insert().values(provider=self.provider, slug=slug, **values)
                    )
        except SQLAlchemyError as exc:
            raise StoreError(f"cannot write the campaign store: {type(exc).__name__}") from None
