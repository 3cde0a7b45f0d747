"""Local schedules and ``run-due``: time injected, nothing sleeps.

An issue scheduled with the local provider goes out once when ``run-due`` finds its
time has come, never before; what was approved when scheduling is what is sent; a run
after downtime catches up, unless the issue is more than ``max_lateness`` late.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from conftest import TEST_SECRET
from fault_smtp import FaultServer
from smtp_sink import free_port, maildir_messages
from typer.testing import CliRunner

from newsletter.campaigns import load_issue
from newsletter.cli import app
from newsletter.config import load_settings
from newsletter.errors import ConfigError, ProviderError, UnsupportedFeature
from newsletter.models import CampaignState
from newsletter.providers.base import MemberInput
from newsletter.providers.local import LocalProvider
from newsletter.providers.memory import MemoryProvider
from newsletter.render.templating import forget_templates
from newsletter.schedule_time import parse_time
from newsletter.scheduler import Outcome, exit_code, run_due
from newsletter.status import issue_statuses
from newsletter.store import campaigns
from newsletter.store import campaigns as store_campaigns
from newsletter.store.database import open_database
from newsletter.store.idle import nothing_to_do

pytestmark = pytest.mark.usefixtures("database")

PEOPLE = [f"p{n}@example.org" for n in range(5)]
LONDON = ZoneInfo("Europe/London")
SCHEDULED_AT = datetime(2027, 1, 14, 9, 0, tzinfo=LONDON)


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def relay_down(project_dir: Path, clock: Clock) -> tuple[LocalProvider, int]:
    """A provider whose SMTP server is down (nothing listens on the port it names); a
    send gives up on it within a second."""
    port = free_port()
    provider = local(
        project_dir,
        clock,
        smtp_url=f"smtp://127.0.0.1:{port}",
        smtp_give_up_after=0.3,
        smtp_retry_delay=0.05,
        smtp_timeout=2.0,
    )
    return provider, port


def local(project_dir: Path, clock: Clock, **overrides) -> LocalProvider:
    values = {"secret": TEST_SECRET, **overrides}
    settings = load_settings(project_dir / "newsletter.yaml", **values)
    provider = LocalProvider(settings, clock=clock)
    provider.import_members(MemberInput(a, "Pat", "", frozenset({"events"})) for a in PEOPLE)
    return provider


def outbox(project_dir: Path) -> int:
    return len(maildir_messages(project_dir))


def stored(provider: LocalProvider, slug: str) -> campaigns.Campaign:
    with provider.engine.connect() as connection:
        found = campaigns.get(connection, provider.name, slug)
    assert found is not None
    return found


def test_run_due_sends_nothing_before_the_time_and_once_after(project_dir, example_file):
    clock = Clock(datetime(2027, 1, 10, 12, 0, tzinfo=UTC))
    provider = local(project_dir, clock)
    issue = load_issue(example_file, provider.settings)

    report = provider.schedule(issue, SCHEDULED_AT)

    assert "2027-01-14 09:00 GMT" in report.message
    record = stored(provider, issue.slug)
    assert record.state is CampaignState.SCHEDULED
    assert record.scheduled_utc == datetime(2027, 1, 14, 9, 0, tzinfo=UTC)
    assert record.scheduled_zone == "Europe/London"
    approved = provider.approval_hash(issue, provider.compile(issue))
    assert record.scheduled_by and record.approved_hash == approved

    before = SCHEDULED_AT - timedelta(minutes=1)
    clock.now = before
    assert run_due(provider, before) == []
    assert outbox(project_dir) == 0

    clock.now = SCHEDULED_AT
    results = run_due(provider, SCHEDULED_AT)
    assert [(r.slug, r.outcome) for r in results] == [(issue.slug, Outcome.SENT)]
    assert exit_code(results) == 0
    assert outbox(project_dir) == len(PEOPLE)

    later = SCHEDULED_AT + timedelta(minutes=1)
    clock.now = later
    assert run_due(provider, later) == []
    assert outbox(project_dir) == len(PEOPLE)
    assert provider.campaign_state(issue.slug) is CampaignState.SENT


def test_past_times_are_refused(project_dir, example_file):
    clock = Clock(datetime(2027, 1, 14, 9, 0, tzinfo=UTC))
    provider = local(project_dir, clock)
    issue = load_issue(example_file, provider.settings)
    with pytest.raises(ProviderError, match="in the past"):
        provider.schedule(issue, datetime(2027, 1, 14, 8, 59, tzinfo=UTC))
    assert provider.campaign_state(issue.slug) is None


def test_a_provider_without_schedules_says_so(project_dir, example_file):
    provider = MemoryProvider(load_settings(project_dir / "newsletter.yaml"))
    issue = load_issue(example_file, provider.settings)
    with pytest.raises(UnsupportedFeature, match="cannot schedule"):
        provider.schedule(issue, datetime(2099, 1, 1, tzinfo=UTC))


@pytest.mark.parametrize(
    ("written", "says"),
    [("2027-03-28T01:30", "does not exist"), ("2027-10-31T01:30", "happens twice")],
)
def test_london_gap_and_repeat_are_refused_unless_written_with_an_offset(written, says):
    with pytest.raises(ConfigError, match=says):
        parse_time(written, LONDON)
    assert parse_time(written + "+00:00", LONDON) == datetime.fromisoformat(written + "Z")
    assert parse_time("2027-10-31T01:30+01:00", LONDON).astimezone(UTC).hour == 0


def test_a_send_at_in_the_autumn_repeat_is_refused_by_schedule(project_dir, example_file):
    provider = local(project_dir, Clock(datetime(2027, 1, 1, tzinfo=UTC)))
    issue = load_issue(example_file, provider.settings)
    with pytest.raises(ConfigError, match="happens twice"):
        provider.schedule(issue, datetime(2027, 10, 31, 1, 30, tzinfo=LONDON))


def test_new_york_time_goes_out_at_the_right_utc_instant(project_dir, example_file):
    clock = Clock(datetime(2027, 1, 10, tzinfo=UTC))
    provider = local(project_dir, clock, timezone="America/New_York")
    issue = load_issue(example_file, provider.settings)
    provider.schedule(issue, parse_time("2027-01-14T09:00", provider.settings.zone))
    assert stored(provider, issue.slug).scheduled_utc == datetime(2027, 1, 14, 14, 0, tzinfo=UTC)

    for minute, expected in ((datetime(2027, 1, 14, 13, 59, tzinfo=UTC), 0), (None, len(PEOPLE))):
        now = minute or datetime(2027, 1, 14, 14, 0, tzinfo=UTC)
        clock.now = now
        run_due(provider, now)
        assert outbox(project_dir) == expected


def test_a_file_changed_after_scheduling_is_not_sent_until_scheduled_again(
    project_dir, example_file
):
    clock = Clock(datetime(2027, 1, 10, tzinfo=UTC))
    provider = local(project_dir, clock)
    provider.schedule(load_issue(example_file, provider.settings), SCHEDULED_AT)
    example_file.write_text(
        example_file.read_text().replace("Safer sleep,", "Safer sleep (revised),", 1)
    )

    clock.now = SCHEDULED_AT
    results = run_due(provider, SCHEDULED_AT)

    assert [r.outcome for r in results] == [Outcome.NEEDS_APPROVAL]
    assert str(example_file) in results[0].message and exit_code(results) == 1
    assert "after it was scheduled (campaigns/winter-2026.yaml);" in results[0].message
    assert outbox(project_dir) == 0
    issue = load_issue(example_file, provider.settings)
    assert provider.campaign_state(issue.slug) is CampaignState.NEEDS_APPROVAL
    assert "changed after it was scheduled" in (stored(provider, issue.slug).last_problem or "")
    assert run_due(provider, SCHEDULED_AT) == [], "needing approval is not due again"

    clock.now = SCHEDULED_AT + timedelta(minutes=5)
    provider.schedule(issue, SCHEDULED_AT + timedelta(minutes=10))
    clock.now = SCHEDULED_AT + timedelta(minutes=10)
    assert [r.outcome for r in run_due(provider, clock.now)] == [Outcome.SENT]
    assert outbox(project_dir) == len(PEOPLE)


def test_a_changed_sender_in_the_project_file_needs_approval_too(project_dir, example_file):
    clock = Clock(datetime(2027, 1, 10, tzinfo=UTC))
    provider = local(project_dir, clock)
    provider.schedule(load_issue(example_file, provider.settings), SCHEDULED_AT)
    provider.close()
    changed = local(
        project_dir, clock, sender={"from_name": "Someone Else", "from_email": "news@example.org"}
    )
    clock.now = SCHEDULED_AT
    results = run_due(changed, clock.now)
    assert [r.outcome for r in results] == [Outcome.NEEDS_APPROVAL]
    assert "(settings from the environment or .env)" in results[0].message  # not a file
    assert outbox(project_dir) == 0


def test_a_changed_template_is_named_when_approval_is_needed(project_dir, example_file):
    clock = Clock(datetime(2027, 1, 10, tzinfo=UTC))
    provider = local(project_dir, clock)
    provider.schedule(load_issue(example_file, provider.settings), SCHEDULED_AT)
    footer = project_dir / "templates" / "footer.mjml.j2"
    footer.write_text(footer.read_text().replace("Why did I get this?", "Why this email?"))
    forget_templates()  # as a new run-due process would read them
    clock.now = SCHEDULED_AT
    results = run_due(provider, clock.now)
    assert [r.outcome for r in results] == [Outcome.NEEDS_APPROVAL]
    assert "(templates/footer.mjml.j2);" in results[0].message
    assert outbox(project_dir) == 0


def test_an_issue_too_late_is_missed_not_sent(project_dir, example_file):
    clock = Clock(datetime(2027, 1, 10, tzinfo=UTC))
    provider = local(project_dir, clock, max_lateness=timedelta(hours=2))
    issue = load_issue(example_file, provider.settings)
    provider.schedule(issue, SCHEDULED_AT)

    clock.now = SCHEDULED_AT + timedelta(hours=2, minutes=1)
    results = run_due(provider, clock.now)

    assert [r.outcome for r in results] == [Outcome.MISSED] and exit_code(results) == 1
    assert "2 h 1 min late" in results[0].message
    assert provider.campaign_state(issue.slug) is CampaignState.MISSED
    assert outbox(project_dir) == 0


def test_a_late_run_within_max_lateness_catches_up_and_says_how_late(project_dir, example_file):
    clock = Clock(datetime(2027, 1, 10, tzinfo=UTC))
    provider = local(project_dir, clock)
    provider.schedule(load_issue(example_file, provider.settings), SCHEDULED_AT)
    clock.now = SCHEDULED_AT + timedelta(hours=3)
    results = run_due(provider, clock.now)
    assert [r.outcome for r in results] == [Outcome.SENT] and "3 h 0 min late" in results[0].message


def test_unschedule_takes_it_back_to_a_draft(project_dir, example_file):
    clock = Clock(datetime(2027, 1, 10, tzinfo=UTC))
    provider = local(project_dir, clock)
    issue = load_issue(example_file, provider.settings)
    provider.schedule(issue, SCHEDULED_AT)
    provider.unschedule(issue)
    assert provider.campaign_state(issue.slug) is CampaignState.DRAFT
    assert run_due(provider, SCHEDULED_AT + timedelta(minutes=1)) == []


def test_the_relay_down_at_the_scheduled_minute_leaves_it_due_for_the_next_run(
    project_dir, example_file
):
    clock = Clock(datetime(2027, 1, 10, tzinfo=UTC))
    provider, port = relay_down(project_dir, clock)
    issue = load_issue(example_file, provider.settings)
    provider.schedule(issue, SCHEDULED_AT)

    clock.now = SCHEDULED_AT
    first = run_due(provider, clock.now)
    assert [r.outcome for r in first] == [Outcome.STOPPED] and exit_code(first) == 75
    assert "Connection refused" in first[0].message
    assert provider.campaign_state(issue.slug) is CampaignState.SENDING

    relay = FaultServer(port).start()
    try:
        clock.now = SCHEDULED_AT + timedelta(minutes=1)
        second = run_due(provider, clock.now)
    finally:
        relay.stop()
    assert [r.outcome for r in second] == [Outcome.SENT] and exit_code(second) == 0
    assert dict(relay.received) == dict.fromkeys(PEOPLE, 1)


def test_two_run_due_processes_at_once_send_each_message_once(project_dir, smtp_sink, database):
    """On SQLite one run sends and the other finds it held; on PostgreSQL they share it."""
    provider = local(project_dir, Clock(datetime(2027, 1, 10, tzinfo=UTC)))
    provider.import_members(
        MemberInput(f"m{n}@example.org", "", "", frozenset({"events"})) for n in range(300)
    )
    issue = load_issue(project_dir / "campaigns" / "winter-2026.yaml", provider.settings)
    provider.schedule(issue, SCHEDULED_AT)
    provider.close()
    env = {**os.environ, "NEWSLETTER_SECRET": TEST_SECRET, "NEWSLETTER_SMTP_URL": smtp_sink.url}
    command = [sys.executable, "-m", "newsletter", "run-due", "--now", "2027-01-14T09:00"]
    runs = [
        subprocess.Popen(command, cwd=project_dir, env=env, stdout=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    outputs = [run.communicate(timeout=120)[0] for run in runs]

    assert [run.returncode for run in runs] == [0, 0], outputs
    everyone = [*PEOPLE, *(f"m{n}@example.org" for n in range(300))]
    if database == "postgresql":
        sent = [re.search(r": sent: (\d+) sent", out) for out in outputs]
        assert all(sent), outputs
        assert sum(int(found.group(1)) for found in sent) == len(everyone)
    else:
        assert sum(": sent:" in out for out in outputs) == 1, outputs
        assert all(
            ": sent:" in out or ": held: held by another run" in out or "Nothing due" in out
            for out in outputs
        ), outputs
    assert dict(smtp_sink.handler.counts) == dict.fromkeys(everyone, 1)
    with open_database(provider.settings).connect() as connection:
        assert campaigns.get(connection, "local", issue.slug).state is CampaignState.SENT


def test_run_due_with_nothing_due_says_one_quiet_line(project_dir):
    result = CliRunner().invoke(app, ["run-due", "--now", "2027-01-14T09:00"])
    assert result.exit_code == 0, result.output
    assert result.stdout == "Nothing due at 2027-01-14 09:00 UTC.\n"


def test_schedule_and_status_from_the_command_line(project_dir, example_file, monkeypatch):
    monkeypatch.setenv("NEWSLETTER_SECRET", TEST_SECRET)
    runner = CliRunner()
    refused = runner.invoke(app, ["schedule", str(example_file)])
    assert refused.exit_code != 0 and "give --at, or send_at:" in refused.stderr

    gap = runner.invoke(app, ["schedule", str(example_file), "--at", "2099-03-29T01:30"])
    assert gap.exit_code != 0 and "does not exist in Europe/London" in gap.stderr

    done = runner.invoke(app, ["schedule", str(example_file), "--at", "2099-07-01T09:00"])
    assert done.exit_code == 0, done.output
    assert "2099-07-01 09:00 BST (2099-07-01 08:00 UTC)" in done.stdout

    table = runner.invoke(app, ["status"])
    assert table.exit_code == 0, table.output
    assert "winter-2026  scheduled  local  2099-07-01 09:00 BST (2099-07-01T08:00Z)" in table.stdout

    shown = json.loads(runner.invoke(app, ["status", str(example_file), "--format", "json"]).stdout)
    assert [(s["slug"], s["state"], s["scheduled_utc"]) for s in shown] == [
        ("winter-2026", "scheduled", "2099-07-01T08:00Z")
    ]

    assert runner.invoke(app, ["unschedule", str(example_file)]).exit_code == 0
    again = json.loads(runner.invoke(app, ["status", "--format", "json"]).stdout)
    assert [(s["state"], s["scheduled_utc"]) for s in again] == [("draft", None)]


def test_status_shows_the_counts_and_last_problem_of_a_stopped_send(project_dir, example_file):
    clock = Clock(datetime(2027, 1, 10, tzinfo=UTC))
    provider, _ = relay_down(project_dir, clock)
    provider.schedule(load_issue(example_file, provider.settings), SCHEDULED_AT)
    clock.now = SCHEDULED_AT
    run_due(provider, clock.now)

    [entry] = issue_statuses(provider.settings, provider.engine)
    assert (entry.state, entry.provider, entry.sent) == ("sending", "local", 0)
    assert "Connection refused" in (entry.last_problem or "")


def test_a_send_started_by_hand_and_stopped_is_not_resumed_by_run_due(project_dir, example_file):
    clock = Clock(datetime(2027, 1, 10, tzinfo=UTC))
    provider, _ = relay_down(project_dir, clock)
    provider.send(load_issue(example_file, provider.settings))
    assert provider.campaign_state("winter-2026") is CampaignState.SENDING
    assert run_due(provider, clock.now + timedelta(minutes=1)) == []


@pytest.mark.sqlite_only
def test_an_issue_another_run_is_sending_is_reported_as_held(project_dir, example_file):
    """On SQLite; on PostgreSQL a second run joins the send (the test of two runs)."""
    clock = Clock(datetime(2027, 1, 10, tzinfo=UTC))
    provider = local(project_dir, clock)
    issue = load_issue(example_file, provider.settings)
    provider.schedule(issue, SCHEDULED_AT)
    holder = campaigns.this_process()
    with provider.engine.begin() as connection:
        record = campaigns.get(connection, "local", issue.slug)
        assert campaigns.claim_for_sending(connection, record, holder, "h", SCHEDULED_AT)

    results = run_due(provider, SCHEDULED_AT)

    assert [(r.outcome, r.message) for r in results] == [
        (Outcome.HELD, f"held by another run ({holder})")
    ]
    assert exit_code(results) == 0 and outbox(project_dir) == 0


def test_a_scheduled_issue_the_send_refuses_is_marked_failed_not_retried(project_dir, example_file):
    clock = Clock(datetime(2027, 1, 10, tzinfo=UTC))
    provider = local(project_dir, clock)
    issue = load_issue(example_file, provider.settings)
    provider.schedule(issue, SCHEDULED_AT)
    with provider.engine.begin() as connection:
        connection.execute(campaigns.campaigns.update().values(content_hash="an earlier send"))
    clock.now = SCHEDULED_AT

    results = run_due(provider, clock.now)

    assert [r.outcome for r in results] == [Outcome.FAILED] and exit_code(results) == 1
    assert "changed after its send started" in results[0].message
    assert provider.campaign_state(issue.slug) is CampaignState.FAILED
    assert run_due(provider, clock.now) == [] and outbox(project_dir) == 0


def test_a_stopped_send_whose_file_broke_stays_due_and_says_so(project_dir, example_file):
    clock = Clock(datetime(2027, 1, 10, tzinfo=UTC))
    provider, _ = relay_down(project_dir, clock)
    provider.schedule(load_issue(example_file, provider.settings), SCHEDULED_AT)
    clock.now = SCHEDULED_AT
    assert [r.outcome for r in run_due(provider, clock.now)] == [Outcome.STOPPED]
    example_file.write_text("subject: [unclosed\n")

    results = run_due(provider, clock.now)

    assert [r.outcome for r in results] == [Outcome.NEEDS_APPROVAL] and exit_code(results) == 1
    assert str(example_file) in results[0].message
    assert provider.campaign_state("winter-2026") is CampaignState.SENDING


@pytest.mark.sqlite_only
def test_the_quick_idle_answer_agrees_with_the_store(project_dir, example_file):
    """run-due's every-minute check without SQLAlchemy says "nothing to do" exactly when
    the store's own query finds nothing due (on SQLite; elsewhere it never answers)."""
    clock = Clock(datetime(2027, 1, 10, tzinfo=UTC))
    provider = local(project_dir, clock)
    settings = provider.settings
    url, root = settings.database_url.get_secret_value(), settings.root
    assert nothing_to_do(url, root, clock.now), "nothing scheduled yet"

    provider.schedule(load_issue(example_file, settings), SCHEDULED_AT)
    for at in (
        SCHEDULED_AT - timedelta(minutes=1),
        SCHEDULED_AT - timedelta(seconds=1),
        SCHEDULED_AT,
        SCHEDULED_AT + timedelta(seconds=1),
        SCHEDULED_AT + timedelta(days=3),
    ):
        with provider.engine.connect() as connection:
            due = bool(store_campaigns.due(connection, "local", at))
        assert nothing_to_do(url, root, at) is not due, at

    assert not nothing_to_do("postgresql://db.example/news", root, clock.now), "not sure"
