"""Several processes sending one campaign at once, on PostgreSQL.

Each worker reserves new recipients a batch at a time (``reserve``): in one short
transaction it picks them with ``FOR NO KEY UPDATE OF s SKIP LOCKED``, so two workers
reserving at once take different ones, and writes their delivery rows as ``sending``
without a message id. Just before each message the worker claims its row by giving it
the message id, re-checking that the member still wants the issue (as a first claim
does, ``store.deliveries``). A reservation is never a message in flight, so a killed
worker's reservations go back to pending and only its messages in flight are uncertain.

Each worker also keeps a connection of its own, its lease, holding a shared advisory
lock on the campaign while it works. The server drops a killed worker's locks with its
connection, so a worker that finds no other holder knows every row still ``sending``
is a dead worker's (``leave``, ``only_worker``).
"""

from __future__ import annotations

import zlib
from datetime import datetime

from sqlalchemy import Connection, DateTime, Engine, bindparam, text

from newsletter.store.deliveries import Audience, AudienceRow

NAMESPACE = 0x6E6C5377
"""The first half of the campaign locks' two-part key; any number, the same everywhere."""


def campaign_key(provider: str, slug: str) -> int:
    """The second half: a stable 32-bit signed number for the campaign."""
    number = zlib.crc32(f"{provider}:{slug}".encode())
    return number - (1 << 32) if number >= 1 << 31 else number


class Lease:
    """One worker's hold on a campaign; see the module docstring."""

    def __init__(self, engine: Engine, provider: str, slug: str) -> None:
        self.connection: Connection = engine.connect()
        self._key = {"namespace": NAMESPACE, "key": campaign_key(provider, slug)}
        self.alone = False
        """Set by ``leave``: no other worker was left, and none can start until ``close``."""
        self._left = False
        self._lock("pg_advisory_lock_shared")

    def _lock(self, function: str) -> bool:
        self.connection.commit()
        held = self.connection.execute(
            text(f"SELECT {function}(:namespace, :key)"), self._key
        ).scalar()
        self.connection.commit()
        return held is not False

    def only_worker(self) -> bool:
        """True when no other worker holds the campaign; it is then held exclusively
        until ``share`` (a worker starting meanwhile waits)."""
        return self._lock("pg_try_advisory_lock")

    def share(self) -> None:
        """Back from ``only_worker`` to working beside others."""
        self._lock("pg_advisory_unlock")

    def leave(self) -> bool:
        """Stop working on the campaign. True when this was the last worker: the
        campaign is then held exclusively until ``close``, for its final state."""
        if not self._left:
            self._left = True
            self._lock("pg_advisory_unlock_shared")
            self.alone = self._lock("pg_try_advisory_lock")
        return self.alone

    def rejoin(self) -> None:
        """Work again after a ``leave`` that found work left by dead workers."""
        self._lock("pg_advisory_lock_shared")
        self._lock("pg_advisory_unlock")
        self.alone = self._left = False

    def close(self) -> None:
        try:
            self.connection.rollback()
            self.connection.execute(text("SELECT pg_advisory_unlock_all()"))
            self.connection.commit()
        finally:
            self.connection.close()


def reserve(
    connection: Connection, audience: Audience, after: str, limit: int, now: datetime
) -> list[AudienceRow]:
    """Up to ``limit`` new recipients after ``after`` in id order, reserved for this
    worker in one transaction; those another worker is reserving are skipped."""
    statement = text(
        "WITH picked AS (SELECT s.id, s.email, s.first_name, s.last_name"
        " FROM subscribers s LEFT JOIN deliveries d"
        " ON d.campaign_id = :campaign_id AND d.subscriber_id = s.id"
        f" WHERE {audience.wanted} AND d.status IS NULL AND s.id > :after"
        " ORDER BY s.id LIMIT :limit FOR NO KEY UPDATE OF s SKIP LOCKED),"
        " reserved AS (INSERT INTO deliveries (campaign_id, subscriber_id, status,"
        " attempts, uncertain_sends, updated_at)"
        " SELECT :campaign_id, id, 'sending', 0, 0, :now FROM picked"
        " ON CONFLICT DO NOTHING RETURNING subscriber_id)"
        " SELECT p.id, p.email, p.first_name, p.last_name FROM picked p"
        " JOIN reserved r ON r.subscriber_id = p.id ORDER BY p.id"
    ).bindparams(bindparam("now", type_=DateTime(timezone=True)))
    with connection.begin():
        rows = connection.execute(statement, audience.params(after=after, limit=limit, now=now))
        return [AudienceRow(*row, reserved=True) for row in rows]
