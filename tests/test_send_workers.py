"""Several ``newsletter send`` processes on one campaign: on PostgreSQL they share it
and each recipient gets one message, also when one of them is killed midway; on SQLite
a second one is refused with who is sending."""

from __future__ import annotations

import re
import signal
import time

import pytest
from send_process import CONNECTIONS, kill_once_delivered, send_command
from smtp_sink import SmtpSink
from sqlalchemy import text

from newsletter.config import load_settings
from newsletter.models import CampaignState
from newsletter.providers.base import MemberInput
from newsletter.providers.local import LocalProvider
from newsletter.store.database import open_database

SHARED = 1200
KILLED = 2000


def import_audience(project_dir, count: int) -> LocalProvider:
    local = LocalProvider(load_settings(project_dir / "newsletter.yaml"))
    local.import_members(
        MemberInput(f"r{n:05d}@example.org", f"R{n}", "", frozenset({"events"}))
        for n in range(count)
    )
    local.close()
    return local


def audience_on_postgres(project_dir, cluster, monkeypatch, name: str, count: int):
    """``count`` members in a new database of the test cluster, which the workers use."""
    monkeypatch.setenv("NEWSLETTER_DATABASE_URL", cluster.create_database(name))
    return import_audience(project_dir, count)


def store_rows(local: LocalProvider) -> tuple[dict[str, int], set[str]]:
    """Deliveries per status, and the addresses of rows with an unconfirmed message."""
    with open_database(local.settings).connect() as connection:
        query = text("SELECT status, COUNT(*) FROM deliveries GROUP BY status")
        statuses = {status: count for status, count in connection.execute(query)}
        unconfirmed = set(
            connection.execute(
                text(
                    "SELECT s.email FROM deliveries d JOIN subscribers s"
                    " ON s.id = d.subscriber_id WHERE d.uncertain_sends > 0"
                )
            ).scalars()
        )
    return statuses, unconfirmed


@pytest.mark.slow
def test_two_processes_share_a_campaign_and_send_each_message_once(
    project_dir, postgres_cluster, monkeypatch
):
    local = audience_on_postgres(project_dir, postgres_cluster, monkeypatch, "shared", SHARED)
    sink = SmtpSink(keep_data=False).start()
    try:
        workers = [send_command(project_dir, sink) for _ in range(2)]
        outputs = [worker.communicate(timeout=120) for worker in workers]
    finally:
        sink.stop()

    assert [worker.returncode for worker in workers] == [0, 0], outputs
    shares = [int(re.search(r"sent ([\d,]+)", out).group(1).replace(",", "")) for out, _ in outputs]
    assert sum(shares) == SHARED and min(shares) > 0, outputs
    everyone = {f"r{n:05d}@example.org" for n in range(SHARED)}
    assert dict(sink.handler.counts) == dict.fromkeys(everyone, 1)
    assert store_rows(local) == ({"sent": SHARED}, set())
    assert local.campaign_state("winter-2026") is CampaignState.SENT


@pytest.mark.slow
def test_a_worker_killed_midway_leaves_only_its_messages_in_flight_uncertain(
    project_dir, postgres_cluster, monkeypatch
):
    local = audience_on_postgres(project_dir, postgres_cluster, monkeypatch, "killed", KILLED)
    sink = SmtpSink(keep_data=False).start()
    try:
        doomed, survivor = send_command(project_dir, sink), send_command(project_dir, sink)
        kill_once_delivered(doomed, sink, KILLED // 3)
        assert survivor.poll() is None, "the other worker stopped with the first"
        out, err = survivor.communicate(timeout=120)
    finally:
        sink.stop()

    assert survivor.returncode == 0, err
    statuses, unconfirmed = store_rows(local)
    counts = sink.handler.counts
    assert set(counts) == {f"r{n:05d}@example.org" for n in range(KILLED)}, "someone was skipped"
    twice = {address for address, seen in counts.items() if seen > 1}
    assert twice <= unconfirmed
    assert max(counts.values()) <= 2
    assert len(unconfirmed) <= CONNECTIONS, "more than the killed worker had in flight"
    assert re.search(rf"{len(unconfirmed)} message\(s\) were in flight", out) or not unconfirmed
    assert statuses == {"sent": KILLED}
    assert local.campaign_state("winter-2026") is CampaignState.SENT


def test_on_sqlite_a_second_worker_is_told_who_is_sending(project_dir):
    local = import_audience(project_dir, 200)
    sink = SmtpSink(keep_data=False).start()
    try:
        first = send_command(project_dir, sink, "--rate", "50")
        deadline = time.monotonic() + 30
        while not sink.handler.counts:
            assert first.poll() is None and time.monotonic() < deadline, first.communicate()
            time.sleep(0.01)
        second = send_command(project_dir, sink)
        _, refused = second.communicate(timeout=60)
        first.send_signal(signal.SIGTERM)
        first.communicate(timeout=60)
    finally:
        sink.stop()

    assert second.returncode != 0
    assert re.search(r"is being sent right now by [^:\s]+:\d+", refused), refused
    assert max(sink.handler.counts.values()) == 1
    local.close()
