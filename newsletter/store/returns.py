"""What came back, one row per report acted on: its verdict, the member and campaign it
was about, what it did, and the report itself (compressed) until its retention ends.

The report's key (its Message-ID, or a digest of its bytes) is unique, so a report
processed twice is recorded once.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, func, select, update

from newsletter.store.deliveries import DeliveryStatus
from newsletter.store.tables import campaigns, consent_log, deliveries, returns, subscribers

_SENT = (DeliveryStatus.SENT.value, DeliveryStatus.UNCERTAIN.value)


@dataclass(frozen=True)
class ReturnRow:
    report_key: str
    received_at: datetime
    verdict: str
    subscriber_id: str
    campaign_id: int | None
    outcome: str
    raw: bytes | None
    keep_raw_until: datetime | None


@dataclass(frozen=True)
class Member:
    id: str
    email: str
    status: str


def is_recorded(connection: Connection, report_key: str) -> bool:
    query = select(returns.c.id).where(returns.c.report_key == report_key)
    return connection.execute(query).first() is not None


def record(connection: Connection, row: ReturnRow) -> None:
    raw = zlib.compress(row.raw, 1) if row.raw is not None else None
    connection.execute(
        returns.insert().values(
            report_key=row.report_key,
            received_at=row.received_at,
            verdict=row.verdict,
            subscriber_id=row.subscriber_id,
            campaign_id=row.campaign_id,
            outcome=row.outcome,
            raw=raw,
            keep_raw_until=row.keep_raw_until,
        )
    )


def raw_report(connection: Connection, report_key: str) -> bytes | None:
    """The kept report, decompressed; None once its retention has ended."""
    query = select(returns.c.raw).where(returns.c.report_key == report_key)
    found = connection.execute(query).scalar_one_or_none()
    return zlib.decompress(found) if found is not None else None


def drop_expired(connection: Connection, now: datetime) -> int:
    """Forget the reports whose retention has ended; the decisions stay."""
    result = connection.execute(
        update(returns)
        .where(returns.c.raw.is_not(None), returns.c.keep_raw_until <= now)
        .values(raw=None)
    )
    return result.rowcount


def member(connection: Connection, subscriber_id: str) -> Member | None:
    query = select(subscribers.c.id, subscribers.c.email, subscribers.c.status).where(
        subscribers.c.id == subscriber_id
    )
    row = connection.execute(query).first()
    return Member(row.id, row.email, row.status) if row is not None else None


def campaign_exists(connection: Connection, campaign_id: int) -> bool:
    query = select(campaigns.c.id).where(campaigns.c.id == campaign_id)
    return connection.execute(query).first() is not None


def campaign_slug(connection: Connection, campaign_id: int | None) -> str:
    if campaign_id is None:
        return ""
    query = select(campaigns.c.slug).where(campaigns.c.id == campaign_id)
    return connection.execute(query).scalar_one_or_none() or ""


def by_message_id(connection: Connection, message_id: str) -> tuple[str, int] | None:
    """(subscriber id, campaign id) of the delivery that sent ``message_id``."""
    query = select(deliveries.c.subscriber_id, deliveries.c.campaign_id).where(
        deliveries.c.message_id == message_id
    )
    row = connection.execute(query).first()
    return (row.subscriber_id, row.campaign_id) if row is not None else None


def recent_sends(connection: Connection, subscriber_id: str, limit: int) -> list[int]:
    """The campaigns last sent to the member, newest first."""
    query = (
        select(deliveries.c.campaign_id)
        .where(deliveries.c.subscriber_id == subscriber_id, deliveries.c.status.in_(_SENT))
        .order_by(deliveries.c.updated_at.desc(), deliveries.c.campaign_id.desc())
        .limit(limit)
    )
    return list(connection.execute(query).scalars())


def campaigns_with(connection: Connection, subscriber_id: str, verdicts: Sequence[str]) -> set[int]:
    """The campaigns for which the member has a report of one of ``verdicts``."""
    query = select(returns.c.campaign_id).where(
        returns.c.subscriber_id == subscriber_id,
        returns.c.verdict.in_(verdicts),
        returns.c.campaign_id.is_not(None),
    )
    return set(connection.execute(query).scalars())


def counts(connection: Connection, campaign_id: int) -> dict[str, int]:
    """Members per verdict among the reports about one campaign."""
    query = (
        select(returns.c.verdict, func.count(returns.c.subscriber_id.distinct()))
        .where(returns.c.campaign_id == campaign_id)
        .group_by(returns.c.verdict)
    )
    return {verdict: number for verdict, number in connection.execute(query)}


def unsubscribes_after(connection: Connection, campaign_id: int) -> int:
    """Members who unsubscribed (any way) after this campaign reached them and before
    the next one did: the unsubscribes a campaign is answerable for."""
    this = deliveries.alias("this")
    later = deliveries.alias("later")
    log = consent_log
    sent_since = (
        select(later.c.campaign_id)
        .where(
            later.c.subscriber_id == log.c.subscriber_id,
            later.c.status.in_(_SENT),
            later.c.updated_at > this.c.updated_at,
            later.c.updated_at <= log.c.at,
        )
        .correlate_except(later)
        .exists()
    )
    reached = (
        select(this.c.campaign_id)
        .where(
            this.c.campaign_id == campaign_id,
            this.c.subscriber_id == log.c.subscriber_id,
            this.c.status.in_(_SENT),
            this.c.updated_at <= log.c.at,
            ~sent_since,
        )
        .correlate_except(this)
        .exists()
    )
    query = select(func.count(log.c.subscriber_id.distinct())).where(
        log.c.action == "unsubscribed", reached
    )
    return int(connection.execute(query).scalar_one())
