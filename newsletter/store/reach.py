"""Who an issue reaches among the subscribed members, and who it leaves out and why.

Counted in one query over the same selection ``deliveries.Audience`` sends to: subscribed
members and, when the issue names topics, only those who chose at least one of them.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection, case, exists, func, select

from newsletter.checks.context import Reach
from newsletter.models import SubscriberStatus
from newsletter.store.tables import subscriber_topics, subscribers


def count(connection: Connection, topics: Sequence[str]) -> Reach:
    """The subscribed members, those ``topics`` reach, and those left out: with no topic
    at all, or with only topics the issue does not name."""
    subscribed = subscribers.c.status == SubscriberStatus.SUBSCRIBED.value
    if not topics:
        total = connection.execute(select(func.count()).where(subscribed)).scalar_one()
        return Reach(int(total), int(total), 0, 0)
    own = subscriber_topics.c.subscriber_id == subscribers.c.id
    any_topic = exists().where(own)
    wanted = exists().where(own, subscriber_topics.c.topic_id.in_(list(topics)))
    query = select(
        func.count(),
        func.coalesce(func.sum(case((wanted, 1), else_=0)), 0),
        func.coalesce(func.sum(case((~any_topic, 1), else_=0)), 0),
    ).where(subscribed)
    total, reached, no_topic = (int(value) for value in connection.execute(query).one())
    return Reach(total, reached, no_topic, total - reached - no_topic, tuple(topics))
