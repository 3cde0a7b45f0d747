"""Deliveries: one row per campaign and subscriber, written as each message completes.

A recipient is claimed by inserting its row as ``sending`` just before its message goes
out; the insert re-checks that the subscriber is still subscribed and still wants one
of the issue's topics, so an unsubscribe takes effect from that moment. The primary key
(campaign, subscriber) makes a second claim impossible.

A row ends ``sent``, ``failed`` (a 5xx: never tried again), ``deferred`` (4xx answers
until the retries ran out: tried again by ``send --retry-failed``) or ``uncertain`` (the
message went out but no answer came back, or a crash left the row ``sending``).
``uncertain_sends`` counts those unanswered messages: a resumed send tries an uncertain
recipient once more, so nobody is skipped and nobody gets more than
``MAX_UNCERTAIN_SENDS`` copies. A recipient without a row is pending.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import (
    Connection,
    DateTime,
    Executable,
    bindparam,
    delete,
    func,
    literal_column,
    select,
    text,
    update,
)

from newsletter.models import SubscriberStatus
from newsletter.store.driver import DriverStatement
from newsletter.store.tables import deliveries, subscribers


class DeliveryStatus(StrEnum):
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    DEFERRED = "deferred"
    UNCERTAIN = "uncertain"


PROBLEMS = (
    DeliveryStatus.FAILED.value,
    DeliveryStatus.DEFERRED.value,
    DeliveryStatus.UNCERTAIN.value,
)
MAX_UNCERTAIN_SENDS = 2
"""Messages that may go to one recipient without the server confirming any of them."""
IN_FLIGHT = "in flight when a send stopped"
SENT_AGAIN = "sent again after an earlier message got no answer; may have arrived twice"


class Selection(StrEnum):
    """Which recipients a run goes through."""

    REMAINING = "remaining"
    """Everyone not yet sent to, and uncertain ones once more: a first send or a resume."""
    DEFERRED = "deferred"
    """Only those deferred by temporary refusals: ``send --retry-failed``."""


@dataclass(frozen=True)
class AudienceRow:
    id: str
    email: str
    first_name: str
    last_name: str
    previous: DeliveryStatus | None = None
    """The row's status before this run claimed it; None for a first try."""
    reserved: bool = False
    """Held for this worker by a reservation (``store.workers``): a ``sending`` row
    without a message id, which the claim gives one."""

    @property
    def note_when_sent(self) -> str | None:
        return SENT_AGAIN if self.previous is DeliveryStatus.UNCERTAIN else None


@dataclass(frozen=True)
class Outcome:
    subscriber_id: str
    status: DeliveryStatus | None
    """None: the message certainly did not go out, so the claim is released."""
    attempts: int = 1
    error: str | None = None
    previous: DeliveryStatus | None = None
    """What a released claim goes back to."""


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


_RETRYABLE = {
    Selection.REMAINING: (
        "(d.status IS NULL OR (d.status = 'uncertain'"
        f" AND d.uncertain_sends < {MAX_UNCERTAIN_SENDS}))"
    ),
    Selection.DEFERRED: "d.status = 'deferred'",
}


def _recording_statements() -> tuple[Executable, Executable, Executable]:
    """Finish a delivery; release a claim that was new; release one that was a retry."""
    finish = (
        update(deliveries)
        .where(
            deliveries.c.campaign_id == bindparam("c_id"),
            deliveries.c.subscriber_id == bindparam("s_id"),
        )
        .values(
            status=bindparam("new_status"),
            attempts=deliveries.c.attempts + bindparam("new_attempts"),
            uncertain_sends=deliveries.c.uncertain_sends + bindparam("new_uncertain"),
            error=bindparam("new_error"),
            updated_at=bindparam("new_updated_at"),
        )
    )
    in_flight = (
        deliveries.c.campaign_id == bindparam("c_id"),
        deliveries.c.subscriber_id == bindparam("s_id"),
        deliveries.c.status == literal_column(f"'{DeliveryStatus.SENDING.value}'"),
    )
    release_new = delete(deliveries).where(*in_flight)
    release_again = update(deliveries).where(*in_flight).values(status=bindparam("new_status"))
    return finish, release_new, release_again


