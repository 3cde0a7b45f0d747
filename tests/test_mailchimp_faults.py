"""Faults a real Mailchimp produces but a mock cannot: rate limits, outages, timeouts,
refused keys, and the limit of 10 calls in flight."""

from __future__ import annotations

import base64
import json
import logging
import re
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
import respx
from mailchimp_support import API_KEY, FAKE_ROOT, fake_provider, use_mailchimp
from pydantic import SecretStr
from typer.testing import CliRunner

from newsletter.campaigns import load_issue
from newsletter.cli import app
from newsletter.errors import ProviderAPIError, ProviderError
from newsletter.models import SendStatus
from newsletter.providers.base import MemberInput
from newsletter.providers.mailchimp.client import MailchimpClient
from newsletter.providers.mailchimp.fake import FakeMailchimp, problem


def client_for(fake: FakeMailchimp, sleeps: list[float], root: str = FAKE_ROOT) -> MailchimpClient:
    return MailchimpClient(SecretStr(API_KEY), root, transport=fake, sleep=sleeps.append)


def test_429_is_retried_after_the_wait_mailchimp_asks_for():
    fake, sleeps = FakeMailchimp(), []
    fake.fail_next(
        "GET",
        "/lists/a/interest-categories",
        httpx.Response(429, json={"title": "Too Many Requests"}, headers={"Retry-After": "3"}),
    )
    answer = client_for(fake, sleeps).get("/lists/a/interest-categories")
    assert answer == {"categories": [], "total_items": 0}
    assert len(fake.calls) == 2
    assert sleeps == [3.0]


def test_five_503s_fail_with_a_clear_message_after_backing_off():
    fake, sleeps = FakeMailchimp(), []
    fake.fail_next("GET", "/campaigns", *[problem(503, "Service Unavailable")] * 5)
    with pytest.raises(ProviderAPIError) as caught:
        client_for(fake, sleeps).get("/campaigns")
    message = str(caught.value)
    assert message == (
        "Mailchimp: GET /campaigns failed with 503 Service Unavailable after 5 tries; "
        "try again later"
    )
    assert caught.value.status == 503
    assert len(fake.calls) == 5
    assert len(sleeps) == 4
    assert all(0.5 * 0.5 * 2**n <= wait <= 0.5 * 2**n for n, wait in enumerate(sleeps))


def test_a_bare_403_is_retried_but_a_403_problem_is_not():
    fake, sleeps = FakeMailchimp(), []
    fake.fail_next("GET", "/campaigns", httpx.Response(403, text="<html>denied</html>"))
    assert client_for(fake, sleeps).get("/campaigns")["total_items"] == 0
    fake.fail_next("GET", "/campaigns", problem(403, "Forbidden", "You don't have permission."))
    with pytest.raises(ProviderAPIError, match="403 Forbidden: You don't have permission"):
        client_for(fake, sleeps).get("/campaigns")
    assert len(fake.calls) == 3


def test_writes_that_are_not_idempotent_are_sent_once():
    fake, sleeps = FakeMailchimp(), []
    fake.fail_next("POST", "/campaigns", problem(503, "Service Unavailable"))
    with pytest.raises(ProviderAPIError, match="503"):
        client_for(fake, sleeps).request("POST", "/campaigns", json_body={"type": "regular"})
    assert fake.calls == [("POST", "/campaigns")]
    assert sleeps == []


def test_connection_errors_are_retried_for_reads():
    fake, sleeps = FakeMailchimp(), []
    fake.fail_next("GET", "/campaigns", httpx.ConnectError("refused"), httpx.ReadTimeout("slow"))
    assert client_for(fake, sleeps).get("/campaigns")["total_items"] == 0
    assert len(fake.calls) == 3


@pytest.fixture
def issue(settings, example_file):
    return load_issue(example_file, settings).model_copy(update={"topics": []})


def test_a_timed_out_send_reads_the_status_and_never_sends_twice(settings, monkeypatch, issue):
    fake = FakeMailchimp()
    fake.add_member("reader@example.org")
    provider = fake_provider(settings, monkeypatch, fake)
    remote_id = provider.push(issue).remote_id

    def accepted_then_lost(request: httpx.Request) -> httpx.Response:
        fake.campaigns[remote_id]["status"] = "sending"
        raise httpx.ReadTimeout("no answer", request=request)

    fake.fail_next("POST", f"/campaigns/{remote_id}/actions/send", accepted_then_lost)
    report = provider.send(issue)
    assert report.status in (SendStatus.QUEUED, SendStatus.SENT)
    assert fake.count("POST", r"/campaigns/.*/actions/send") == 1
    assert provider.records.get(issue.slug).state == "sent"
    with pytest.raises(ProviderError, match="already sent"):
        provider.send(issue)
    assert fake.count("POST", r"/campaigns/.*/actions/send") == 1


