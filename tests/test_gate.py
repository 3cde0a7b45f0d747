"""Every path that sends passes the same gate, for every provider: an issue over Gmail's
clipping size is refused by ``test``, ``send``, ``push`` and ``schedule`` with one line,
before anything reaches the outbox, an SMTP server or Mailchimp."""

from __future__ import annotations

from datetime import timedelta

import pytest
from big_issue import big_issue
from conftest import TEST_SECRET
from mailchimp_support import fake_provider, use_mailchimp
from typer.testing import CliRunner

from newsletter.campaigns import load_issue
from newsletter.cli import app
from newsletter.clock import utc_now
from newsletter.config import load_settings
from newsletter.errors import CheckFailed
from newsletter.providers.base import MemberInput
from newsletter.providers.local import LocalProvider
from newsletter.providers.mailchimp.fake import FakeMailchimp
from newsletter.providers.memory import MemoryProvider

REFUSAL = "cannot go out: size.clipped"


@pytest.fixture
def huge(project_dir):
    return big_issue(project_dir / "campaigns" / "huge.yaml", 330, slug="huge")


def _one_error_line(result) -> str:
    lines = [line for line in result.stderr.splitlines() if not line.startswith("[")]
    assert len(lines) == 1, result.output
    assert "Traceback" not in result.output
    return lines[0]


def test_the_local_provider_refuses_on_every_path_and_nothing_leaves(
    monkeypatch, project_dir, huge, smtp_sink
):
    monkeypatch.setenv("NEWSLETTER_SECRET", TEST_SECRET)
    LocalProvider(project_settings(project_dir)).import_members(
        [MemberInput("ana@example.org", topics=frozenset({"events"}))]
    )
    runner = CliRunner()
    for command in (["send", str(huge), "--yes"], ["test", str(huge), "--to", "me@example.org"]):
        outbox = runner.invoke(app, command)
        assert outbox.exit_code == 1
        assert REFUSAL in _one_error_line(outbox) and "clipping point" in outbox.stderr
        monkeypatch.setenv("NEWSLETTER_SMTP_URL", smtp_sink.url)
        smtp = runner.invoke(app, command)
        monkeypatch.delenv("NEWSLETTER_SMTP_URL")
        assert smtp.exit_code == 1 and REFUSAL in _one_error_line(smtp)
    assert not (project_dir / "outbox").exists()
    assert not smtp_sink.handler.counts
    local = LocalProvider(project_settings(project_dir))
    assert local.campaign_state("huge") is None, "a refused issue leaves no campaign behind"


def test_the_memory_provider_refuses_before_delivering(project_dir, huge):
    memory = MemoryProvider(project_settings(project_dir))
    memory.import_members([MemberInput("ana@example.org")])
    issue = load_issue(huge, memory.settings)
    for attempt in (
        lambda: memory.send(issue),
        lambda: memory.send_test(issue, ["me@example.org"]),
        lambda: memory.plan_send(issue),
    ):
        with pytest.raises(CheckFailed, match=REFUSAL):
            attempt()
    assert memory.sent == []


def test_mailchimp_refuses_before_any_request(monkeypatch, project_dir, huge):
    fake = FakeMailchimp()
    mailchimp = fake_provider(project_settings(project_dir), monkeypatch, fake)
    issue = load_issue(huge, mailchimp.settings)
    later = utc_now() + timedelta(days=2)
    for attempt in (
        lambda: mailchimp.push(issue),
        lambda: mailchimp.send(issue),
        lambda: mailchimp.send_test(issue, ["me@example.org"]),
        lambda: mailchimp.schedule(issue, later),
    ):
        with pytest.raises(CheckFailed, match=REFUSAL):
            attempt()
    assert fake.calls == []


def test_mailchimp_push_at_the_command_line_is_one_line(monkeypatch, project_dir, huge):
    use_mailchimp(monkeypatch, "http://127.0.0.1:9")  # never reached
    monkeypatch.setenv("NEWSLETTER_PROVIDER", "mailchimp")
    result = CliRunner().invoke(app, ["push", str(huge)])
    assert result.exit_code == 1
    assert REFUSAL in _one_error_line(result)


def project_settings(project_dir):
    return load_settings(project_dir / "newsletter.yaml")
