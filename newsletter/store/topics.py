"""Topics as ``newsletter.yaml`` defines them, mirrored into the database."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection, func, select

from newsletter.config import Topic
from newsletter.models import SubscriberStatus
from newsletter.store.tables import subscriber_topics, subscribers, topics


def sync_topics(connection: Connection, defined: Sequence[Topic]) -> None:
    """Add new topics and update names; topics no longer defined keep their rows."""
    stored = {row.id: row for row in connection.execute(select(topics))}
    for topic in defined:
        row = stored.get(topic.id)
        values = {"name": topic.name, "description": topic.description}
        if row is None:
            connection.execute(topics.insert().values(id=topic.id, **values))
        elif (row.name, row.description) != (topic.name, topic.description):
            connection.execute(topics.update().where(topics.c.id == topic.id).values(**values))


def subscribed_counts(connection: Connection) -> dict[str, int]:
    """Subscribed members per topic id."""
    query = (
        select(subscriber_topics.c.topic_id, func.count())
        .join(subscribers, subscribers.c.id == subscriber_topics.c.subscriber_id)
        .where(subscribers.c.status == SubscriberStatus.SUBSCRIBED.value)
        .group_by(subscriber_topics.c.topic_id)
    )
    return {topic_id: count for topic_id, count in connection.execute(query)}
