"""Deliveries: one row per campaign and subscriber, written as each message completes.

A recipient is claimed by inserting its row as ``sending`` just before its message goes
out; the insert re-checks that the subscriber is still subscribed and still wants one
of the issue's topics, so an unsubscribe takes effect from that moment. The primary key
(campaign, subscriber) makes a second claim impossible. Rows left ``sending`` by a
crash are the messages that were in flight; they become ``uncertain``, are reported,
and are sent again when the send resumes (so nobody is skipped; those few may get two
copies), keeping a note that says so.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import (
    Connection,
    DateTime,
    Dialect,
    Executable,
    bindparam,
    delete,
    func,
    select,
    text,
    update,
)

from newsletter.models import SubscriberStatus
from newsletter.store.tables import deliveries, subscribers


class DeliveryStatus(StrEnum):
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    UNCERTAIN = "uncertain"


IN_FLIGHT = "in flight when a send stopped"
SENT_AGAIN = f"{IN_FLIGHT}; sent again, may have arrived twice"


@dataclass(frozen=True)
class AudienceRow:
    id: str
    email: str
    first_name: str
    last_name: str
    again: bool = False
    """Its message was in flight when an earlier send stopped."""


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
        wanted = f"s.status = '{SubscriberStatus.SUBSCRIBED.value}'{clause}"
        # Pages walk the primary key: ``status || ''`` keeps SQLite from choosing the
        # status index, which would sort the whole audience again for every page.
        self._page = text(
            "SELECT s.id, s.email, s.first_name, s.last_name, d.status"
            " FROM subscribers s LEFT JOIN deliveries d"
            " ON d.campaign_id = :campaign_id AND d.subscriber_id = s.id"
            f" WHERE s.status || '' = '{SubscriberStatus.SUBSCRIBED.value}'{clause}"
            " AND (d.status IS NULL OR d.status = 'uncertain')"
            " AND s.id > :after ORDER BY s.id LIMIT :limit"
        )
        self._count = text(
            "SELECT COUNT(*) FROM subscribers s LEFT JOIN deliveries d"
            " ON d.campaign_id = :campaign_id AND d.subscriber_id = s.id"
            f" WHERE {wanted} AND (d.status IS NULL OR d.status IN ('uncertain', 'sending'))"
        )
        self._claim = text(
            "INSERT INTO deliveries"
            " (campaign_id, subscriber_id, status, message_id, attempts, updated_at)"
            " SELECT :campaign_id, s.id, 'sending', :message_id, 0, :now FROM subscribers s"
            f" WHERE s.id = :subscriber_id AND {wanted} AND NOT EXISTS (SELECT 1"
            " FROM deliveries d WHERE d.campaign_id = :campaign_id AND d.subscriber_id = s.id)"
        ).bindparams(bindparam("now", type_=DateTime(timezone=True)))
        self._claim_again = text(
            "UPDATE deliveries SET status = 'sending', message_id = :message_id,"
            " updated_at = :now WHERE campaign_id = :campaign_id"
            " AND subscriber_id = :subscriber_id AND status = 'uncertain' AND EXISTS"
            f" (SELECT 1 FROM subscribers s WHERE s.id = :subscriber_id AND {wanted})"
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

    def params(self, **values: object) -> dict[str, object]:
        return {"campaign_id": self.campaign_id, **self._topic_params, **values}

    def page(self, connection: Connection, after: str, limit: int) -> list[AudienceRow]:
        """The next recipients not yet claimed, in id order after ``after``."""
        rows = connection.execute(self._page, self.params(after=after, limit=limit))
        return [AudienceRow(*row[:4], again=row[4] is not None) for row in rows]

    def count(self, connection: Connection) -> int:
        """Recipients still to send to, counting messages left in flight by a crash."""
        return int(connection.execute(self._count, self.params()).scalar_one())

    def claim(
        self,
        connection: Connection,
        subscriber_id: str,
        message_id: str,
        now: datetime,
        *,
        again: bool = False,
    ) -> bool:
        """Mark the row ``sending`` if the subscriber still qualifies; True if claimed."""
        result = connection.execute(
            self._claim_again if again else self._claim,
            self.params(subscriber_id=subscriber_id, message_id=message_id, now=now),
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

    def finish_values(self, outcome: Outcome, now: datetime) -> dict[str, object]:
        return {
            "c_id": self.campaign_id,
            "s_id": outcome.subscriber_id,
            "new_status": outcome.status.value if outcome.status else None,
            "new_attempts": outcome.attempts,
            "new_error": outcome.error,
            "new_updated_at": now,
        }

    def finish(self, connection: Connection, outcome: Outcome, now: datetime) -> None:
        connection.execute(self._finish, self.finish_values(outcome, now))


class _DriverStatement:
    """A statement compiled once for the engine's dialect and run on the driver's cursor.

    Recording and claiming run once per message; going straight to the DB-API cursor
    keeps that to a few microseconds on any driver SQLAlchemy supports.
    """

    def __init__(self, statement: Executable, dialect: Dialect) -> None:
        compiled = statement.compile(dialect=dialect)
        self.sql = compiled.string
        self.order = list(compiled.positiontup) if compiled.positional else None
        self.processors = {
            name: processor
            for name, bind in compiled.binds.items()
            if (processor := bind.type.bind_processor(dialect)) is not None
        }

    def params(self, values: dict[str, object]) -> Sequence[object] | dict[str, object]:
        for name, processor in self.processors.items():
            if name in values:
                values[name] = processor(values[name])
        if self.order is not None:
            return tuple(values[name] for name in self.order)
        return values


class Recorder:
    """Per message, in one transaction: record the last outcome, claim the next recipient."""

    def __init__(self, audience: Audience, connection: Connection) -> None:
        dialect = connection.dialect
        self.audience = audience
        self._driver = connection.connection.dbapi_connection
        self._claim = _DriverStatement(audience._claim, dialect)
        self._claim_again = _DriverStatement(audience._claim_again, dialect)
        self._finish = _DriverStatement(audience._finish, dialect)

    def step(
        self,
        outcome: Outcome | None,
        claim: tuple[str, str, bool] | None,
        now: datetime,
    ) -> bool:
        """Returns True when ``claim`` (subscriber id, message id, again) was claimed."""
        audience = self.audience
        cursor = self._driver.cursor()
        try:
            if outcome is not None and outcome.status is not None:
                values = audience.finish_values(outcome, now)
                cursor.execute(self._finish.sql, self._finish.params(values))
            claimed = False
            if claim is not None:
                subscriber_id, message_id, again = claim
                statement = self._claim_again if again else self._claim
                values = audience.params(
                    subscriber_id=subscriber_id, message_id=message_id, now=now
                )
                cursor.execute(statement.sql, statement.params(values))
                claimed = cursor.rowcount == 1
            self._driver.commit()
        except BaseException:
            self._driver.rollback()
            raise
        finally:
            cursor.close()
        return claimed


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
            error=IN_FLIGHT,
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


def in_flight_count(connection: Connection, campaign_id: int) -> int:
    """Deliveries whose message was in flight when a send stopped, then or since."""
    query = select(func.count()).where(
        deliveries.c.campaign_id == campaign_id,
        deliveries.c.error.like(f"{IN_FLIGHT}%"),
    )
    return int(connection.execute(query).scalar_one())


def problems(connection: Connection, campaign_id: int) -> Iterator[tuple[str, str, str, str]]:
    """(email, status, message id, error) of every failed delivery and every one that
    was in flight when a send stopped."""
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
