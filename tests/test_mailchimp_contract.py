"""The provider against Mailchimp's own API description, served by Prism: every request
must validate. Any 4xx fails the test, with Prism's ``sl-violations`` in the message."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from mailchimp_support import AUDIENCE, use_mailchimp
from prism import run_prism
from typer.testing import CliRunner

from newsletter.campaigns import load_issue
from newsletter.cli import app
from newsletter.models import SendStatus
from newsletter.providers.base import ChangeSource, MemberInput
from newsletter.providers.mailchimp import MailchimpProvider

pytestmark = pytest.mark.contract


@pytest.fixture(scope="session")
def prism_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    yield from run_prism(tmp_path_factory.mktemp("prism") / "prism.log")


@dataclass
class Exchange:
    method: str
    path: str
    status: int
    body: object
    has_body: bool
    violations: str


class Recording(httpx.HTTPTransport):
    """The real transport, remembering each request and whether the mock refused it."""

    def __init__(self) -> None:
        super().__init__()
        self.exchanges: list[Exchange] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = super().handle_request(request)
        response.read()
        content = request.content
        self.exchanges.append(
            Exchange(
                request.method,
                request.url.path,
                response.status_code,
                json.loads(content) if content else None,
                bool(content),
                response.headers.get("sl-violations", ""),
            )
        )
        return response

    def calls(self, method: str, suffix: str) -> list[Exchange]:
        return [e for e in self.exchanges if e.method == method and e.path.endswith(suffix)]

    def assert_no_client_errors(self) -> None:
        refused = [e for e in self.exchanges if 400 <= e.status < 500]
        assert not refused, "; ".join(
            f"{e.method} {e.path} -> {e.status}: {e.violations}" for e in refused
        )


@pytest.fixture
def recording() -> Iterator[Recording]:
    transport = Recording()
    yield transport
    transport.assert_no_client_errors()


@pytest.fixture
def mailchimp(settings, monkeypatch, prism_url, recording) -> Iterator[MailchimpProvider]:
    use_mailchimp(monkeypatch, prism_url)
    with MailchimpProvider(settings, transport=recording) as provider:
        yield provider


@pytest.fixture
def issue(settings, example_file: Path):
    return load_issue(example_file, settings)


def test_topic_sync_then_push_creates_a_segmented_campaign(mailchimp, recording, issue):
    synced = mailchimp.sync_topics()
    assert synced.category_created
    assert [e.body["name"] for e in recording.calls("POST", "/interests")] == [
        "National reviews",
        "Events and webinars",
        "Practice resources",
    ]
    pushed = mailchimp.push(issue)
    assert pushed.created
    (create,) = recording.calls("POST", "/campaigns")
    assert create.body["type"] == "regular"
    assert create.body["recipients"]["list_id"] == AUDIENCE
    condition = create.body["recipients"]["segment_opts"]["conditions"][0]
    assert condition["condition_type"] == "Interests"
    assert condition["op"] == "interestcontains" and condition["value"]
    assert condition["field"].startswith("interests-")
    assert create.body["settings"]["subject_line"] == issue.subject
    assert create.body["settings"]["preview_text"] == issue.preview_text
    (content,) = recording.calls("PUT", "/content")
    assert 'href="*|UNSUB|*"' in content.body["html"]
    assert "*|UNSUB|*" in content.body["plain_text"]

    again = mailchimp.push(issue)
    assert not again.created and again.remote_id == pushed.remote_id
    assert len(recording.calls("PATCH", f"/campaigns/{pushed.remote_id}")) == 1


@pytest.fixture
def plain_issue(issue):
    return issue.model_copy(update={"topics": []})


def test_test_send_sends_html_and_plain_text(mailchimp, recording, plain_issue):
    report = mailchimp.send_test(plain_issue, ["editor@example.org", "second@example.org"])
    assert report.sent == 2
    tests = recording.calls("POST", "/actions/test")
    assert [e.body["send_type"] for e in tests] == ["html", "plaintext"]
    assert tests[0].body["test_emails"] == ["editor@example.org", "second@example.org"]


def test_schedule_and_unschedule(mailchimp, recording, plain_issue):
    when = (datetime.now(UTC) + timedelta(days=2)).replace(minute=45, second=0, microsecond=0)
    report = mailchimp.schedule(plain_issue, when)
    assert report.status is SendStatus.SCHEDULED
    (scheduled,) = recording.calls("POST", "/actions/schedule")
    assert datetime.fromisoformat(scheduled.body["schedule_time"]) == when
    mailchimp.unschedule(plain_issue)
    (unscheduled,) = recording.calls("POST", "/actions/unschedule")
    assert not unscheduled.has_body


def test_plan_then_send_once(mailchimp, recording, plain_issue):
    plan = mailchimp.plan_send(plain_issue)
    assert plan.ready and plan.recipients >= 0
    assert recording.calls("GET", "/send-checklist")
    report = mailchimp.send(plain_issue)
    assert report.status in (SendStatus.QUEUED, SendStatus.SENT)
    (sent,) = recording.calls("POST", "/actions/send")
    assert not sent.has_body


def test_report(mailchimp, recording, plain_issue):
    pushed = mailchimp.push(plain_issue)
    report = mailchimp.report(plain_issue)
    assert isinstance(report.sent, int) and isinstance(report.opens, int)
    assert any("Apple Mail" in note for note in report.notes)
    assert recording.calls("GET", f"/reports/{pushed.remote_id}")


def test_import_1200_members_in_three_calls(mailchimp, recording):
    people = [
        MemberInput(f"person{n}@example.org", f"First{n}", f"Last{n}", source_line=n + 2)
        for n in range(1200)
    ]
    mailchimp.import_members(people)
    batches = recording.calls("POST", f"/lists/{AUDIENCE}")
    assert sorted(len(e.body["members"]) for e in batches) == [200, 500, 500]
    member = batches[0].body["members"][0]
    assert batches[0].body["update_existing"] is True
    assert member["status_if_new"] == "subscribed" and "status" not in member
    assert set(member["merge_fields"]) == {"FNAME", "LNAME"}


def test_unsubscribe(mailchimp, recording):
    found = mailchimp.find_by_email("reader@example.org")
    assert found is not None and found.email == "reader@example.org"
    changed = mailchimp.unsubscribe(found.id, source=ChangeSource.CLI, note="asked by phone")
    assert changed.id == found.id
    (patch,) = recording.calls("PATCH", f"/members/{found.id}")
    assert patch.body == {"status": "unsubscribed"}
    (note,) = recording.calls("POST", f"/lists/{AUDIENCE}/members/{found.id}/notes")
    assert note.status == 200
    assert set(note.body) == {"note"}
    assert note.body["note"].startswith("Unsubscribed by the newsletter command line at ")
    assert note.body["note"].endswith("(source: cli). Note: asked by phone")


def test_a_topic_change_is_noted(mailchimp, recording):
    mailchimp.sync_topics()
    found = mailchimp.find_by_email("reader@example.org")
    assert found is not None
    mailchimp.set_topics(found.id, frozenset({"events"}), source=ChangeSource.PAGE)
    (patch,) = recording.calls("PATCH", f"/members/{found.id}")
    assert set(patch.body) == {"interests"}
    (note,) = recording.calls("POST", f"/members/{found.id}/notes")
    assert "(source: page)." in note.body["note"]
    assert "Topics now: Events and webinars." in note.body["note"]


def test_cli_commands_against_the_mock(project_dir, monkeypatch, prism_url):
    use_mailchimp(monkeypatch, prism_url)
    monkeypatch.setenv("NEWSLETTER_PROVIDER", "mailchimp")
    campaign = project_dir / "campaigns" / "winter-2026.yaml"
    campaign.write_text(campaign.read_text().replace("topics: [reviews, events, resources]", ""))
    runner = CliRunner()
    for command in (
        ["audience", "sync-topics"],
        ["push", str(campaign)],
        ["push", str(campaign)],
        ["report", str(campaign)],
    ):
        result = runner.invoke(app, command)
        assert result.exit_code == 0, f"{command}: {result.output}"
    assert "Apple Mail" in result.output and "unsubscribed" in result.output
    at = (datetime.now(UTC) + timedelta(days=1)).strftime("%Y-%m-%dT%H:07Z")
    refused = runner.invoke(app, ["schedule", str(campaign), "--at", at])
    assert refused.exit_code == 1
    assert "quarter hour" in refused.output and len(refused.output.strip().splitlines()) == 1
    at = (datetime.now(UTC) + timedelta(days=1)).strftime("%Y-%m-%dT%H:30Z")
    for command in (
        ["schedule", str(campaign), "--at", at],
        ["run-due"],  # reads the scheduled campaign's state back through the API
        ["status", str(campaign), "--format", "json"],
        ["unschedule", str(campaign)],
    ):
        result = runner.invoke(app, command)
        assert result.exit_code == 0, f"{command}: {result.output}"
        assert "Traceback" not in result.output
        if command[0] == "run-due":  # the mock answers with its example status, a draft
            assert "winter-2026: read-back: mailchimp: scheduled -> " in result.output
        if command[0] == "status":
            assert json.loads(result.output)[0]["slug"] == "winter-2026"


def test_a_request_the_description_refuses_shows_the_violations(settings, monkeypatch, prism_url):
    from pydantic import SecretStr

    from newsletter.errors import ProviderAPIError
    from newsletter.providers.mailchimp.client import MailchimpClient

    client = MailchimpClient(SecretStr("contract-key-us1"), prism_url)
    with pytest.raises(ProviderAPIError) as caught:
        client.request("POST", "/campaigns", json_body={"type": "newspaper"})
    assert caught.value.status == 422
    assert "request violates the API description: " in str(caught.value)
    assert "body.type: Request body property type must be equal to one of" in str(caught.value)
    assert "\n" not in str(caught.value)
