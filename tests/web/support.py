"""What the preference centre tests share: the audience, the secrets, a running server."""

from __future__ import annotations

import re
import socket
from dataclasses import dataclass

from newsletter.config import Settings
from newsletter.links import LinkBuilder
from newsletter.models import Subscriber
from newsletter.providers.base import MemberInput, Provider

SECRET = "current-secret-for-tests-0123456789abcdef"
OLD_SECRET = "previous-secret-for-tests-0123456789abcdef"

MEMBERS = (
    MemberInput("sam@example.org", first_name="Sam", topics=frozenset({"events"})),
    MemberInput("alex@example.org", first_name="Alex", topics=frozenset({"reviews", "resources"})),
    MemberInput("kim@example.org", first_name="Kim", topics=frozenset({"events", "reviews"})),
)


@dataclass
class Server:
    """A running server and the links the audience's emails would carry."""

    base_url: str
    settings: Settings
    provider: Provider
    links: LinkBuilder

    def local(self, public_url: str) -> str:
        """A public link (as in an email) pointed at this server."""
        public = self.settings.public_url.rstrip("/")
        assert public_url.startswith(public + "/")
        return self.base_url + public_url[len(public) :]

    def member(self, email: str) -> Subscriber:
        subscriber = self.provider.find_by_email(email)
        assert subscriber is not None
        return subscriber

    def unsubscribe_url(self, email: str) -> str:
        return self.local(self.links.unsubscribe_url(self.member(email).id))

    def preferences_url(self, email: str) -> str:
        return self.local(self.links.preferences_url(self.member(email).id))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


CSRF_FIELD = re.compile(r'name="csrf" value="([^"]+)"')


def csrf_from(html: str) -> str:
    found = CSRF_FIELD.search(html)
    assert found, "the page has no CSRF field"
    return found.group(1)


def consent_log(provider: Provider, subscriber_id: str) -> list[tuple[str, str]]:
    """(action, source) of every consent-log entry for one subscriber, oldest first."""
    from newsletter.providers.memory import MemoryProvider

    if isinstance(provider, MemoryProvider):
        return [
            (change.what, change.source.value)
            for change in provider.changes
            if change.subscriber_id == subscriber_id
        ]
    from sqlalchemy import select

    from newsletter.store.database import engine_from_settings
    from newsletter.store.tables import consent_log as table

    engine = engine_from_settings(provider.settings)
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                select(table.c.action, table.c.source)
                .where(table.c.subscriber_id == subscriber_id)
                .order_by(table.c.id)
            ).all()
    finally:
        engine.dispose()
    return [(str(action), str(source)) for action, source in rows]
