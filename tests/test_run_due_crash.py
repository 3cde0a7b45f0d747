"""A ``run-due`` killed with SIGKILL midway: the next run finishes the send, with no
duplicates beyond the messages in flight at the kill, which it reports as uncertain."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from conftest import TEST_SECRET
from send_process import kill_once_delivered
from smtp_sink import SmtpSink
from sqlalchemy import text

from newsletter.campaigns import load_issue
from newsletter.config import load_settings
from newsletter.providers.base import MemberInput
from newsletter.providers.local import LocalProvider
from newsletter.store.database import open_database

pytestmark = pytest.mark.usefixtures("database")

RECIPIENTS = 2000


def run_due(project_dir: Path, sink: SmtpSink, now: str) -> subprocess.Popen[str]:
    env = {**os.environ, "NEWSLETTER_SECRET": TEST_SECRET, "NEWSLETTER_SMTP_URL": sink.url}
    return subprocess.Popen(
        [sys.executable, "-m", "newsletter", "run-due", "--now", now],
        cwd=project_dir,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.mark.slow
def test_run_due_killed_midway_is_finished_by_the_next_run(project_dir):
    settings = load_settings(project_dir / "newsletter.yaml")
    clock = lambda: datetime(2027, 1, 10, tzinfo=UTC)  # noqa: E731
    with LocalProvider(settings, clock=clock) as provider:
        provider.import_members(
            MemberInput(f"r{n:05d}@example.org", "", "", frozenset({"events"}))
            for n in range(RECIPIENTS)
        )
        issue = load_issue(project_dir / "campaigns" / "winter-2026.yaml", settings)
        provider.schedule(issue, datetime(2027, 1, 14, 9, 0, tzinfo=ZoneInfo("Europe/London")))
    sink = SmtpSink(keep_data=False).start()
    try:
        first = run_due(project_dir, sink, "2027-01-14T09:00")
        kill_once_delivered(first, sink, RECIPIENTS // 3)
        assert sum(sink.handler.counts.values()) < RECIPIENTS

        second = run_due(project_dir, sink, "2027-01-14T09:01")
        out, err = second.communicate(timeout=120)
        assert second.returncode == 0, (out, err)
    finally:
        sink.stop()

    assert out.startswith("winter-2026: sent: "), out
    found = re.search(r"(\d+) uncertain", out)
    reported = int(found.group(1)) if found else 0
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
        state = connection.execute(text("SELECT state FROM campaigns")).scalar_one()
    counts = sink.handler.counts
    assert set(counts) == {f"r{n:05d}@example.org" for n in range(RECIPIENTS)}
    assert {address for address, seen in counts.items() if seen > 1} <= uncertain
    assert reported == len(uncertain) and state == "sent"
