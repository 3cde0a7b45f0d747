"""Subscribers and their topic choices; every status or topic change goes to the consent log."""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, Row, delete, exists, select, update

from newsletter.models import Subscriber, SubscriberStatus
from newsletter.store import consent
from newsletter.store.consent import ConsentEntry
from newsletter.store.tables import subscriber_topics, subscribers

PAGE = 1000


def new_id() -> str:
    """Opaque and random: safe to put in a signed link, says nothing about the person."""
    return secrets.token_urlsafe(12)


def email_key(email: str) -> str:
    return email.strip().lower()


def _topics_of(connection: Connection, ids: Sequence[str]) -> dict[str, set[str]]:
    chosen: dict[str, set[str]] = {i: set() for i in ids}
    if ids:
        query = select(subscriber_topics).where(subscriber_topics.c.subscriber_id.in_(ids))
        for row in connection.execute(query):
            chosen[row.subscriber_id].add(row.topic_id)
    return chosen


def _subscriber(row: Row, topics: set[str]) -> Subscriber:
    return Subscriber.model_construct(
        id=row.id,
        email=row.email,
        first_name=row.first_name,
        last_name=row.last_name,
        status=SubscriberStatus(row.status),
        topics=frozenset(topics),
    )


def get(connection: Connection, subscriber_id: str) -> Subscriber | None:
    row = connection.execute(select(subscribers).where(subscribers.c.id == subscriber_id)).first()
    if row is None:
        return None
    return _subscriber(row, _topics_of(connection, [row.id])[row.id])


def find_by_email(connection: Connection, email: str) -> Subscriber | None:
    query = select(subscribers).where(subscribers.c.email_key == email_key(email))
    row = connection.execute(query).first()
    if row is None:
        return None
    return _subscriber(row, _topics_of(connection, [row.id])[row.id])


def iter_members(
    engine: Engine, *, status: SubscriberStatus | None = None, topic: str | None = None
) -> Iterator[Subscriber]:
    """Members ordered by email, a page at a time: the audience is never all in memory."""
    after = ""
    while True:
        query = select(subscribers).where(subscribers.c.email_key > after)
        if status is not None:
            # concat: walk the email index in order rather than sort every page
            query = query.where(subscribers.c.status.concat("") == status.value)
        if topic is not None:
            query = query.where(
                exists().where(
                    subscriber_topics.c.subscriber_id == subscribers.c.id,
                    subscriber_topics.c.topic_id == topic,
                )
            )
        query = query.order_by(subscribers.c.email_key).limit(PAGE)
        with engine.connect() as connection:
            rows = connection.execute(query).all()
            chosen = _topics_of(connection, [row.id for row in rows])
        for row in rows:
            yield _subscriber(row, chosen[row.id])
        if len(rows) < PAGE:
            return
        after = rows[-1].email_key


def set_status(
    connection: Connection,
    subscriber_id: str,
    status: SubscriberStatus,
    *,
    action: str,
    source: str,
    note: str,
    now: datetime,
) -> bool:
    """One UPDATE that changes only a different status; logs it when it changed."""
    result = connection.execute(
        update(subscribers)
        .where(subscribers.c.id == subscriber_id, subscribers.c.status != status.value)
        .values(status=status.value, updated_at=now)
    )
    if result.rowcount:
        consent.record(connection, [ConsentEntry(subscriber_id, now, action, source, note)])
    return bool(result.rowcount)


def replace_topics(
    connection: Connection,
    subscriber_id: str,
    chosen: frozenset[str],
    *,
    source: str,
    note: str,
    now: datetime,
) -> bool:
    current = _topics_of(connection, [subscriber_id])[subscriber_id]
    if current == set(chosen):
        return False
    _write_topics(connection, subscriber_id, current, chosen)
    connection.execute(
        update(subscribers).where(subscribers.c.id == subscriber_id).values(updated_at=now)
    )
    consent.record(
        connection, [ConsentEntry(subscriber_id, now, _topics_action(chosen), source, note)]
    )
    return True


def _topics_action(chosen: Iterable[str]) -> str:
    return "topics:" + ",".join(sorted(chosen))


def _write_topics(
    connection: Connection, subscriber_id: str, current: set[str], chosen: frozenset[str]
) -> None:
    removed = current - chosen
    added = chosen - current
    if removed:
        connection.execute(
            delete(subscriber_topics).where(
                subscriber_topics.c.subscriber_id == subscriber_id,
                subscriber_topics.c.topic_id.in_(removed),
            )
        )
    if added:
        connection.execute(
            subscriber_topics.insert(),
            [{"subscriber_id": subscriber_id, "topic_id": t} for t in sorted(added)],
        )


