"""``run-due`` reads the bounce mailbox first when NEWSLETTER_INBOUND_URL is set."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from conftest import TEST_SECRET
from returns_support import MAILBOX, Addressee, sample
from test_inbound_maildir import drop
from test_schedule import PEOPLE, SCHEDULED_AT, Clock, local
from typer.testing import CliRunner

from newsletter.campaigns import load_issue
from newsletter.cli import app
from newsletter.models import SubscriberStatus

pytestmark = pytest.mark.usefixtures("database")


@pytest.fixture
def maildir(tmp_path):
    root = tmp_path / "bounces"
    for folder in ("new", "cur", "tmp"):
        (root / folder).mkdir(parents=True)
    return root


@pytest.fixture
def scheduled(project_dir, example_file):
    provider = local(project_dir, Clock(datetime(2027, 1, 10, tzinfo=UTC)), bounce_address=MAILBOX)
    provider.schedule(load_issue(example_file, provider.settings), SCHEDULED_AT)
    yield provider
    provider.close()


def run_due(monkeypatch, smtp_sink, inbound_url: str):
    monkeypatch.setenv("NEWSLETTER_SECRET", TEST_SECRET)
    monkeypatch.setenv("NEWSLETTER_SMTP_URL", smtp_sink.url)
    monkeypatch.setenv("NEWSLETTER_BOUNCE_ADDRESS", MAILBOX)
    monkeypatch.setenv("NEWSLETTER_INBOUND_URL", inbound_url)
    return CliRunner().invoke(app, ["run-due", "--now", "2027-01-14T09:00"])


def test_a_bounce_read_by_run_due_stops_mail_in_the_send_that_follows(
    scheduled, maildir, smtp_sink, monkeypatch
):
    gone = scheduled.find_by_email(PEOPLE[0])
    drop(maildir, "b.M1P1.mx", sample("gmail_hard", Addressee(gone.id, 0, gone.email, "<t@x>")))

    result = run_due(monkeypatch, smtp_sink, f"maildir://{maildir}")

    assert result.exit_code == 0, result.output
    first, second = result.stdout.splitlines()
    assert first.startswith(f"bounce mailbox: read: the Maildir {maildir}: 1 read; handled 1 hard")
    assert second.startswith("winter-2026: sent: 4 sent")
    assert sorted(smtp_sink.handler.counts) == PEOPLE[1:]
    assert scheduled.get_subscriber(gone.id).status is SubscriberStatus.BOUNCED


def test_a_mailbox_that_cannot_be_read_waits_for_the_next_run_and_the_send_goes_ahead(
    scheduled, smtp_sink, monkeypatch, tmp_path
):
    result = run_due(monkeypatch, smtp_sink, f"maildir://{tmp_path}/missing")
    assert result.exit_code == 75, result.output
    assert result.stdout.splitlines()[0] == (
        f"bounce mailbox: stopped: {tmp_path}/missing is not a Maildir "
        "(it needs new/, cur/ and tmp/)"
    )
    assert sorted(smtp_sink.handler.counts) == PEOPLE


def test_with_nothing_due_run_due_still_reads_the_mailbox(project_dir, maildir, monkeypatch):
    monkeypatch.setenv("NEWSLETTER_SECRET", TEST_SECRET)
    monkeypatch.setenv("NEWSLETTER_INBOUND_URL", f"maildir://{maildir}")
    result = CliRunner().invoke(app, ["run-due", "--now", "2027-01-14T09:00"])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(f"bounce mailbox: read: the Maildir {maildir}: 0 read;")
