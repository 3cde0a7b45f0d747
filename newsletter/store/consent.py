"""The consent log: every status or topic change, when, from where and why."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, select

from newsletter.store.tables import consent_log


@dataclass(frozen=True)
class ConsentEntry:
    subscriber_id: str
    at: datetime
    action: str
    source: str
    note: str = ""


def record(connection: Connection, entries: Iterable[ConsentEntry]) -> None:
    rows = [
        {
            "subscriber_id": e.subscriber_id,
            "at": e.at,
            "action": e.action,
            "source": e.source,
            "note": e.note,
        }
        for e in entries
    ]
    if rows:
        connection.execute(consent_log.insert(), rows)


def history(connection: Connection, subscriber_id: str) -> list[ConsentEntry]:
    rows = connection.execute(
        select(consent_log)
        .where(consent_log.c.subscriber_id == subscriber_id)
        .order_by(consent_log.c.id)
    )
    return [
        ConsentEntry(row.subscriber_id, row.at, row.action, row.source, row.note) for row in rows
    ]
