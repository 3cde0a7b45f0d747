"""Deliveries: one row per campaign and subscriber, written as each message completes.

A recipient is claimed by inserting its row as ``sending`` just before its message goes
out; the insert re-checks that the subscriber is still subscribed and still wants one
of the issue's topics, so an unsubscribe takes effect from that moment. The primary key
(campaign, subscriber) makes a second claim impossible. Rows left ``sending`` by a
crash are the messages that were in flight; they become ``uncertain``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import Connection, DateTime, bindparam, delete, func, select, text, update

from newsletter.models import SubscriberStatus
from newsletter.store.tables import deliveries, subscribers


class DeliveryStatus(StrEnum):
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    UNCERTAIN = "uncertain"


@dataclass(frozen=True)
class AudienceRow:
    id: str
    email: str
    first_name: str
    last_name: str


@dataclass(frozen=True)
class Outcome:
    subscriber_id: str
    status: DeliveryStatus | None
    """None: the message certainly did not go out, so the claim is released."""
    attempts: int = 1
    error: str | None = None


def _topic_clause(topics: Sequence[str]) -> tuple[str, dict[str, str]]:
    if not topics:
        return "", {}
    names = {f"topic{i}": topic for i, topic in enumerate(topics)}
    placeholders = ", ".join(f":{name}" for name in names)
    clause = (
        " AND EXISTS (SELECT 1 FROM subscriber_topics t WHERE t.subscriber_id = s.id"
        f" AND t.topic_id IN ({placeholders}))"
    )
    return clause, names


class Audience:
    """The statements for one campaign's audience, prepared once."""

    def __init__(self, campaign_id: int, topics: Sequence[str]) -> None:
        clause, self._topic_params = _topic_clause(topics)
        self.campaign_id = campaign_id
        eligible = (
            f"s.status = '{SubscriberStatus.SUBSCRIBED.value}'{clause}"
            " AND NOT EXISTS (SELECT 1 FROM deliveries d"
            " WHERE d.campaign_id = :campaign_id AND d.subscriber_id = s.id)"
        )
        self._page = text(
            "SELECT s.id, s.email, s.first_name, s.last_name FROM subscribers s"
            f" WHERE s.id > :after AND {eligible} ORDER BY s.id LIMIT :limit"
        )
        self._count = text(f"SELECT COUNT(*) FROM subscribers s WHERE {eligible}")
        self._claim = text(
            "INSERT INTO deliveries"
            " (campaign_id, subscriber_id, status, message_id, attempts, updated_at)"
            " SELECT :campaign_id, s.id, 'sending', :message_id, 0, :now FROM subscribers s"
            f" WHERE s.id = :subscriber_id AND {eligible}"
        ).bindparams(bindparam("now", type_=DateTime(timezone=True)))
        self._finish = (
            update(deliveries)
            .where(
                deliveries.c.campaign_id == bindparam("c_id"),
                deliveries.c.subscriber_id == bindparam("s_id"),
            )
            .values(
                status=bindparam("new_status"),
                attempts=bindparam("new_attempts"),
                error=bindparam("new_error"),
                updated_at=bindparam("new_updated_at"),
            )
        )

    def _params(self, **values: object) -> dict[str, object]:
        return {"campaign_id": self.campaign_id, **self._topic_params, **values}

    def page(self, connection: Connection, after: str, limit: int) -> list[AudienceRow]:
        """The next recipients not yet claimed, in id order after ``after``."""
        rows = connection.execute(self._page, self._params(after=after, limit=limit))
        return [AudienceRow(*row) for row in rows]

    def count(self, connection: Connection) -> int:
        return int(connection.execute(self._count, self._params()).scalar_one())

    def claim(
        self, connection: Connection, subscriber_id: str, message_id: str, now: datetime
    ) -> bool:
        """Insert the row as ``sending`` if the subscriber still qualifies; True if claimed."""
        result = connection.execute(
            self._claim,
            self._params(subscriber_id=subscriber_id, message_id=message_id, now=now),
        )
        return result.rowcount == 1

    def release(self, connection: Connection, subscriber_id: str) -> None:
        """Undo a claim whose message certainly did not go out."""
        connection.execute(
            delete(deliveries).where(
                deliveries.c.campaign_id == self.campaign_id,
                deliveries.c.subscriber_id == subscriber_id,
                deliveries.c.status == DeliveryStatus.SENDING.value,
            )
        )

    def finish(self, connection: Connection, outcome: Outcome, now: datetime) -> None:
        connection.execute(
            self._finish,
            {
                "c_id": self.campaign_id,
                "s_id": outcome.subscriber_id,
                "new_status": outcome.status.value if outcome.status else None,
                "new_attempts": outcome.attempts,
                "new_error": outcome.error,
                "new_updated_at": now,
            },
        )


def mark_in_flight_uncertain(connection: Connection, campaign_id: int, now: datetime) -> int:
    """Rows a crashed send left ``sending``: it is unknown whether they arrived."""
    result = connection.execute(
        update(deliveries)
        .where(
            deliveries.c.campaign_id == campaign_id,
            deliveries.c.status == DeliveryStatus.SENDING.value,
        )
        .values(
            status=DeliveryStatus.UNCERTAIN.value,
            error="in flight when a send was interrupted",
            updated_at=now,
        )
    )
    return result.rowcount


def counts(connection: Connection, campaign_id: int) -> dict[str, int]:
    query = (
        select(deliveries.c.status, func.count())
        .where(deliveries.c.campaign_id == campaign_id)
        .group_by(deliveries.c.status)
    )
    return {status: number for status, number in connection.execute(query)}


def problems(connection: Connection, campaign_id: int) -> Iterator[tuple[str, str, str, str]]:
    """(email, status, message id, error) of every failed or uncertain delivery."""
    query = (
        select(
            subscribers.c.email,
            deliveries.c.status,
            deliveries.c.message_id,
            deliveries.c.error,
        )
        .join(subscribers, subscribers.c.id == deliveries.c.subscriber_id)
        .where(
            deliveries.c.campaign_id == campaign_id,
            deliveries.c.status.in_([DeliveryStatus.FAILED.value, DeliveryStatus.UNCERTAIN.value]),
        )
        .order_by(subscribers.c.email_key)
    )
    for row in connection.execute(query):
        yield row.email, row.status, row.message_id or "", row.error or ""
