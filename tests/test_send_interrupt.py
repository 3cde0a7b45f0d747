"""Ctrl-C (SIGINT, once or impatiently again) or systemd's SIGTERM midway through
``newsletter send`` stops it cleanly: messages in flight finish and are recorded, the
campaign is released at once, the summary is printed with one ``interrupted`` line on
stderr, and running the same command again sends to everyone left, nobody twice."""

from __future__ import annotations

import signal
import time
from pathlib import Path

import pytest
from send_process import send_command
from smtp_sink import SmtpSink
from sqlalchemy import text

from newsletter.config import load_settings
from newsletter.providers.base import MemberInput
from newsletter.providers.local import LocalProvider
from newsletter.store.database import open_database

RECIPIENTS = 1200
FIRST_RATE = 400
"""Messages a second for the run that gets interrupted, so the signal lands midway."""


def stored(project_dir: Path) -> tuple[dict[str, str], tuple[str, str | None]]:
    """Each recipient's delivery status, and the campaign's (state, owner)."""
    settings = load_settings(project_dir / "newsletter.yaml")
    engine = open_database(settings)
    try:
        with engine.connect() as connection:
            statuses = dict(
                connection.execute(
                    text(
                        "SELECT s.email, d.status FROM deliveries d"
                        " JOIN subscribers s ON s.id = d.subscriber_id"
                    )
                ).all()
            )
            campaign = connection.execute(text("SELECT state, owner FROM campaigns")).one()
    finally:
        engine.dispose()
    return statuses, (campaign.state, campaign.owner)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("signum", "times", "exit_code"),
    [(signal.SIGINT, 1, 130), (signal.SIGINT, 3, 130), (signal.SIGTERM, 1, 143)],
    ids=["ctrl-c", "ctrl-c-pressed-again", "sigterm"],
)
def test_signal_midway_stops_cleanly_and_resume_sends_the_rest(
    project_dir: Path, signum: signal.Signals, times: int, exit_code: int
) -> None:
    settings = load_settings(project_dir / "newsletter.yaml")
    provider = LocalProvider(settings)
    provider.import_members(
        MemberInput(f"r{n:05d}@example.org", f"R{n}", "", frozenset({"events"}))
        for n in range(RECIPIENTS)
    )
    provider.close()
    sink = SmtpSink(keep_data=False).start()
    try:
        first = send_command(project_dir, sink, "--rate", str(FIRST_RATE))
        deadline = time.monotonic() + 30
        while sum(sink.handler.counts.values()) < RECIPIENTS // 6:
            assert first.poll() is None, first.communicate()
            assert time.monotonic() < deadline, "the send did not get going"
            time.sleep(0.005)
        for _ in range(times):
            first.send_signal(signum)
            time.sleep(0.002)
        out, err = first.communicate(timeout=30)
        seen_before_resume = dict(sink.handler.counts)

        assert first.returncode == exit_code, (out, err)
        assert "Traceback" not in err, err
        interrupted = [line for line in err.splitlines() if "interrupted" in line]
        assert len(interrupted) == 1, err
        assert "winter-2026: sent" in out, out
        assert len(seen_before_resume) < RECIPIENTS, "the signal came after the send finished"

        statuses, (state, owner) = stored(project_dir)
        recorded_sent = {email for email, status in statuses.items() if status == "sent"}
        assert recorded_sent <= set(seen_before_resume), "recorded as sent, never received"
        assert recorded_sent == set(seen_before_resume), "received, but not recorded"
        assert "sending" not in statuses.values(), "a message left in flight by a clean stop"
        assert owner is None, f"still owned by {owner} after the process ended"
        assert state in ("sending", "failed"), state

        second = send_command(project_dir, sink)
        out, err = second.communicate(timeout=60)
        assert second.returncode == 0, (out, err)
        assert "winter-2026: sent" in out, out
        assert "uncertain 0" in out, out
    finally:
        sink.stop()

    counts = sink.handler.counts
    everyone = {f"r{n:05d}@example.org" for n in range(RECIPIENTS)}
    assert set(counts) == everyone, "someone was skipped"
    assert max(counts.values()) == 1, "someone got two copies"
    statuses, (state, owner) = stored(project_dir)
    assert set(statuses.values()) == {"sent"}
    assert (state, owner) == ("sent", None)
