"""What came back, one row per report acted on: its verdict, the member and campaign it
was about, what it did, and the report itself (compressed) until its retention ends.

The report's key (its Message-ID, or a digest of its bytes) is unique, so a report
processed twice is recorded once. ``store.return_batch`` writes the rows; the functions
here are what reports and retention read.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    func,
    literal_column,
    or_,
    select,
    update,
)

from newsletter.store.deliveries import DeliveryStatus
from newsletter.store.tables import consent_log, deliveries, returns

SENT_STATUSES = (DeliveryStatus.SENT.value, DeliveryStatus.UNCERTAIN.value)
BOUNCE_VERDICTS = ("soft-bounce", "hard-bounce")


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


def one_of(column: Any, values: tuple[str, ...]) -> ColumnElement[bool]:
    """``column IN (...)`` with the values written into the SQL, which a statement
    compiled once for the driver needs (an expanding IN is filled in per call)."""
    return or_(*(column == literal_column(f"'{value}'") for value in values))


def is_recorded(connection: Connection, report_key: str) -> bool:
    query = select(returns.c.id).where(returns.c.report_key == report_key)
    return connection.execute(query).first() is not None


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
            one_of(later.c.status, SENT_STATUSES),
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
            one_of(this.c.status, SENT_STATUSES),
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
