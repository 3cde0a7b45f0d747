"""The preference centre when the database is locked or clients misbehave, against a
real uvicorn server.

Another process (a send, an import) holds the SQLite write lock, played here by a second
connection to the same file in ``BEGIN IMMEDIATE`` or ``BEGIN EXCLUSIVE``; on PostgreSQL
it holds the members' table in ``EXCLUSIVE`` mode, which lets reads through and no write.
Clients that vanish or stall part-way through a request are raw sockets.
"""

from __future__ import annotations

import logging
import socket
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit

import pytest
from sqlalchemy import text

from newsletter.models import SubscriberStatus
from newsletter.providers.local import LocalProvider
from newsletter.web.app import LOCK_TIMEOUT, RETRY_AFTER
from newsletter.web.limits import BodyLimits

from .support import Server, consent_log, csrf_from

ONE_CLICK = {"List-Unsubscribe": "One-Click"}
LOCAL = pytest.mark.parametrize("provider", ["local", "postgresql"], indirect=True)


@contextmanager
def database_locked(server: Server, how: str = "IMMEDIATE") -> Iterator[None]:
    """Holds the write lock of the server's database from another connection."""
    assert isinstance(server.provider, LocalProvider)
    engine = server.provider.engine
    if engine.dialect.name == "postgresql":
        with engine.connect() as holder, holder.begin():
            holder.execute(text("LOCK TABLE subscribers IN EXCLUSIVE MODE"))
            yield
        return
    path = engine.url.database
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


# Clients that vanish or stall mid-body

WENT_AWAY = "client went away before sending the whole request"


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def lines(self) -> list[str]:
        formatter = logging.Formatter("%(levelname)s %(name)s %(message)s")
        return [line for r in self.records for line in formatter.format(r).splitlines()]


@contextmanager
def server_log() -> Iterator[_Records]:
    """What the server logs: uvicorn's loggers (they do not propagate) and ours."""
    handler = _Records()
    loggers = [logging.getLogger("uvicorn"), logging.getLogger("newsletter")]
    for logger in loggers:
        logger.addHandler(handler)
    try:
        yield handler
    finally:
        for logger in loggers:
            logger.removeHandler(handler)


def _post_part(url: str, declared: int, part: bytes) -> socket.socket:
    """A POST whose headers promise ``declared`` bytes of body, of which only ``part`` is sent."""
    target = urlsplit(url)
    sock = socket.create_connection((target.hostname, target.port), timeout=10)
    head = (
        f"POST {target.path} HTTP/1.1\r\nHost: {target.netloc}\r\n"
        "Content-Type: application/x-www-form-urlencoded\r\n"
        f"Content-Length: {declared}\r\n\r\n"
    )
    sock.sendall(head.encode("ascii") + part)
    return sock


def _read_until_closed(sock: socket.socket) -> bytes:
    received = b""
    while chunk := sock.recv(65536):
        received += chunk
    return received


def test_clients_gone_mid_body_are_one_line_each_without_a_traceback(server, client):
    url = server.unsubscribe_url("sam@example.org")
    dropped = 50
    with server_log() as log:
        for _ in range(dropped):
            _post_part(url, 1000, b"List-Unsub").close()
        deadline = time.monotonic() + 10
        while len(log.records) < dropped and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.2)  # anything logged late would show up too
    lines = log.lines()
    assert not any("Traceback" in line for line in lines)
    assert 0 < len(lines) <= dropped
    assert set(lines) == {f"WARNING newsletter.web {WENT_AWAY}"}
    assert client.get(f"{server.base_url}/healthz").status_code == 200
    assert server.member("sam@example.org").status is SubscriberStatus.SUBSCRIBED


def test_a_stalled_body_gets_408_and_the_connection_closed_after_the_limit(
    start_server, web_settings, provider
):
    limit = 1.0
    server = start_server(web_settings, provider, body_limits=BodyLimits(seconds=limit))
    sock = _post_part(server.unsubscribe_url("sam@example.org"), 1000, b"List-Unsub")
    started = time.monotonic()
    with sock, server_log() as log:
        answer = _read_until_closed(sock)
    elapsed = time.monotonic() - started
    assert answer.startswith(b"HTTP/1.1 408 ")
    assert b"connection: close" in answer.lower()
    assert limit * 0.9 <= elapsed < limit + 1.5
    assert [r.getMessage() for r in log.records] == [
        "request body not complete after 1 s: answered 408"
    ]
    assert server.member("sam@example.org").status is SubscriberStatus.SUBSCRIBED


def test_a_slow_body_that_ends_within_the_limit_is_served(start_server, web_settings, provider):
    server = start_server(web_settings, provider, body_limits=BodyLimits(seconds=2.0))
    body = b"List-Unsubscribe=One-Click"
    with _post_part(server.unsubscribe_url("sam@example.org"), len(body), body[:10]) as sock:
        time.sleep(0.5)
        sock.sendall(body[10:])
        answer = sock.recv(65536)
    assert answer.startswith(b"HTTP/1.1 200 ")
    assert server.member("sam@example.org").status is SubscriberStatus.UNSUBSCRIBED