@dataclass(frozen=True)
class NewMember:
    email: str
    first_name: str
    last_name: str
    topics: frozenset[str]
    note: str = ""
    default_topics: frozenset[str] = frozenset()
    """For a member whose row names no topic and who has none yet."""

    def topics_given(self, current: set[str]) -> frozenset[str]:
        """The topics to write for a member who has ``current``; empty keeps them."""
        return self.topics or (frozenset() if current else self.default_topics)


@dataclass
class ImportCounts:
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    kept_unsubscribed: int = 0

    def add(self, other: ImportCounts) -> None:
        self.added += other.added
        self.updated += other.updated
        self.unchanged += other.unchanged
        self.kept_unsubscribed += other.kept_unsubscribed


class _ImportBatch:
    """The rows, topics and consent entries one import batch writes."""

    def __init__(self, connection: Connection, source: str, now: datetime) -> None:
        self.connection = connection
        self.source = source
        self.now = now
        self.new_rows: list[dict[str, object]] = []
        self.new_topics: list[dict[str, str]] = []
        self.log: list[ConsentEntry] = []

    def _note(self, subscriber_id: str, action: str, member: NewMember) -> None:
        self.log.append(ConsentEntry(subscriber_id, self.now, action, self.source, member.note))

    def add(self, key: str, member: NewMember) -> None:
        subscriber_id = new_id()
        self.new_rows.append(
            {
                "id": subscriber_id,
                "email": member.email,
                "email_key": key,
                "first_name": member.first_name,
                "last_name": member.last_name,
                "status": SubscriberStatus.SUBSCRIBED.value,
                "created_at": self.now,
                "updated_at": self.now,
            }
        )
        chosen = member.topics_given(set())
        self.new_topics.extend(
            {"subscriber_id": subscriber_id, "topic_id": t} for t in sorted(chosen)
        )
        self._note(subscriber_id, "subscribed", member)
        if chosen:
            self._note(subscriber_id, _topics_action(chosen), member)

    def update(self, row: Row[Any], member: NewMember, current: set[str]) -> bool:
        """Bring a subscribed (or resubscribed) member up to date; True if anything changed."""
        values: dict[str, object] = {}
        if member.first_name and member.first_name != row.first_name:
            values["first_name"] = member.first_name
        if member.last_name and member.last_name != row.last_name:
            values["last_name"] = member.last_name
        if row.status != SubscriberStatus.SUBSCRIBED.value:
            values["status"] = SubscriberStatus.SUBSCRIBED.value
            self._note(row.id, "resubscribed", member)
        chosen = member.topics_given(current)
        topics_changed = bool(chosen) and current != set(chosen)
        if topics_changed:
            _write_topics(self.connection, row.id, current, chosen)
            self._note(row.id, _topics_action(chosen), member)
        if not (values or topics_changed):
            return False
        self.connection.execute(
            update(subscribers)
            .where(subscribers.c.id == row.id)
            .values(updated_at=self.now, **values)
        )
        return True

    def write(self) -> None:
        if self.new_rows:
            self.connection.execute(subscribers.insert(), self.new_rows)
        if self.new_topics:
            self.connection.execute(subscriber_topics.insert(), self.new_topics)
        consent.record(self.connection, self.log)


def import_batch(
    connection: Connection,
    members: Sequence[NewMember],
    *,
    resubscribe: bool,
    source: str,
    now: datetime,
    counts: ImportCounts,
) -> None:
    """Add or update one batch (unique emails). Unsubscribed and bounced members keep
    their status unless ``resubscribe``; a topics column left empty keeps their topics, and
    gives the default topics to a member who has none."""
    keys = [email_key(m.email) for m in members]
    existing = {
        row.email_key: row
        for row in connection.execute(select(subscribers).where(subscribers.c.email_key.in_(keys)))
    }
    chosen = _topics_of(connection, [row.id for row in existing.values()])
    batch = _ImportBatch(connection, source, now)
    for key, member in zip(keys, members, strict=True):
        row = existing.get(key)
        if row is None:
            batch.add(key, member)
            counts.added += 1
        elif row.status != SubscriberStatus.SUBSCRIBED.value and not resubscribe:
            counts.kept_unsubscribed += 1
        elif batch.update(row, member, chosen[row.id]):
            counts.updated += 1
        else:
            counts.unchanged += 1
    batch.write()
