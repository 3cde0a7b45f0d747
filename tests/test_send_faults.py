"""Faults a real relay produces never lose or double an issue.

Each test runs a send against an SMTP server on 127.0.0.1 that refuses connections,
goes away midway, drops the connection after the final ``.``, stalls, or answers
temporary and permanent refusals, then checks what every recipient received and what
the store recorded.
"""

from __future__ import annotations

import resource
import signal
import subprocess
import time
from pathlib import Path

import pytest
from conftest import TEST_SECRET
from fault_smtp import DROP_AFTER_DOT, DROP_BEFORE_DOT, STALL_AFTER_DOT, FaultServer
from send_process import send_command
from smtp_sink import free_port
from sqlalchemy import text
from typer.testing import CliRunner

from newsletter.campaigns import load_issue
from newsletter.cli import app
from newsletter.config import load_settings
from newsletter.models import CampaignState, SendStatus
from newsletter.providers.base import MemberInput
from newsletter.providers.local import LocalProvider
from newsletter.store.database import open_database

PEOPLE = [f"p{n}@example.org" for n in range(9)]


def provider_for(project_dir: Path, url: str, **overrides) -> LocalProvider:
    values = {
        "secret": TEST_SECRET,
        "smtp_url": url,
        "smtp_retry_delay": 0.05,
        "smtp_retries": 2,
        "smtp_give_up_after": 1.0,
        "smtp_timeout": 2.0,
        "connections": 2,
    }
    values.update(overrides)
    return LocalProvider(load_settings(project_dir / "newsletter.yaml", **values))


def with_people(provider: LocalProvider, people=PEOPLE) -> LocalProvider:
    provider.import_members(MemberInput(a, "Pat", "", frozenset({"events"})) for a in people)
    return provider


def statuses(provider: LocalProvider) -> dict[str, str]:
    with open_database(provider.settings).connect() as connection:
        rows = connection.execute(
            text(
                "SELECT s.email, d.status FROM deliveries d"
                " JOIN subscribers s ON s.id = d.subscriber_id"
            )
        )
        return dict(rows.all())


def test_a_relay_that_is_down_stops_the_send_soon_and_loses_nobody(project_dir, example_file):
    port = free_port()
    provider = with_people(provider_for(project_dir, f"smtp://127.0.0.1:{port}"))
    issue = load_issue(example_file, provider.settings)

    started = time.monotonic()
    report = provider.send(issue)
    took = time.monotonic() - started

    assert took < 5, f"the send kept trying for {took:.1f} s"
    assert report.status is SendStatus.STOPPED
    assert report.state is CampaignState.SENDING
    assert (report.sent, report.failed, report.deferred, report.pending) == (0, 0, 0, 9)
    assert "Connection refused" in report.problem and "no message went through" in report.problem
    assert statuses(provider) == {}, "a recipient was charged with the relay's failure"
    assert provider.campaign_state(issue.slug) is CampaignState.SENDING
    assert not provider.has_gone_out(issue.slug), "an issue nobody got is not archived"

    relay = FaultServer(port).start()
    try:
        resumed = provider.send(issue)
    finally:
        relay.stop()
    assert (resumed.sent, resumed.state, resumed.status) == (9, CampaignState.SENT, SendStatus.SENT)
    assert dict(relay.received) == dict.fromkeys(PEOPLE, 1)
    assert provider.has_gone_out(issue.slug)


def test_a_relay_killed_midway_then_back_gives_everyone_one_copy(project_dir, example_file):
    relay = FaultServer().start()
    relay.behaviour.down_after = 4
    provider = with_people(provider_for(project_dir, relay.url, connections=1))
    issue = load_issue(example_file, provider.settings)

    first = provider.send(issue)

    assert first.status is SendStatus.STOPPED and first.state is CampaignState.SENDING
    assert (first.sent, first.uncertain) == (3, 1)  # the fourth was taken, then no reply
    assert first.pending == 6
    assert sum(relay.received.values()) == 4
    recorded = statuses(provider)
    assert sorted(recorded.values()) == ["sent"] * 3 + ["uncertain"]
    assert provider.has_gone_out(issue.slug), "those who got it can open the web version"

    relay.behaviour.down_after = None
    relay.start()
    try:
        second = provider.send(issue)
    finally:
        relay.stop()
    assert (second.sent, second.state, second.pending) == (6, CampaignState.SENT, 0)
    uncertain = [a for a, s in recorded.items() if s == "uncertain"]
    assert relay.received[uncertain[0]] == 2, "the unconfirmed one is sent once more"
    assert {relay.received[a] for a in PEOPLE if a not in uncertain} == {1}
    assert second.uncertain == 1 and "may have two copies" in second.message
    problems = Path(second.raw["problems_file"]).read_text()
    assert uncertain[0] in problems, "a possible second copy is listed"


