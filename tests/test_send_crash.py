"""A send killed with SIGKILL midway resumes: everyone gets the issue, nobody twice
except the messages that were in flight, which are reported as uncertain and sent once more."""

from __future__ import annotations

import re

import pytest
from send_process import CONNECTIONS, kill_once_delivered, send_command
from smtp_sink import SmtpSink
from sqlalchemy import text

from newsletter.config import load_settings
from newsletter.providers.base import MemberInput
from newsletter.providers.local import LocalProvider
from newsletter.store.database import open_database

pytestmark = pytest.mark.usefixtures("database")

RECIPIENTS = 2000


@pytest.mark.slow
def test_sigkill_midway_then_resume_sends_everyone_once(project_dir):
    settings = load_settings(project_dir / "newsletter.yaml")
    LocalProvider(settings).import_members(
        MemberInput(f"r{n:05d}@example.org", f"R{n}", "", frozenset({"events"}))
        for n in range(RECIPIENTS)
    )
    sink = SmtpSink(keep_data=False).start()
    try:
        first = send_command(project_dir, sink)
        delivered_before_resume = kill_once_delivered(first, sink, RECIPIENTS // 3)
        assert delivered_before_resume < RECIPIENTS

        second = send_command(project_dir, sink)
        out, err = second.communicate(timeout=120)
        assert second.returncode == 0, err
    finally:
        sink.stop()

    reported = int(re.search(r"uncertain (\d+)", out).group(1))
    print(out, f"delivered before the kill: {delivered_before_resume}")
    with open_database(settings).connect() as connection:
        uncertain = {
            row[0]
            for row in connection.execute(
                text(
                    "SELECT s.email FROM deliveries d JOIN subscribers s"
                    " ON s.id = d.subscriber_id WHERE d.uncertain_sends > 0"
                )
            )
        }
        query = text("SELECT status, COUNT(*) FROM deliveries GROUP BY status")
        statuses = {status: count for status, count in connection.execute(query)}
    counts = sink.handler.counts
    everyone = {f"r{n:05d}@example.org" for n in range(RECIPIENTS)}
    assert set(counts) == everyone, "someone was skipped"
    twice = {address for address, seen in counts.items() if seen > 1}
    assert twice <= uncertain
    assert max(counts.values()) <= 2
    assert reported == len(uncertain) <= CONNECTIONS
    assert statuses == {"sent": RECIPIENTS}