def test_a_timed_out_send_that_did_not_happen_says_so(settings, monkeypatch, issue):
    fake = FakeMailchimp()
    provider = fake_provider(settings, monkeypatch, fake)
    remote_id = provider.push(issue).remote_id
    fake.fail_next("POST", f"/campaigns/{remote_id}/actions/send", httpx.ReadTimeout("no answer"))
    with pytest.raises(ProviderError) as caught:
        provider.send(issue)
    assert "shows the campaign as 'save'" in str(caught.value)
    assert fake.count("POST", r"/campaigns/.*/actions/send") == 1
    assert fake.campaigns[remote_id]["status"] == "save"


def test_a_timed_out_schedule_reads_the_status(settings, monkeypatch, issue):
    from datetime import UTC, datetime

    fake = FakeMailchimp()
    provider = fake_provider(settings, monkeypatch, fake)
    remote_id = provider.push(issue).remote_id

    def accepted_then_lost(request: httpx.Request) -> httpx.Response:
        fake.campaigns[remote_id]["status"] = "schedule"
        raise httpx.ReadTimeout("no answer", request=request)

    fake.fail_next("POST", f"/campaigns/{remote_id}/actions/schedule", accepted_then_lost)
    report = provider.schedule(issue, datetime(2031, 3, 2, 8, 45, tzinfo=UTC))
    assert report.status is SendStatus.SCHEDULED
    assert fake.count("POST", r"/campaigns/.*/actions/schedule") == 1
    provider.unschedule(issue)
    assert fake.campaigns[remote_id]["status"] == "save"


class _ProblemServer(BaseHTTPRequestHandler):
    """Answers like Mailchimp refusing a campaign whose reply-to is not an address."""

    def do_GET(self) -> None:
        path = self.path.split("?")[0]
        if path.endswith("/interest-categories"):
            self._answer(200, {"categories": [{"id": "cat1", "title": "Topics"}]})
        elif path.endswith("/interests"):
            names = ["National reviews", "Events and webinars", "Practice resources"]
            interests = [{"id": f"i{n}", "name": name} for n, name in enumerate(names)]
            self._answer(200, {"interests": interests})
        else:
            self._answer(200, {"campaigns": [], "total_items": 0})

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self._answer(
            400,
            {
                "type": "https://mailchimp.com/developer/marketing/docs/errors/",
                "title": "Invalid Resource",
                "status": 400,
                "detail": "The resource submitted could not be validated.",
                "errors": [
                    {"field": "settings.reply_to", "message": "This value should be an email."}
                ],
            },
        )

    def _answer(self, status: int, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/problem+json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def problem_server() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _ProblemServer)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_a_400_problem_reads_as_one_line_at_the_cli(project_dir, monkeypatch, problem_server):
    use_mailchimp(monkeypatch, problem_server)
    monkeypatch.setenv("NEWSLETTER_PROVIDER", "mailchimp")
    result = CliRunner().invoke(app, ["push", "campaigns/winter-2026.yaml"])
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert lines == [
        "error: Mailchimp: POST /campaigns failed with 400 Invalid Resource: The resource "
        "submitted could not be validated (settings.reply_to: This value should be an email.)"
    ]
    assert "Traceback" not in result.output


def test_a_bad_key_is_a_401_that_never_shows_the_key(settings, monkeypatch, caplog):
    fake = FakeMailchimp(api_key="the-right-key-us21")
    provider = fake_provider(settings, monkeypatch, fake)
    with pytest.raises(ProviderAPIError) as caught:
        provider.find_by_email("someone@example.org")
    assert caught.value.status == 401
    assert str(caught.value).endswith("; check MAILCHIMP_API_KEY")
    assert "401 API Key Invalid" in str(caught.value)
    assert API_KEY not in str(caught.value)


