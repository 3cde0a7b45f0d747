"""The preference centre when the database is locked, against a real uvicorn server.

Another process (a send, an import) holds the SQLite write lock, played here by a second
connection to the same file in ``BEGIN IMMEDIATE`` or ``BEGIN EXCLUSIVE``.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from newsletter.models import SubscriberStatus
from newsletter.providers.local import LocalProvider
from newsletter.web.app import LOCK_TIMEOUT, RETRY_AFTER

from .support import Server, consent_log, csrf_from

ONE_CLICK = {"List-Unsubscribe": "One-Click"}
LOCAL = pytest.mark.parametrize("provider", ["local"], indirect=True)


@contextmanager
def database_locked(server: Server, how: str = "IMMEDIATE") -> Iterator[None]:
    """Holds the write lock of the server's SQLite file from another connection."""
    assert isinstance(server.provider, LocalProvider)
    path = server.provider.engine.url.database
    assert path
    holder = sqlite3.connect(path, isolation_level=None, timeout=0)
    try:
        holder.execute(f"BEGIN {how}")
        yield
        holder.execute("ROLLBACK")
    finally:
        holder.close()


def _timed_post(client, url: str, data: dict[str, object]):
    started = time.monotonic()
    response = client.post(url, data=data)
    return response, time.monotonic() - started


@LOCAL
@pytest.mark.parametrize("how", ["IMMEDIATE", "EXCLUSIVE"])
def test_one_click_while_the_database_is_locked_says_try_later_at_once(server, client, how):
    url = server.unsubscribe_url("sam@example.org")
    sam = server.member("sam@example.org")
    before = consent_log(server.provider, sam.id)
    with database_locked(server, how):
        response, elapsed = _timed_post(client, url, ONE_CLICK)
    assert response.status_code == 503
    assert response.headers["retry-after"] == str(RETRY_AFTER)
    assert "location" not in response.headers
    assert "Please try again in a few minutes" in response.text
    assert elapsed < LOCK_TIMEOUT + 1
    assert server.member("sam@example.org").status is SubscriberStatus.SUBSCRIBED
    assert consent_log(server.provider, sam.id) == before

    retry = client.post(url, data=ONE_CLICK)
    assert retry.status_code == 200
    assert server.member("sam@example.org").status is SubscriberStatus.UNSUBSCRIBED
    assert consent_log(server.provider, sam.id) == [*before, ("unsubscribed", "one-click")]


@LOCAL
def test_preferences_form_while_the_database_is_locked_changes_nothing(server, client):
    url = server.preferences_url("alex@example.org")
    alex = server.member("alex@example.org")
    form = {"csrf": csrf_from(client.get(url).text), "action": "save", "topics": ["events"]}
    before = consent_log(server.provider, alex.id)
    with database_locked(server):
        response, elapsed = _timed_post(client, url, form)
    assert response.status_code == 503
    assert response.headers["retry-after"] == str(RETRY_AFTER)
    assert "Please try again in a few minutes" in response.text
    assert elapsed < LOCK_TIMEOUT + 1
    assert server.member("alex@example.org").topics == alex.topics
    assert consent_log(server.provider, alex.id) == before

    retry = client.post(url, data=form)
    assert retry.status_code == 200
    assert server.member("alex@example.org").topics == frozenset({"events"})
    assert len(consent_log(server.provider, alex.id)) == len(before) + 1


@LOCAL
def test_a_locked_database_is_one_warning_without_the_token(server, client, caplog):
    url = server.unsubscribe_url("kim@example.org")
    with caplog.at_level("WARNING", logger="newsletter.web"), database_locked(server):
        assert client.post(url, data=ONE_CLICK).status_code == 503
    assert [record.getMessage() for record in caplog.records] == [
        "database locked on POST /unsubscribe: answered 503, nothing changed"
    ]
    assert url.rsplit("/", 1)[1] not in caplog.text