def test_a_drop_after_the_final_dot_is_uncertain_and_never_sent_five_times(
    project_dir, example_file
):
    relay = FaultServer().start()
    flaky = PEOPLE[0]
    relay.behaviour.after_dot[flaky] = [DROP_AFTER_DOT] * 10
    relay.behaviour.after_dot[PEOPLE[1]] = [DROP_BEFORE_DOT]
    provider = with_people(provider_for(project_dir, relay.url))
    issue = load_issue(example_file, provider.settings)
    try:
        first = provider.send(issue)
        assert relay.received[flaky] == 1
        assert relay.received[PEOPLE[1]] == 1, "a drop before the dot is simply retried"
        assert statuses(provider)[flaky] == "uncertain"
        assert (first.sent, first.uncertain, first.pending) == (8, 1, 1)
        assert first.status is SendStatus.STOPPED

        second = provider.send(issue)
        assert relay.received[flaky] == 2, "sent once more on resume"
        assert second.state is CampaignState.FAILED or second.state is CampaignState.SENT
        assert statuses(provider)[flaky] == "uncertain"

        third = provider.send(issue, retry_failed=True)
        assert third.sent == 0
        assert relay.received[flaky] == 2, "never a third copy"
    finally:
        relay.stop()
    assert max(relay.received.values()) <= 2


def test_temporary_refusals_defer_and_retry_failed_sends_only_to_them(project_dir, example_file):
    relay = FaultServer().start()
    busy, gone, flaky = PEOPLE[0], PEOPLE[1], PEOPLE[2]
    relay.behaviour.at_rcpt[busy] = ["452 4.2.2 Mailbox full"] * 3
    relay.behaviour.at_rcpt[gone] = ["550 5.1.1 No such user"] * 9
    relay.behaviour.at_rcpt[flaky] = ["454 4.7.1 Relay access temporarily denied"]
    provider = with_people(provider_for(project_dir, relay.url))
    issue = load_issue(example_file, provider.settings)
    try:
        report = provider.send(issue)
        assert (report.sent, report.failed, report.deferred) == (7, 1, 1)
        assert report.state is CampaignState.SENT and report.status is SendStatus.PARTIAL
        assert statuses(provider)[busy] == "deferred"
        assert relay.rcpt_attempts[busy] == 3 and relay.rcpt_attempts[gone] == 1

        retried = provider.send(issue, retry_failed=True)
        assert (retried.sent, retried.failed, retried.deferred) == (1, 0, 0)
        assert retried.state is CampaignState.SENT
        assert relay.rcpt_attempts[gone] == 1, "a 5xx is never tried again"
    finally:
        relay.stop()
    assert relay.received[busy] == 1 and relay.received[gone] == 0
    assert {relay.received[a] for a in PEOPLE if a not in (busy, gone)} == {1}


def test_a_stalled_reply_ends_within_the_timeout_and_is_uncertain(project_dir, example_file):
    relay = FaultServer().start()
    relay.behaviour.after_dot[PEOPLE[0]] = [STALL_AFTER_DOT]
    relay.behaviour.stall_interval = 0.3  # each byte well inside the timeout
    provider = with_people(provider_for(project_dir, relay.url, smtp_timeout=1.0))
    issue = load_issue(example_file, provider.settings)
    try:
        started = time.monotonic()
        report = provider.send(issue)
        took = time.monotonic() - started
    finally:
        relay.stop()
    assert took < 4, f"a stalled reply held the send for {took:.1f} s"
    assert statuses(provider)[PEOPLE[0]] == "uncertain"
    assert (report.sent, report.uncertain) == (8, 1)


def test_a_greeting_one_byte_at_a_time_stops_the_send_soon(project_dir, example_file):
    relay = FaultServer().start()
    relay.behaviour.slow_greeting = True
    relay.behaviour.stall_interval = 0.3
    provider = with_people(provider_for(project_dir, relay.url, smtp_timeout=1.0))
    try:
        started = time.monotonic()
        report = provider.send(load_issue(example_file, provider.settings))
        took = time.monotonic() - started
    finally:
        relay.stop()
    assert took < 6, f"a slow greeting held the send for {took:.1f} s"
    assert report.status is SendStatus.STOPPED and report.pending == 9
    assert "did not answer within 1 s" in report.problem