def test_the_key_is_absent_from_every_message_and_log_line(settings, monkeypatch, caplog, issue):
    caplog.set_level(logging.DEBUG)
    fake = FakeMailchimp()
    sleeps: list[float] = []
    provider = fake_provider(settings, monkeypatch, fake, sleeps=sleeps)
    fake.fail_next("GET", "/campaigns", problem(503, "Service Unavailable"))
    provider.push(issue)
    fake.fail_next("GET", "/lists/aud0123/members/x", problem(500, f"Echoed {API_KEY}"))
    messages: list[str] = []
    with pytest.raises(ProviderAPIError) as caught:
        provider.client.request("GET", "/lists/aud0123/members/x", idempotent=False)
    messages += [str(caught.value), repr(caught.value), str(caught.value.title)]
    fake.fail_next("GET", "/campaigns", *[httpx.ConnectError(f"refused {API_KEY}")] * 5)
    with pytest.raises(ProviderAPIError) as caught:
        provider.client.get("/campaigns")
    messages += [str(caught.value), repr(caught.value), repr(caught.value.__cause__)]
    messages += [record.getMessage() for record in caplog.records]
    messages += [repr(provider), repr(provider.client), repr(provider.client._http.auth)]
    assert any("GET /campaigns" in message for message in messages)
    assert sleeps, "the 503 was retried and logged"
    for message in messages:
        assert API_KEY not in message
        assert API_KEY.split("-")[0] not in message


def test_never_more_than_10_calls_in_flight(settings, monkeypatch):
    fake = FakeMailchimp(latency=0.02)
    client = MailchimpClient(SecretStr(API_KEY), "https://limit.mailchimp.test/3.0", transport=fake)
    with ThreadPoolExecutor(max_workers=40) as pool:
        answers = list(pool.map(lambda _n: client.get("/campaigns"), range(120)))
    assert len(answers) == 120
    assert fake.max_in_flight == 10

    second = MailchimpClient(SecretStr(API_KEY), "https://limit.mailchimp.test/3.0", transport=fake)
    fake.max_in_flight = 0
    with ThreadPoolExecutor(max_workers=40) as pool:
        list(pool.map(lambda n: (client if n % 2 else second).get("/campaigns"), range(80)))
    assert fake.max_in_flight == 10, "two clients for one account share the limiter"


def test_an_import_keeps_within_the_limit(settings, monkeypatch):
    fake = FakeMailchimp(latency=0.01)
    provider = fake_provider(settings, monkeypatch, fake, base_url="https://import.test/3.0")
    report = provider.import_members(MemberInput(f"p{n}@example.org") for n in range(7_000))
    assert report.added == 7_000
    assert fake.count("POST", r"/lists/aud0123") == 14
    assert 2 <= fake.max_in_flight <= 10


def test_a_server_error_on_send_is_decided_by_the_status(settings, monkeypatch, issue):
    fake = FakeMailchimp()
    provider = fake_provider(settings, monkeypatch, fake)
    remote_id = provider.push(issue).remote_id

    def sent_but_failed(request: httpx.Request) -> httpx.Response:
        fake.campaigns[remote_id]["status"] = "sending"
        return problem(502, "Bad Gateway")

    fake.fail_next("POST", f"/campaigns/{remote_id}/actions/send", sent_but_failed)
    provider.send(issue)
    assert fake.count("POST", r"/campaigns/.*/actions/send") == 1
    assert provider.records.get(issue.slug).state == "sent"


def test_a_refused_send_leaves_a_draft(settings, monkeypatch, issue):
    fake = FakeMailchimp()
    provider = fake_provider(settings, monkeypatch, fake)
    remote_id = provider.push(issue).remote_id
    fake.fail_next(
        "POST",
        f"/campaigns/{remote_id}/actions/send",
        problem(400, "Bad Request", "Your campaign is not ready to send."),
    )
    with pytest.raises(ProviderAPIError, match="not ready to send"):
        provider.send(issue)
    assert provider.records.get(issue.slug).state == "draft"


def test_an_unknown_outcome_is_said_and_kept(settings, monkeypatch, issue):
    from newsletter.providers.mailchimp.provider import OutcomeUnknown

    fake = FakeMailchimp()
    provider = fake_provider(settings, monkeypatch, fake)
    remote_id = provider.push(issue).remote_id

    def lost_and_then_down(request: httpx.Request) -> httpx.Response:
        fake.fail_next("GET", f"/campaigns/{remote_id}", *[httpx.ConnectError("down")] * 5)
        raise httpx.ReadTimeout("slow", request=request)

    fake.fail_next("POST", f"/campaigns/{remote_id}/actions/send", lost_and_then_down)
    with pytest.raises(OutcomeUnknown, match="before trying again"):
        provider.send(issue)
    assert provider.records.get(issue.slug).state == "sending"
    assert fake.count("POST", r"/campaigns/.*/actions/send") == 1


