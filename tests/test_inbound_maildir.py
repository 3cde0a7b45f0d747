"""``newsletter inbound`` over a Maildir, end to end with the local provider: send to a
real SMTP server, feed back one report of each kind, and the next send skips exactly
the members who bounced, complained or unsubscribed."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from conftest import TEST_SECRET
from returns_support import MAILBOX, Addressee, sample
from test_local_send import make_provider, parse
from typer.testing import CliRunner

from newsletter.campaigns import load_issue
from newsletter.cli import app
from newsletter.models import SubscriberStatus
from newsletter.providers.base import MemberInput
from newsletter.returns.mailbox import open_mailbox
from newsletter.returns.maildir import seen_name
from newsletter.store import campaigns, consent

pytestmark = pytest.mark.usefixtures("database")

KINDS = {
    "hard": "postfix_hard",
    "soft": "postfix_delayed",
    "complaint": "arf_redacted",
    "unsubscribe": "mailto_unsubscribe",
    "forged": "mailto_unsubscribe",
    "away": "out_of_office",
    "qmail": "qmail_hard",
    "keep": None,
}
"""Member name -> the report that comes back for them (None: nothing)."""


@pytest.fixture
def maildir(tmp_path) -> Path:
    root = tmp_path / "bounces"
    for folder in ("new", "cur", "tmp"):
        (root / folder).mkdir(parents=True)
    return root


def drop(maildir: Path, name: str, raw: bytes) -> None:
    (maildir / "tmp" / name).write_bytes(raw)
    (maildir / "tmp" / name).rename(maildir / "new" / name)


def provider_for(project_dir, sink, maildir, **overrides):
    return make_provider(
        project_dir,
        sink,
        bounce_address=MAILBOX,
        inbound_url=f"maildir://{maildir}",
        **overrides,
    )


def send_first_issue(project_dir, example_file, smtp_sink, maildir):
    local = provider_for(project_dir, smtp_sink, maildir)
    local.import_members(
        [
            MemberInput(f"{name}@example.net", name.title(), "", frozenset({"events"}))
            for name in KINDS
        ]
    )
    issue = load_issue(example_file, local.settings)
    assert local.send(issue).sent == len(KINDS)
    with local.engine.connect() as connection:
        campaign_id = campaigns.get(connection, "local", issue.slug).id
    return local, campaign_id


def reports_for(local, smtp_sink, campaign_id) -> dict[str, bytes]:
    """One report per member named in ``KINDS``, as the mail servers would write it,
    about the message the sink received for them."""
    found = {}
    for received in smtp_sink.handler.messages:
        email = received.recipients[0]
        name = email.partition("@")[0]
        if KINDS.get(name) is None:
            continue
        member = local.find_by_email(email)
        who = Addressee(member.id, campaign_id, email, parse(received.data)["Message-ID"])
        assert who.values()["return_path"] == received.sender
        changes = {}
        if name == "forged":
            changes["unsubscribe"] = who.values()["unsubscribe"].replace(member.id, "x" * 16)
        found[name] = sample(KINDS[name], who, **changes)
    return found


def statuses(local) -> dict[str, str]:
    return {m.email.partition("@")[0]: m.status.value for m in local.members()}


def test_one_report_of_each_kind_then_the_next_send_skips_exactly_those_members(
    project_dir, example_file, smtp_sink, maildir
):
    local, campaign_id = send_first_issue(project_dir, example_file, smtp_sink, maildir)
    for name, raw in reports_for(local, smtp_sink, campaign_id).items():
        drop(maildir, f"1768{name}.M1P1.mx", raw)
    mailbox = open_mailbox(f"maildir://{maildir}")

    first = local.read_returns(mailbox)
    assert statuses(local) == {
        "hard": "bounced",
        "soft": "subscribed",
        "complaint": "complained",
        "unsubscribe": "unsubscribed",
        "forged": "subscribed",
        "away": "subscribed",
        "qmail": "bounced",
        "keep": "subscribed",
    }
    assert first.read == 7 and first.changed == 4
    assert sorted(p.name.partition(".")[0] for p in (maildir / "new").iterdir()) == [
        "1768away",
        "1768forged",
    ]
    assert len(list((maildir / "cur").iterdir())) == 5
    assert all(p.name.endswith(":2,S") for p in (maildir / "cur").iterdir())

    logs = {m.email: _log(local, m.id) for m in local.members()}
    second = local.read_returns(mailbox)
    assert (second.read, second.changed, sum(second.left.values())) == (2, 0, 2)
    for handled in (maildir / "cur").iterdir():  # the same reports delivered once more
        shutil.copy(handled, maildir / "new" / f"again-{handled.name.partition(':')[0]}")
    third = local.read_returns(mailbox)
    assert (third.before, third.changed) == (5, 0)
    assert {m.email: _log(local, m.id) for m in local.members()} == logs

    smtp_sink.handler.messages.clear()
    spring = project_dir / "campaigns" / "spring-2027.yaml"
    shutil.copy(example_file, spring)
    local.send(load_issue(spring, local.settings))
    got = sorted(r.recipients[0].partition("@")[0] for r in smtp_sink.handler.messages)
    assert got == ["away", "forged", "keep", "soft"]


def _log(local, subscriber_id):
    with local.engine.connect() as connection:
        return consent.history(connection, subscriber_id)


def test_a_bounce_arriving_during_a_send_stops_mail_to_that_member(
    project_dir, example_file, smtp_sink, maildir
):
    local = provider_for(project_dir, smtp_sink, maildir, connections=1)
    local.import_members(
        [MemberInput(f"r{n:03d}@example.net", topics=frozenset({"events"})) for n in range(40)]
    )
    by_id = sorted(local.members(), key=lambda m: m.id)
    late = by_id[-1]
    issue = load_issue(example_file, local.settings)
    mailbox = open_mailbox(f"maildir://{maildir}")
    bounced = []

    def bounce_once(envelope):
        if bounced:
            return
        with local.engine.connect() as connection:
            campaign_id = campaigns.get(connection, "local", issue.slug).id
        who = Addressee(late.id, campaign_id, late.email, "<earlier@example.org>")
        drop(maildir, "during.M1P1.mx", sample("gmail_hard", who))
        bounced.append(local.read_returns(mailbox))

    smtp_sink.handler.on_message = bounce_once
    report = local.send(issue)
    assert bounced and bounced[0].changed == 1
    assert late.email not in smtp_sink.handler.counts
    assert len(smtp_sink.handler.counts) == 39
    assert report.skipped == 1
    assert local.get_subscriber(late.id).status is SubscriberStatus.BOUNCED


def test_the_command_prints_one_summary_line_and_dry_run_changes_nothing(
    project_dir, example_file, smtp_sink, maildir, monkeypatch
):
    local, campaign_id = send_first_issue(project_dir, example_file, smtp_sink, maildir)
    for name, raw in reports_for(local, smtp_sink, campaign_id).items():
        drop(maildir, f"1768{name}.M1P1.mx", raw)
    monkeypatch.setenv("NEWSLETTER_SECRET", TEST_SECRET)
    monkeypatch.setenv("NEWSLETTER_BOUNCE_ADDRESS", MAILBOX)
    monkeypatch.setenv("NEWSLETTER_INBOUND_URL", f"maildir://{maildir}")
    runner = CliRunner()

    dry = runner.invoke(app, ["inbound", "--dry-run"])
    assert dry.exit_code == 0, dry.output
    lines = dry.stdout.splitlines()
    assert len(lines) == 8
    assert "new/1768hard.M1P1.mx: hard-bounce: bounced (hard)" in lines
    assert "new/1768forged.M1P1.mx: refused: " in "\n".join(lines)
    assert lines[-1].startswith(f"the Maildir {maildir}: 7 read; would handle 2 hard bounces")
    assert set(statuses(local).values()) == {"subscribed"}
    assert len(list((maildir / "new").iterdir())) == 7

    real = runner.invoke(app, ["inbound"])
    assert real.exit_code == 0, real.output
    (line,) = real.stdout.splitlines()
    assert line == (
        f"the Maildir {maildir}: 7 read; handled 2 hard bounces, 1 soft bounce, "
        "1 complaint, 1 unsubscribe; 4 members changed; 2 left for a person "
        "(1 auto-reply, 1 refused token)"
    )


def test_a_missing_url_or_mailbox_is_one_line_without_a_traceback(project_dir, monkeypatch):
    monkeypatch.setenv("NEWSLETTER_SECRET", TEST_SECRET)
    runner = CliRunner()
    unset = runner.invoke(app, ["inbound"])
    assert unset.exit_code == 2 and "NEWSLETTER_INBOUND_URL is not set" in unset.stderr
    monkeypatch.setenv("NEWSLETTER_INBOUND_URL", "maildir:///nowhere/at/all")
    missing = runner.invoke(app, ["inbound"])
    assert missing.exit_code == 1
    assert missing.stderr.strip() == (
        "error: /nowhere/at/all is not a Maildir (it needs new/, cur/ and tmp/)"
    )
    monkeypatch.setenv("NEWSLETTER_INBOUND_URL", "pop3://user:hunter2@mail.example.org/")
    other = runner.invoke(app, ["inbound"])
    assert other.exit_code == 2 and "hunter2" not in other.output
    assert "Traceback" not in other.output


def test_seen_names_keep_other_flags_in_order():
    assert seen_name("123.M1P1.host") == "123.M1P1.host:2,S"
    assert seen_name("123.M1P1.host:2,FR") == "123.M1P1.host:2,FRS"
    assert seen_name("123.M1P1.host:2,S") == "123.M1P1.host:2,S"
