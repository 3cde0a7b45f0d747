"""A real uvicorn server on 127.0.0.1 serving the preference centre, and its audience."""

from __future__ import annotations

import itertools
import os
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from pydantic import SecretStr

from newsletter.campaigns import load_issue
from newsletter.config import Settings, load_settings
from newsletter.links import LinkBuilder
from newsletter.providers.base import ChangeSource, Provider
from newsletter.web import create_app
from newsletter.web.app import web_provider
from newsletter.web.server import uvicorn_config

from .support import MEMBERS, OLD_SECRET, SECRET, Server, free_port

_database_names = itertools.count(1)


@pytest.fixture
def web_settings(project_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("NEWSLETTER_SECRET", SECRET)
    monkeypatch.setenv("NEWSLETTER_OLD_SECRETS", OLD_SECRET)
    return load_settings(project_dir / "newsletter.yaml")


@pytest.fixture(params=["memory", "local", "postgresql"])
def provider(request: pytest.FixtureRequest, web_settings: Settings) -> Iterator[Provider]:
    """The in-memory provider, or the local one on SQLite or on PostgreSQL."""
    if request.param == "postgresql":
        cluster = request.getfixturevalue("postgres_cluster")
        name = f"web_{os.getpid()}_{next(_database_names)}"
        url = SecretStr(cluster.create_database(name))
        request.addfinalizer(lambda: cluster.drop_database(name))
        web_settings = web_settings.model_copy(update={"database_url": url})
    name = "local" if request.param == "postgresql" else request.param
    chosen = web_provider(web_settings, name)
    chosen.import_members(MEMBERS, source=ChangeSource.IMPORT)
    yield chosen
    chosen.close()


@pytest.fixture
def start_server() -> Iterator[Callable[..., Server]]:
    """Starts uvicorn in a thread on a free port; every server stops after the test.

    Keyword arguments go to ``create_app`` (``body_limits``).
    """
    running: list[tuple[uvicorn.Server, threading.Thread]] = []

    def start(settings: Settings, provider: Provider, **options: Any) -> Server:
        app = create_app(settings, provider, **options)
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
    start_server: Callable[..., Server],
    web_settings: Settings,
    provider: Provider,
) -> Server:
    return start_server(web_settings, provider)


@pytest.fixture
def published(provider: Provider, web_settings: Settings, example_file: Path) -> str:
    """The example issue sent (into the outbox for the local provider): it has a web version."""
    provider.send(load_issue(example_file, web_settings))
    return load_issue(example_file, web_settings).slug


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    """A client that keeps no cookies and never follows redirects, like a mailbox provider."""
    with httpx.Client(follow_redirects=False, timeout=10) as http:
        yield http
