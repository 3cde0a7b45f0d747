"""``newsletter report FILE`` with the local provider: sent, failed, bounced (hard and
soft), complaints and unsubscribes per issue."""

from __future__ import annotations

import shutil

from conftest import TEST_SECRET
from returns_support import MAILBOX
from test_inbound_maildir import drop, reports_for
from test_local_send import make_provider
from typer.testing import CliRunner

from newsletter.campaigns import load_issue
from newsletter.cli import app
from newsletter.providers.base import ChangeSource, MemberInput
from newsletter.returns.mailbox import open_mailbox
from newsletter.store import campaigns

NAMES = ("hard", "soft", "complaint", "unsubscribe", "keep", "refused", "later")


def test_the_report_counts_what_came_back_for_each_issue(
    project_dir, example_file, smtp_sink, tmp_path, monkeypatch
):
    maildir = tmp_path / "bounces"
    for folder in ("new", "cur", "tmp"):
        (maildir / folder).mkdir(parents=True)
    local = make_provider(project_dir, smtp_sink, bounce_address=MAILBOX)
    local.import_members(
        [MemberInput(f"{n}@example.net", n, "", frozenset({"events"})) for n in NAMES]
    )
    smtp_sink.handler.faults.at_rcpt["refused@example.net"] = ["550 5.1.1 no such user"]
    winter = load_issue(example_file, local.settings)
    local.send(winter)
    with local.engine.connect() as connection:
        winter_id = campaigns.get(connection, "local", winter.slug).id
    reports = reports_for(local, smtp_sink, winter_id)
    for name in ("hard", "soft", "complaint", "unsubscribe"):
        drop(maildir, f"{name}.M1P1.mx", reports[name])
    local.read_returns(open_mailbox(f"maildir://{maildir}"))
    keep = local.find_by_email("keep@example.net")
    local.unsubscribe(keep.id, source=ChangeSource.ONE_CLICK)

    spring_file = project_dir / "campaigns" / "spring-2027.yaml"
    shutil.copy(example_file, spring_file)
    local.send(load_issue(spring_file, local.settings))
    later = local.find_by_email("later@example.net")
    local.unsubscribe(later.id, source=ChangeSource.PAGE)

    monkeypatch.setenv("NEWSLETTER_SECRET", TEST_SECRET)
    monkeypatch.setenv("NEWSLETTER_BOUNCE_ADDRESS", MAILBOX)
    runner = CliRunner()
    shown = runner.invoke(app, ["report", str(example_file)])
    assert shown.exit_code == 0, shown.output
    assert shown.stdout.splitlines() == [
        "winter-2026",
        "  sent         6",
        "  failed       1 (16.7%)",
        "  opened       -",
        "  clicked      -",
        "  bounced      2 (33.3%)",
        "    hard       1 (16.7%)",
        "    soft       1 (16.7%)",
        "  complaints   1 (16.7%)",
        "  unsubscribed 2 (33.3%)",
    ]
    spring = runner.invoke(app, ["report", str(spring_file)])
    assert spring.exit_code == 0, spring.output
    lines = spring.stdout.splitlines()
    assert lines[1] == "  sent         3", "soft, later and refused; the rest left or bounced"
    assert "  unsubscribed 1 (33.3%)" in lines


def test_an_issue_not_sent_has_no_report(project_dir, example_file, monkeypatch):
    monkeypatch.setenv("NEWSLETTER_SECRET", TEST_SECRET)
    shown = CliRunner().invoke(app, ["report", str(example_file)])
    assert shown.exit_code == 1
    assert shown.stderr.strip() == "error: 'winter-2026' has not been sent; no report yet"
