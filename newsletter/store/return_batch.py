"""What acting on a batch of reports reads and writes, in the caller's transaction.

A batch is read in two queries up front (which reports were recorded before, and the
members the reports name), and its writes (status changes, consent log entries, the
report rows) go out as one ``executemany`` each when the batch is flushed. Statements
are compiled once for the connection's dialect and run on its driver cursor: per
report that costs microseconds, where a statement through SQLAlchemy's ``execute``
costs tens. Reads in between see the batch's own writes through what is kept here.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Executable, bindparam, select, update

from newsletter.store.consent import ConsentEntry
from newsletter.store.driver import DriverStatement
from newsletter.store.returns import BOUNCE_VERDICTS, SENT_STATUSES, Member, ReturnRow, one_of
from newsletter.store.tables import campaigns, consent_log, deliveries, returns, subscribers


def _statements() -> dict[str, Executable]:
    member_id, now = bindparam("member_id"), bindparam("now")
    return {
        "recorded": select(returns.c.id).where(returns.c.report_key == bindparam("key")),
        "member": select(subscribers.c.id, subscribers.c.email, subscribers.c.status).where(
            subscribers.c.id == member_id
        ),
        "slug": select(campaigns.c.slug).where(campaigns.c.id == bindparam("campaign_id")),
        "by_message_id": select(deliveries.c.subscriber_id, deliveries.c.campaign_id).where(
            deliveries.c.message_id == bindparam("message_id")
        ),
        "recent_sends": select(deliveries.c.campaign_id)
        .where(deliveries.c.subscriber_id == member_id, one_of(deliveries.c.status, SENT_STATUSES))
        .order_by(deliveries.c.updated_at.desc(), deliveries.c.campaign_id.desc()),
        "bounced_campaigns": select(returns.c.campaign_id).where(
            returns.c.subscriber_id == member_id,
            one_of(returns.c.verdict, BOUNCE_VERDICTS),
            returns.c.campaign_id.is_not(None),
        ),
        "set_status": update(subscribers)
        .where(subscribers.c.id == member_id, subscribers.c.status != bindparam("status"))
        .values(status=bindparam("status"), updated_at=now),
        "log": consent_log.insert().values(
            subscriber_id=member_id,
            at=now,
            action=bindparam("action"),
            source=bindparam("source"),
            note=bindparam("note"),
        ),
        "record": returns.insert().values(
            report_key=bindparam("key"),
            received_at=now,
            verdict=bindparam("verdict"),
            subscriber_id=member_id,
            campaign_id=bindparam("campaign_id"),
            outcome=bindparam("outcome"),
            raw=bindparam("raw"),
            keep_raw_until=bindparam("keep_until"),
        ),
    }


class ReturnsStore:
    def __init__(self, connection: Connection) -> None:
        self._connection = connection
        self._driver: Any = connection.connection.dbapi_connection
        self._statements = {
            name: DriverStatement(statement, connection.dialect)
            for name, statement in _statements().items()
        }
        self._slugs: dict[int, str | None] = {}
        self._asked_keys: set[str] = set()
        self._recorded: set[str] = set()
        self._asked_members: set[str] = set()
        self._members: dict[str, Member] = {}
        self._bounced: dict[str, set[int]] = {}
        self._writes: dict[str, list[Any]] = {"set_status": [], "log": [], "record": []}

    def prefetch(self, report_keys: Iterable[str], subscriber_ids: Iterable[str]) -> None:
        """Read what the coming reports will ask about, two queries for the batch."""
        keys, ids = sorted(set(report_keys)), sorted(set(subscriber_ids))
        found = select(returns.c.report_key).where(returns.c.report_key.in_(keys))
        self._asked_keys, self._recorded = set(keys), set()
        if keys:
            self._recorded = set(self._connection.execute(found).scalars())
        people = select(subscribers.c.id, subscribers.c.email, subscribers.c.status)
        self._asked_members, self._members = set(ids), {}
        if ids:
            rows = self._connection.execute(people.where(subscribers.c.id.in_(ids)))
            self._members = {row.id: Member(row.id, row.email, row.status) for row in rows}

    def _rows(self, name: str, limit: int | None = None, **values: object) -> list[Any]:
        statement = self._statements[name]
        cursor = self._driver.cursor()
        try:
            cursor.execute(statement.sql, statement.params(values))
            return list(cursor.fetchmany(limit) if limit is not None else cursor.fetchall())
        finally:
            cursor.close()

    def is_recorded(self, report_key: str) -> bool:
        if report_key in self._recorded:
            return True
        return report_key not in self._asked_keys and bool(self._rows("recorded", key=report_key))

    def member(self, subscriber_id: str) -> Member | None:
        if subscriber_id in self._members or subscriber_id in self._asked_members:
            return self._members.get(subscriber_id)
        rows = self._rows("member", member_id=subscriber_id)
        return Member(*rows[0]) if rows else None

    def campaign_slug(self, campaign_id: int) -> str | None:
        """The campaign's slug; None when there is no such campaign. Remembered: a
        campaign's slug never changes, and a run asks about the same few again and again."""
        if campaign_id not in self._slugs:
            rows = self._rows("slug", campaign_id=campaign_id)
            self._slugs[campaign_id] = rows[0][0] if rows else None
        return self._slugs[campaign_id]

    def by_message_id(self, message_id: str) -> tuple[str, int] | None:
        """(subscriber id, campaign id) of the delivery that sent ``message_id``."""
        rows = self._rows("by_message_id", message_id=message_id)
        return (rows[0][0], rows[0][1]) if rows else None

    def recent_sends(self, subscriber_id: str, limit: int) -> list[int]:
        """The campaigns last sent to the member, newest first."""
        return [row[0] for row in self._rows("recent_sends", limit, member_id=subscriber_id)]

    def bounced_campaigns(self, subscriber_id: str) -> set[int]:
        """The campaigns for which the member has a bounce (soft or hard) recorded."""
        stored = {row[0] for row in self._rows("bounced_campaigns", member_id=subscriber_id)}
        return stored | self._bounced.get(subscriber_id, set())

    def set_status(self, member: Member, status: str, now: datetime) -> bool:
        """True when the status changed."""
        if member.status == status:
            return False
        self._members[member.id] = Member(member.id, member.email, status)
        self._asked_members.add(member.id)
        self._write("set_status", member_id=member.id, status=status, now=now)
        return True

    def log(self, entry: ConsentEntry) -> None:
        values = {"action": entry.action, "source": entry.source, "note": entry.note}
        self._write("log", member_id=entry.subscriber_id, now=entry.at, **values)

    def record(self, row: ReturnRow) -> None:
        self._recorded.add(row.report_key)
        if row.verdict in BOUNCE_VERDICTS and row.campaign_id is not None:
            self._bounced.setdefault(row.subscriber_id, set()).add(row.campaign_id)
        self._write(
            "record",
            key=row.report_key,
            now=row.received_at,
            verdict=row.verdict,
            member_id=row.subscriber_id,
            campaign_id=row.campaign_id,
            outcome=row.outcome,
            raw=zlib.compress(row.raw, 1) if row.raw is not None else None,
            keep_until=row.keep_raw_until,
        )

    def _write(self, name: str, **values: object) -> None:
        self._writes[name].append(self._statements[name].params(values))

    def flush(self) -> None:
        """Write what the batch decided; the caller commits."""
        cursor = self._driver.cursor()
        try:
            for name, rows in self._writes.items():
                if rows:
                    cursor.executemany(self._statements[name].sql, rows)
                    rows.clear()
        finally:
            cursor.close()
        self._bounced.clear()