class Audience:
    """The statements for one campaign's audience, prepared once."""

    def __init__(
        self,
        campaign_id: int,
        topics: Sequence[str],
        selection: Selection = Selection.REMAINING,
    ) -> None:
        clause, self._topic_params = _topic_clause(topics)
        self.campaign_id = campaign_id
        self.selection = selection
        subscribed = f"'{SubscriberStatus.SUBSCRIBED.value}'"
        wanted = f"s.status = {subscribed}{clause}"
        retryable = _RETRYABLE[selection]
        # Pages walk the primary key: ``status || ''`` keeps SQLite from choosing the
        # status index, which would sort the whole audience again for every page.
        self._page = text(
            "SELECT s.id, s.email, s.first_name, s.last_name, d.status"
            " FROM subscribers s LEFT JOIN deliveries d"
            " ON d.campaign_id = :campaign_id AND d.subscriber_id = s.id"
            f" WHERE s.status || '' = {subscribed}{clause} AND {retryable}"
            " AND s.id > :after ORDER BY s.id LIMIT :limit"
        )
        self._count = text(
            "SELECT COUNT(*) FROM subscribers s LEFT JOIN deliveries d"
            " ON d.campaign_id = :campaign_id AND d.subscriber_id = s.id"
            f" WHERE {wanted} AND ({retryable} OR d.status = 'sending')"
        )
        self._claim = text(
            "INSERT INTO deliveries (campaign_id, subscriber_id, status, message_id,"
            " attempts, uncertain_sends, updated_at)"
            " SELECT :campaign_id, s.id, 'sending', :message_id, 0, 0, :now FROM subscribers s"
            f" WHERE s.id = :subscriber_id AND {wanted} AND NOT EXISTS (SELECT 1"
            " FROM deliveries d WHERE d.campaign_id = :campaign_id AND d.subscriber_id = s.id)"
            # Another process's claim may commit in between; it wins, this one is skipped.
            " ON CONFLICT DO NOTHING"
        ).bindparams(bindparam("now", type_=DateTime(timezone=True)))
        self._claim_again = text(
            "UPDATE deliveries SET status = 'sending', message_id = :message_id,"
            " updated_at = :now WHERE campaign_id = :campaign_id"
            " AND subscriber_id = :subscriber_id AND status = :previous"
            f" AND uncertain_sends < {MAX_UNCERTAIN_SENDS} AND EXISTS"
            f" (SELECT 1 FROM subscribers s WHERE s.id = :subscriber_id AND {wanted})"
        ).bindparams(bindparam("now", type_=DateTime(timezone=True)))
        self._claim_reserved = text(
            "UPDATE deliveries SET message_id = :message_id, updated_at = :now"
            " WHERE campaign_id = :campaign_id AND subscriber_id = :subscriber_id"
            " AND status = 'sending' AND message_id IS NULL AND EXISTS"
            f" (SELECT 1 FROM subscribers s WHERE s.id = :subscriber_id AND {wanted})"
        ).bindparams(bindparam("now", type_=DateTime(timezone=True)))
        self.wanted = wanted
        """The SQL condition on ``subscribers s`` for a member this issue goes to."""
        self._finish, self._release_new, self._release_again = _recording_statements()

    def params(self, **values: object) -> dict[str, object]:
        return {"campaign_id": self.campaign_id, **self._topic_params, **values}

    def page(self, connection: Connection, after: str, limit: int) -> list[AudienceRow]:
        """The next recipients to send to, in id order after ``after``."""
        rows = connection.execute(self._page, self.params(after=after, limit=limit))
        return [
            AudienceRow(*row[:4], previous=DeliveryStatus(row[4]) if row[4] else None)
            for row in rows
        ]

    def count(self, connection: Connection) -> int:
        """Recipients this selection still has to send to, counting messages left in
        flight by a crash."""
        return int(connection.execute(self._count, self.params()).scalar_one())

    def finish_values(self, outcome: Outcome, now: datetime) -> dict[str, object]:
        return {
            "c_id": self.campaign_id,
            "s_id": outcome.subscriber_id,
            "new_status": outcome.status.value if outcome.status else None,
            "new_attempts": outcome.attempts,
            "new_uncertain": 1 if outcome.status is DeliveryStatus.UNCERTAIN else 0,
            "new_error": outcome.error,
            "new_updated_at": now,
        }

    def release_values(self, outcome: Outcome) -> dict[str, object]:
        previous = outcome.previous
        return {
            "c_id": self.campaign_id,
            "s_id": outcome.subscriber_id,
            "new_status": previous.value if previous else None,
        }


