"""A real uvicorn server on 127.0.0.1 serving the preference centre, and its audience."""

from __future__ import annotations

import re
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import uvicorn

from newsletter.config import Settings, load_settings
from newsletter.links import LinkBuilder
from newsletter.models import Subscriber
from newsletter.providers import get_provider
from newsletter.providers.base import ChangeSource, MemberInput, Provider
from newsletter.web import create_app
from newsletter.web.server import uvicorn_config

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


@pytest.fixture
def web_settings(project_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("NEWSLETTER_SECRET", SECRET)
    monkeypatch.setenv("NEWSLETTER_OLD_SECRETS", OLD_SECRET)
    return load_settings(project_dir / "newsletter.yaml")


def _provider_names() -> list[str]:
    try:
        import newsletter.providers.local  # noqa: F401
    except ImportError:
        return ["memory"]
    return ["memory", "local"]


@pytest.fixture(params=_provider_names())
def provider(request: pytest.FixtureRequest, web_settings: Settings) -> Iterator[Provider]:
    chosen = get_provider(web_settings, request.param)
    chosen.import_members(MEMBERS, source=ChangeSource.IMPORT)
    yield chosen
    chosen.close()


@pytest.fixture
def start_server() -> Iterator[Callable[[Settings, Provider], Server]]:
    """Starts uvicorn in a thread on a free port; every server stops after the test."""
    running: list[tuple[uvicorn.Server, threading.Thread]] = []

    def start(settings: Settings, provider: Provider) -> Server:
        app = create_app(settings, provider)
        port = free_port()
        server = uvicorn.Server(uvicorn_config(app, "127.0.0.1", port, log_level="warning"))
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        deadline = time.monotonic() + 10
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.01)
        running.append((server, thread))
        return Server(
            f"http://127.0.0.1:{port}", settings, provider, LinkBuilder.from_settings(settings)
        )

    yield start
    for server, thread in running:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture
def server(
    start_server: Callable[[Settings, Provider], Server],
    web_settings: Settings,
    provider: Provider,
) -> Server:
    return start_server(web_settings, provider)


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    """A client that keeps no cookies and never follows redirects, like a mailbox provider."""
    with httpx.Client(follow_redirects=False, timeout=10) as http:
        yield http


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