def test_the_command_says_in_one_line_that_the_relay_is_down_and_how_to_resume(
    monkeypatch, project_dir, example_file
):
    monkeypatch.setenv("NEWSLETTER_SECRET", TEST_SECRET)
    monkeypatch.setenv("NEWSLETTER_SMTP_URL", f"smtp://127.0.0.1:{free_port()}")
    monkeypatch.setenv("NEWSLETTER_SMTP_GIVE_UP_AFTER", "0.5")
    monkeypatch.setenv("NEWSLETTER_SMTP_RETRY_DELAY", "0.05")
    with_people(LocalProvider(load_settings(project_dir / "newsletter.yaml")), PEOPLE[:3])

    result = CliRunner().invoke(app, ["send", str(example_file), "--yes"])

    assert result.exit_code == 75, result.output
    assert "Traceback" not in result.output
    errors = [line for line in result.stderr.splitlines() if not line.startswith(("[", "warning "))]
    assert len(errors) == 1 and "stopped" in errors[0] and "Connection refused" in errors[0]
    assert errors[0].endswith("run the same command again to continue")
    assert "still to send 3" in result.stdout
    assert "run the same send again" in result.stdout

    again = CliRunner().invoke(app, ["send", str(example_file), "--dry-run"])
    assert again.exit_code == 0 and "goes to 3 member(s)" in again.stdout


def test_a_dry_run_of_a_sent_issue_renders_nobody(monkeypatch, project_dir, example_file):
    monkeypatch.setenv("NEWSLETTER_SECRET", TEST_SECRET)
    provider = with_people(LocalProvider(load_settings(project_dir / "newsletter.yaml")))
    provider.send(load_issue(example_file, provider.settings))

    result = CliRunner().invoke(app, ["send", str(example_file), "--dry-run"])

    assert result.exit_code == 0, result.output
    assert "goes to 0 member(s)" in result.stdout
    assert "9 already received it" in result.stdout
    assert "Rendered 0 sample message(s) for: nobody" in result.stdout


@pytest.mark.slow
def test_sigterm_during_a_stalled_reply_ends_the_send_within_the_timeout(project_dir):
    """The process exits within the SMTP timeout, without spinning, and the message
    the stalled server holds is recorded uncertain."""
    settings = load_settings(project_dir / "newsletter.yaml")
    with_people(LocalProvider(settings), PEOPLE[:4])
    (project_dir / ".env").write_text(
        "NEWSLETTER_SMTP_TIMEOUT=3\nNEWSLETTER_SMTP_GIVE_UP_AFTER=30\n", encoding="utf-8"
    )
    relay = FaultServer().start()
    relay.behaviour.stall_interval = 0.5
    for address in PEOPLE[:4]:
        relay.behaviour.after_dot[address] = [STALL_AFTER_DOT]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    try:
        send = send_command(project_dir, relay)
        deadline = time.monotonic() + 20
        while sum(relay.received.values()) < 4:
            assert send.poll() is None, send.communicate()
            assert time.monotonic() < deadline, "the send did not reach the stall"
            time.sleep(0.02)
        send.send_signal(signal.SIGTERM)
        signalled = time.monotonic()
        time.sleep(0.3)
        send.send_signal(signal.SIGINT)  # impatience changes nothing
        try:
            out, err = send.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            send.kill()
            pytest.fail("the send did not stop after SIGTERM")
        took = time.monotonic() - signalled
    finally:
        relay.stop()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)

    print(f"stopped {took:.2f} s after SIGTERM, {cpu:.2f} s of CPU in all")
    assert send.returncode == 143, (out, err)
    assert took < 3 + 1.5, f"stopping took {took:.1f} s"
    assert cpu < 3, f"the send used {cpu:.1f} s of CPU: a busy loop"
    assert "Traceback" not in err
    recorded = statuses(LocalProvider(settings))
    assert set(recorded.values()) == {"uncertain"} and len(recorded) == 4
    with open_database(settings).connect() as connection:
        state, owner = connection.execute(text("SELECT state, owner FROM campaigns")).one()
    assert (state, owner) == ("sending", None)