class Recorder:
    """Per message, in one transaction: record the last outcome, claim the next recipient."""

    def __init__(self, audience: Audience, connection: Connection) -> None:
        dialect = connection.dialect
        self.audience = audience
        self._driver = connection.connection.dbapi_connection
        self._claim = DriverStatement(audience._claim, dialect)
        self._claim_again = DriverStatement(audience._claim_again, dialect)
        self._claim_reserved = DriverStatement(audience._claim_reserved, dialect)
        self._finish = DriverStatement(audience._finish, dialect)
        self._release_new = DriverStatement(audience._release_new, dialect)
        self._release_again = DriverStatement(audience._release_again, dialect)

    def _statement(self, outcome: Outcome, now: datetime) -> tuple[DriverStatement, dict]:
        audience = self.audience
        if outcome.status is not None:
            return self._finish, audience.finish_values(outcome, now)
        values = audience.release_values(outcome)
        if outcome.previous is None:
            return self._release_new, values
        return self._release_again, values

    def _claim_statement(self, row: AudienceRow) -> DriverStatement:
        if row.reserved:
            return self._claim_reserved
        return self._claim if row.previous is None else self._claim_again

    def step(
        self, outcome: Outcome | None, claim: tuple[AudienceRow, str] | None, now: datetime
    ) -> bool:
        """Returns True when ``claim`` (the recipient and its message id) was claimed. An
        outcome whose status is None releases its claim, as does a failed claim of a
        reserved recipient (no longer subscribed)."""
        audience = self.audience
        cursor = self._driver.cursor()
        try:
            if outcome is not None:
                statement, values = self._statement(outcome, now)
                cursor.execute(statement.sql, statement.params(values))
            claimed = False
            if claim is not None:
                row, message_id = claim
                statement = self._claim_statement(row)
                values = audience.params(subscriber_id=row.id, message_id=message_id, now=now)
                if row.previous is not None:
                    values["previous"] = row.previous.value
                cursor.execute(statement.sql, statement.params(values))
                claimed = cursor.rowcount == 1
                if row.reserved and not claimed:
                    values = audience.release_values(Outcome(row.id, None))
                    cursor.execute(self._release_new.sql, self._release_new.params(values))
            self._driver.commit()
        except BaseException:
            self._driver.rollback()
            raise
        finally:
            cursor.close()
        return claimed


def mark_in_flight_uncertain(connection: Connection, campaign_id: int, now: datetime) -> int:
    """Rows a crashed send left ``sending`` with a message id: it is unknown whether
    they arrived. (Without one they were only reserved: ``release_reserved``.)"""
    result = connection.execute(
        update(deliveries)
        .where(
            deliveries.c.campaign_id == campaign_id,
            deliveries.c.status == DeliveryStatus.SENDING.value,
            deliveries.c.message_id.is_not(None),
        )
        .values(
            status=DeliveryStatus.UNCERTAIN.value,
            uncertain_sends=deliveries.c.uncertain_sends + 1,
            error=IN_FLIGHT,
            updated_at=now,
        )
    )
    return result.rowcount


def release_reserved(
    connection: Connection, campaign_id: int, subscriber_ids: Sequence[str] | None = None
) -> int:
    """Reservations whose message never went out (of ``subscriber_ids``, or all) back
    to pending."""
    query = delete(deliveries).where(
        deliveries.c.campaign_id == campaign_id,
        deliveries.c.status == DeliveryStatus.SENDING.value,
        deliveries.c.message_id.is_(None),
    )
    if subscriber_ids is not None:
        query = query.where(deliveries.c.subscriber_id.in_(list(subscriber_ids)))
    return connection.execute(query).rowcount


def counts(connection: Connection, campaign_id: int) -> dict[DeliveryStatus, int]:
    query = (
        select(deliveries.c.status, func.count())
        .where(deliveries.c.campaign_id == campaign_id)
        .group_by(deliveries.c.status)
    )
    return {DeliveryStatus(status): number for status, number in connection.execute(query)}


def unconfirmed_count(connection: Connection, campaign_id: int) -> int:
    """Recipients who were sent a message the server never confirmed: ``uncertain`` ones,
    and those sent to again afterwards, who may hold two copies."""
    query = select(func.count()).where(
        deliveries.c.campaign_id == campaign_id, deliveries.c.uncertain_sends > 0
    )
    return int(connection.execute(query).scalar_one())


def problems(connection: Connection, campaign_id: int) -> Iterator[tuple[str, str, str, str]]:
    """(email, status, message id, error) of every recipient who did not certainly get
    exactly one message: failed, deferred, uncertain, or sent again after no answer."""
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
            deliveries.c.status.in_(PROBLEMS) | (deliveries.c.uncertain_sends > 0),
        )
        .order_by(subscribers.c.email_key)
    )
    for row in connection.execute(query):
        yield row.email, row.status, row.message_id or "", row.error or ""
