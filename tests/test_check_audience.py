"""Audience rules: an issue that reaches nobody is refused with the reason, members who
chose no topic are counted, and ``audience import --topics`` gives them some.

The first test is the story of a new user: a list imported without a topics column,
an issue that names topics, and a send that used to say "Nobody to send to" and exit 0.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from conftest import REPO, TEST_SECRET
from smtp_sink import maildir_messages
from typer.testing import CliRunner

from newsletter import checks
from newsletter.campaigns import load_issue, load_located
from newsletter.checks import Reach, Severity
from newsletter.checks.report import reach_line
from newsletter.cli import app
from newsletter.cli import sending as cli_sending
from newsletter.config import load_settings
from newsletter.errors import CheckFailed, ProviderError
from newsletter.models import CampaignState
from newsletter.providers.base import ChangeSource, MemberInput
from newsletter.providers.local import LocalProvider
from newsletter.providers.mailchimp.audience import InterestMap, member_payload
from newsletter.providers.memory import MemoryProvider

SLUG = "winter-2026"
NOBODY = "none of the 10 subscribed members chose reviews, events or resources; 10 chose no topic"


def invoke(*args: str):
    return CliRunner().invoke(app, list(args))


def without_topics(folder: Path) -> Path:
    """examples/audience.csv as a list kept elsewhere would come: no topics column."""
    with (REPO / "examples" / "audience.csv").open(newline="", encoding="utf-8") as handle:
        rows = [row[:3] for row in csv.reader(handle)]
    path = folder / "members.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows(rows)
    return path


def test_a_list_without_topics_is_refused_with_the_reason_then_sent_once_given_topics(
    monkeypatch, project_dir, example_file
):
    monkeypatch.setenv("NEWSLETTER_SECRET", TEST_SECRET)
    members = without_topics(project_dir)
    assert invoke("audience", "import", str(members)).exit_code == 0

    checked = invoke("check", str(example_file), "--format", "json")
    assert checked.exit_code == 1
    report = json.loads(checked.stdout)
    assert report["reach"] == {
        "subscribed": 10,
        "reached": 0,
        "chose_no_topic": 10,
        "chose_other_topics": 0,
        "topics": ["reviews", "events", "resources"],
    }
    [finding] = report["findings"]
    assert (finding["rule"], finding["severity"], finding["place"]) == (
        "audience.nobody",
        "error",
        "topics",
    )
    assert finding["line"] == 5 and finding["message"] == NOBODY
    assert "newsletter audience import FILE --topics reviews,events,resources" in finding["fix"]

    sent = invoke("send", str(example_file), "--yes")
    assert sent.exit_code == 1
    [line] = sent.stderr.splitlines()
    assert "audience.nobody" in line and NOBODY in line
    assert "Nobody to send to" not in sent.output
    assert maildir_messages(project_dir) == []

    assert invoke("audience", "import", str(members), "--topics", "reviews").exit_code == 0
    again = invoke("check", str(example_file))
    assert again.exit_code == 0, again.output
    assert "Reaches 10 of the 10 subscribed members" in again.stdout
    assert "0 errors, 0 warnings" in again.stdout

    delivered = invoke("send", str(example_file), "--yes")
    assert delivered.exit_code == 0, delivered.output
    assert len(maildir_messages(project_dir)) == 10


def test_check_prints_the_reach_and_the_fix_in_text(monkeypatch, project_dir, example_file):
    members = without_topics(project_dir)
    assert invoke("audience", "import", str(members)).exit_code == 0
    lines = invoke("check", str(example_file)).stdout.splitlines()
    assert lines[0].startswith(f"{example_file}:5: error [audience.nobody] topics: {NOBODY}; fix:")
    assert lines[1] == (
        "Reaches none of the 10 subscribed members (it goes to those who chose reviews, "
        "events or resources); leaves out 10 who chose no topic"
    )


MIX = {
    "none1@example.org": frozenset(),
    "none2@example.org": frozenset(),
    "other1@example.org": frozenset({"resources"}),
    "other2@example.org": frozenset({"resources"}),
    "other3@example.org": frozenset({"resources"}),
    "match1@example.org": frozenset({"reviews"}),
    "match2@example.org": frozenset({"events"}),
    "match3@example.org": frozenset({"reviews", "events"}),
    "match4@example.org": frozenset({"events", "resources"}),
    "gone1@example.org": frozenset({"reviews"}),
    "gone2@example.org": frozenset(),
}


def fill(provider) -> None:
    provider.import_members(MemberInput(email, topics=topics) for email, topics in MIX.items())
    for email in ("gone1@example.org", "gone2@example.org"):
        member = provider.find_by_email(email)
        provider.unsubscribe(member.id, source=ChangeSource.CLI)


def issue_file(project_dir: Path, slug: str, topics: str) -> Path:
    text = (project_dir / "campaigns" / f"{SLUG}.yaml").read_text(encoding="utf-8")
    path = project_dir / "campaigns" / f"{slug}.yaml"
    path.write_text(text.replace("topics: [reviews, events, resources]", topics), "utf-8")
    return path


def checked(provider, path: Path):
    located = load_located(path, provider.settings)
    return provider.check_input(located.issue, source=located.source, audience=True)


@pytest.fixture(params=["local", "memory"])
def provider(request, settings):
    made = LocalProvider(settings) if request.param == "local" else MemoryProvider(settings)
    fill(made)
    yield made
    made.close()


def test_reach_counts_each_kind_of_member(provider, project_dir):
    targeted = issue_file(project_dir, "targeted", "topics: [reviews, events]")
    check = checked(provider, targeted)
    assert check.reach == Reach(9, 4, 2, 3, ("reviews", "events"))

    [finding] = checks.findings(check)
    assert (finding.rule, finding.severity) == ("audience.left-out", Severity.WARNING)
    assert finding.message.startswith("2 of the 9 subscribed members chose no topic and miss")
    assert finding.place.field == ("topics",) and check.line_of(finding.place) == 5

    everyone = issue_file(project_dir, "everyone", "topics: []")
    check = checked(provider, everyone)
    assert check.reach == Reach(9, 9, 0, 0)
    assert checks.findings(check) == []


def test_reach_is_who_the_send_goes_to(monkeypatch, project_dir):
    monkeypatch.setenv("NEWSLETTER_SECRET", TEST_SECRET)
    provider = LocalProvider(load_settings(project_dir / "newsletter.yaml"))
    fill(provider)
    for topics in ("topics: [reviews, events]", "topics: [resources]", "topics: []"):
        path = issue_file(project_dir, "targeted", topics)
        issue = load_issue(path, provider.settings)
        assert provider.plan_send(issue).recipients == provider.reach(issue).reached
    provider.close()


def test_only_other_topics_and_an_empty_audience_say_why(project_dir, settings):
    memory = MemoryProvider(settings)
    memory.import_members([MemberInput("ana@example.org", topics=frozenset({"resources"}))])
    memory.import_members([MemberInput("bo@example.org", topics=frozenset({"resources"}))])
    path = issue_file(project_dir, "targeted", "topics: [reviews, events]")
    [finding] = checks.findings(checked(memory, path))
    assert finding.rule == "audience.nobody" and finding.message == (
        "none of the 2 subscribed members chose reviews or events; 2 only other topics"
    )
    assert finding.fix.startswith("name a topic they chose in topics:")

    [empty] = checks.findings(checked(MemoryProvider(settings), path))
    assert empty.message == "the audience has no subscribed members"
    assert (
        empty.fix == "import members first: newsletter audience import FILE --topics reviews,events"
    )


def test_the_memory_provider_refuses_a_send_that_reaches_nobody(project_dir, settings):
    memory = MemoryProvider(settings)
    memory.import_members([MemberInput("ana@example.org")])
    issue = load_issue(project_dir / "campaigns" / f"{SLUG}.yaml", settings)
    with pytest.raises(CheckFailed, match=r"audience\.nobody") as refused:
        memory.send(issue)
    assert refused.value.rules == ["audience.nobody"] and memory.sent == []
    ana = memory.find_by_email("ana@example.org")
    memory.set_topics(ana.id, frozenset({"events"}), source=ChangeSource.CLI)
    assert memory.send(issue).sent == 1


def test_reach_lines_read_well():
    assert reach_line(Reach(0, 0, 0, 0)) == "Reaches nobody: the audience has no subscribed members"
    assert reach_line(Reach(1, 1, 0, 0)) == "Reaches the only subscribed member"
    assert reach_line(Reach(1200, 1200, 0, 0)) == "Reaches all 1,200 subscribed members"
    assert reach_line(Reach(9, 4, 2, 3, ("reviews", "events"))) == (
        "Reaches 4 of the 9 subscribed members (it goes to those who chose reviews or events); "
        "leaves out 2 who chose no topic and 3 who chose only other topics"
    )


def test_run_due_of_an_issue_that_reaches_nobody_fails_with_the_reason(
    monkeypatch, project_dir, example_file
):
    monkeypatch.setenv("NEWSLETTER_SECRET", TEST_SECRET)
    assert invoke("audience", "import", str(without_topics(project_dir))).exit_code == 0
    scheduled = invoke("schedule", str(example_file), "--at", "2099-07-01T09:00")
    assert scheduled.exit_code == 0, "reach is not checked when scheduling: the audience may grow"

    due = invoke("run-due", "--now", "2099-07-01T09:01")
    assert due.exit_code == 1
    assert due.stdout.startswith(f"{SLUG}: failed: ")
    assert "audience.nobody" in due.stdout and NOBODY in due.stdout
    assert maildir_messages(project_dir) == []

    with LocalProvider(load_settings(project_dir / "newsletter.yaml")) as provider:
        assert provider.campaign_state(SLUG) is CampaignState.FAILED
    later = invoke("run-due", "--now", "2099-07-01T09:02")
    assert later.exit_code == 0 and later.stdout.startswith("Nothing due"), (
        "a failed issue is not tried again every minute"
    )


def test_skip_check_lets_a_send_to_nobody_go_ahead_and_is_recorded(
    monkeypatch, project_dir, example_file
):
    monkeypatch.setenv("NEWSLETTER_SECRET", TEST_SECRET)
    assert invoke("audience", "import", str(without_topics(project_dir))).exit_code == 0
    sent = invoke("send", str(example_file), "--yes", "--skip-check", "audience.nobody")
    assert f"skipped check [audience.nobody]: {NOBODY}" in sent.stderr
    assert f"'{SLUG}' goes to 0 member(s)" in sent.stdout
    assert f"{SLUG}: sent 0, failed 0" in sent.stdout, "the send went ahead"
    assert "Nobody to send to" not in sent.output
    assert sent.exit_code == 1, "a send that delivered nothing is not marked sent"
    assert maildir_messages(project_dir) == []
    with LocalProvider(load_settings(project_dir / "newsletter.yaml")) as provider:
        assert provider.skipped_checks(SLUG) == {"audience.nobody"}


def test_retry_failed_with_nobody_deferred_is_unchanged(monkeypatch, project_dir, example_file):
    monkeypatch.setenv("NEWSLETTER_SECRET", TEST_SECRET)
    assert invoke("audience", "import", str(without_topics(project_dir))).exit_code == 0
    retried = invoke("send", str(example_file), "--yes", "--retry-failed")
    assert retried.exit_code == 0, retried.output
    assert "Nobody to retry: no recipient of this issue is deferred." in retried.stdout


def test_a_dry_run_of_an_issue_that_reaches_nobody_says_why(monkeypatch, project_dir, example_file):
    monkeypatch.setenv("NEWSLETTER_SECRET", TEST_SECRET)
    assert invoke("audience", "import", str(without_topics(project_dir))).exit_code == 0
    dry = invoke("send", str(example_file), "--dry-run")
    assert dry.exit_code == 1 and NOBODY in dry.stderr
    given = invoke("audience", "import", str(without_topics(project_dir)), "--topics", "events")
    assert given.exit_code == 0
    shown = invoke("send", str(example_file), "--dry-run")
    assert shown.exit_code == 0 and "Rendered 10 sample message(s)" in shown.stdout


def test_import_topics_fill_only_rows_and_members_without_any(project_dir, settings):
    path = project_dir / "members.csv"
    path.write_text(
        "email,topics\nana@example.org,resources\nbo@example.org,\ncy@example.org,\n",
        encoding="utf-8",
    )
    with LocalProvider(settings) as provider:
        provider.import_members([MemberInput("cy@example.org", topics=frozenset({"events"}))])
    done = invoke("audience", "import", str(path), "--topics", "reviews, events")
    assert done.exit_code == 0, done.output
    with LocalProvider(settings) as provider:
        topics = {m.email: m.topics for m in provider.members()}
    assert topics == {
        "ana@example.org": {"resources"},
        "bo@example.org": {"reviews", "events"},
        "cy@example.org": {"events"},
    }


def test_import_topics_refuses_an_unknown_topic_in_one_line(project_dir):
    path = without_topics(project_dir)
    refused = invoke("audience", "import", str(path), "--topics", "reviews,webinars")
    assert refused.exit_code == 2
    assert refused.stderr.splitlines() == [
        "error: --topics: unknown topic 'webinars' (topics in newsletter.yaml: events, "
        "resources, reviews)"
    ]
    with LocalProvider(load_settings(project_dir / "newsletter.yaml")) as provider:
        assert list(provider.members()) == [], "nothing is imported"


def test_memory_import_topics_keep_chosen_topics(settings):
    memory = MemoryProvider(settings)
    memory.import_members([MemberInput("cy@example.org", topics=frozenset({"events"}))])
    defaults = frozenset({"reviews"})
    memory.import_members(
        [MemberInput("cy@example.org", default_topics=defaults), MemberInput("bo@example.org")]
    )
    memory.import_members([MemberInput("bo@example.org", default_topics=defaults)])
    assert {m.email: m.topics for m in memory.members()} == {
        "cy@example.org": {"events"},
        "bo@example.org": {"reviews"},
    }


def test_mailchimp_gets_the_default_topics_for_rows_that_name_none():
    interests = InterestMap("cat", {"reviews": "i1", "events": "i2"})
    row = MemberInput("ana@example.org", default_topics=frozenset({"reviews"}))
    assert member_payload(row, interests, resubscribe=False)["interests"] == {"i1": True}
    named = MemberInput(
        "bo@example.org", topics=frozenset({"events"}), default_topics=row.default_topics
    )
    assert member_payload(named, interests, resubscribe=False)["interests"] == {"i2": True}


def test_the_rules_are_listed(project_dir):
    listed = invoke("check", "--rules").stdout
    assert "audience.nobody" in listed and "audience.left-out" in listed


def test_a_send_whose_audience_was_all_refused_says_nobody_is_left(
    monkeypatch, project_dir, example_file, smtp_sink
):
    monkeypatch.setenv("NEWSLETTER_SECRET", TEST_SECRET)
    monkeypatch.setenv("NEWSLETTER_SMTP_URL", smtp_sink.url)
    assert invoke("audience", "add", "ana@example.org", "--topic", "events").exit_code == 0
    smtp_sink.handler.faults.at_rcpt["ana@example.org"] = ["550 5.1.1 No such mailbox"]
    assert invoke("send", str(example_file), "--yes").exit_code == 1
    again = invoke("send", str(example_file), "--yes")
    assert again.exit_code == 0, again.output
    assert "Nobody left to send to: each of the 1 member(s)" in again.stdout
    assert smtp_sink.handler.counts["ana@example.org"] == 0


class Uncounted(MemoryProvider):
    """A provider that cannot tell whom an issue reaches, as Mailchimp cannot."""

    def reach(self, issue):
        return None


def test_send_through_a_provider_without_reach_still_refuses_nobody(
    monkeypatch, settings, example_file
):
    provider = Uncounted(settings)
    monkeypatch.setattr(cli_sending, "get_provider", lambda *_args: provider)
    issue = load_issue(example_file, settings)
    with pytest.raises(ProviderError, match="'winter-2026' reaches nobody: no subscribed"):
        cli_sending._send(
            issue, settings, None, cli_sending._Choice(True, False, False, False, frozenset())
        )
    assert provider.sent == []


def test_a_checkout_without_the_store_checks_clean_and_makes_none(project_dir, example_file):
    """As in CI: nobody can say whom the issue reaches, so the audience rules stay quiet."""
    checked = invoke("check", str(example_file), "--format", "json")
    assert checked.exit_code == 0, checked.output
    assert json.loads(checked.stdout)["reach"] is None
    assert not (project_dir / ".newsletter").exists()


def test_a_send_before_any_import_reaches_nobody(monkeypatch, project_dir, example_file):
    monkeypatch.setenv("NEWSLETTER_SECRET", TEST_SECRET)
    sent = invoke("send", str(example_file), "--yes")
    assert sent.exit_code == 1
    assert sent.stderr.splitlines() == [
        "error: 'winter-2026' reaches nobody: the audience has no subscribed members"
    ]
    again = invoke("check", str(example_file))
    assert again.exit_code == 1 and "error [audience.nobody]" in again.stdout
    assert "Reaches nobody: the audience has no subscribed members" in again.stdout