def test_a_missing_key_is_one_line_at_the_cli(project_dir, monkeypatch):
    monkeypatch.setenv("NEWSLETTER_PROVIDER", "mailchimp")
    result = CliRunner().invoke(app, ["push", "campaigns/winter-2026.yaml"])
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [
        "error: MAILCHIMP_API_KEY is not set: add it to .env (Mailchimp: Account > Extras > "
        "API keys)"
    ]


def key_forms_to_hide(key: str) -> list[str]:
    """The key as typed and as the Basic credentials of any user name would show it."""
    forms = [key, key.split("-")[0]]
    for user in ("newsletter", "anystring", "user", "", "ab"):
        token = base64.b64encode(f"{user}:{key}".encode()).decode()
        forms += [token, f"Basic {token}", token.rstrip("=")]
    return forms


def echo_the_credentials(request: httpx.Request) -> httpx.Response:
    """An answer that quotes the request's Authorization header back, in every field."""
    authorization = request.headers["Authorization"]
    for_other_users = [
        base64.b64encode(f"{user}:{API_KEY}".encode()).decode() for user in ("anystring", "user")
    ]
    return httpx.Response(
        401,
        json={
            "title": f"Bad credentials {authorization}",
            "detail": f"We got Authorization: {authorization} and key {API_KEY}",
            "errors": [{"field": token, "message": f"also {token}"} for token in for_other_users],
            "instance": {"headers": {"authorization": authorization}},
        },
        headers={"sl-violations": json.dumps([{"message": authorization}])},
    )


@respx.mock
def test_an_answer_echoing_the_authorization_header_never_shows_the_key():
    respx.get("https://echo.mailchimp.test/3.0/lists/a").mock(side_effect=echo_the_credentials)
    client = MailchimpClient(SecretStr(API_KEY), "https://echo.mailchimp.test/3.0")
    with pytest.raises(ProviderAPIError) as caught:
        client.get("/lists/a")
    error = caught.value
    assert "Basic **********" in str(error)
    shown = [str(error), repr(error), error.title, error.detail, repr(error.field_errors)]
    shown.append(json.dumps(error.raw))
    for text in shown:
        for form in key_forms_to_hide(API_KEY):
            assert form not in str(text), (form, text)


def test_the_cli_never_prints_the_key_from_an_echoing_answer(project_dir, monkeypatch):
    use_mailchimp(monkeypatch, "https://echo.mailchimp.test/3.0")
    with respx.mock:
        respx.route(host="echo.mailchimp.test").mock(side_effect=echo_the_credentials)
        result = CliRunner().invoke(app, ["audience", "list", "--provider", "mailchimp"])
    assert result.exit_code != 0
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: Mailchimp: GET /lists/")
    assert "Basic **********" in lines[0] and "Traceback" not in result.output
    for form in key_forms_to_hide(API_KEY):
        assert form not in result.output


def test_the_key_travels_only_in_the_basic_header_never_in_reprs_or_retry_logs(caplog):
    caplog.set_level(logging.DEBUG)
    fake, sleeps, seen = FakeMailchimp(api_key=API_KEY), [], []

    def busy(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers["Authorization"])
        return problem(503, "Service Unavailable")

    def dropped(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers["Authorization"])
        raise httpx.ConnectError("dropped", request=request)

    fake.fail_next("GET", "/campaigns", busy, dropped)
    client = client_for(fake, sleeps)
    assert client.get("/campaigns")["total_items"] == 0
    expected = "Basic " + base64.b64encode(f"newsletter:{API_KEY}".encode()).decode()
    assert seen == [expected, expected]
    retries = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert [re.sub(r"in \d+\.\d s", "in N s", line) for line in retries] == [
        "Mailchimp: GET /campaigns answered 503; retrying in N s (attempt 2 of 5)",
        "Mailchimp: GET /campaigns answered ConnectError; retrying in N s (attempt 3 of 5)",
    ]
    shown = [record.getMessage() for record in caplog.records] + [caplog.text]
    shown += [repr(client), repr(client._http), repr(client._http.auth)]
    for text in shown:
        for form in key_forms_to_hide(API_KEY):
            assert form not in text, (form, text)
