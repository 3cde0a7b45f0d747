"""Sending through the local provider to a real SMTP server on 127.0.0.1."""

from __future__ import annotations

import email
import email.header
import email.utils
import re
from email.policy import default as default_policy
from pathlib import Path

import pytest
from conftest import TEST_SECRET
from smtp_sink import SmtpSink

from newsletter.campaigns import load_issue
from newsletter.config import load_settings
from newsletter.errors import ProviderError
from newsletter.links import LinkSigner, Purpose
from newsletter.models import CampaignState, SendStatus, SubscriberStatus
from newsletter.providers.base import ChangeSource, MemberInput
from newsletter.providers.local import LocalProvider
from newsletter.store import consent
from newsletter.store.database import open_database

pytestmark = pytest.mark.usefixtures("database")


def make_provider(project_dir: Path, sink: SmtpSink | None, **overrides) -> LocalProvider:
    values = {"secret": TEST_SECRET, "smtp_retry_delay": 0.01, "smtp_retries": 2}
    if sink is not None:
        values["smtp_url"] = sink.url
    values.update(overrides)
    return LocalProvider(load_settings(project_dir / "newsletter.yaml", **values))


def members(count: int, topics=frozenset({"events"})) -> list[MemberInput]:
    return [
        MemberInput(f"member{n:04d}@example.org", f"Name{n}", "Test", topics) for n in range(count)
    ]


def parse(data: bytes) -> email.message.EmailMessage:
    return email.message_from_bytes(data, policy=default_policy)


def test_messages_carry_headers_both_parts_and_filled_escaped_slots(
    project_dir, example_file, smtp_sink
):
    provider = make_provider(project_dir, smtp_sink, connections=2)
    provider.import_members(
        [
            MemberInput("amp@example.org", "<b>&Co", "Ltd", frozenset({"events"})),
            MemberInput("zoe@example.org", "Zoë", "Ångström", frozenset({"reviews"})),
            MemberInput("plain@example.org", "", "", frozenset({"resources"})),
            MemberInput("other@example.org", "Off", "Topic", frozenset()),
        ]
    )
    issue = load_issue(example_file, provider.settings)
    report = provider.send(issue)

    assert report.status is SendStatus.SENT
    assert report.sent == 3
    assert sorted(smtp_sink.handler.counts) == [
        "amp@example.org",
        "plain@example.org",
        "zoe@example.org",
    ]
    signer = LinkSigner([TEST_SECRET])
    by_rcpt = {m.recipients[0]: m for m in smtp_sink.handler.messages}
    for address, received in by_rcpt.items():
        raw = received.data
        assert b"\n" not in raw.replace(b"\r\n", b"")
        head, _, body = raw.partition(b"\r\n\r\n")
        assert max(len(line) for line in head.split(b"\r\n")) <= 998
        assert [line for line in body.split(b"\r\n") if len(line) > 76] == []
        assert not [line for line in body.split(b"\r\n") if line.startswith(b".")]
        message = parse(raw)
        subscriber = provider.find_by_email(address)
        assert subscriber is not None
        assert message["To"].addresses[0].addr_spec == address
        assert message["From"].addresses[0].addr_spec == "newsletter@example.org"
        assert message["Subject"] == issue.subject
        assert message["Date"].datetime is not None
        assert re.fullmatch(r"<[^<>@\s]+@example\.org>", message["Message-ID"])
        assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert "news.example.org>" in message["List-Id"]
        https_url, mailto = re.findall(r"<([^>]+)>", str(message["List-Unsubscribe"]))
        assert https_url.startswith("https://news.example.org/unsubscribe/")
        assert re.match(
            r"mailto:bounces\+u\.[\w.-]+@news\.example\.org\?subject=unsubscribe", mailto
        )
        token = https_url.rpartition("/")[2]
        assert signer.subscriber_id(Purpose.UNSUBSCRIBE, token) == subscriber.id
        assert message.get_content_type() == "multipart/alternative"
        text_part, html_part = message.iter_parts()
        assert text_part.get_content_type() == "text/plain"
        assert html_part.get_content_type() == "text/html"
        text, html = text_part.get_content(), html_part.get_content()
        for body in (text, html):
            assert "[[nl:" not in body
            assert https_url in body.replace("&amp;", "&")
        assert f"/preferences/{token}" not in html  # each purpose signs its own token

    amp_text, amp_html = (
        p.get_content() for p in parse(by_rcpt["amp@example.org"].data).iter_parts()
    )
    assert "Dear <b>&Co," in amp_text
    assert "Dear &lt;b&gt;&amp;Co," in amp_html
    assert "<b>&Co" not in amp_html
    zoe = parse(by_rcpt["zoe@example.org"].data)
    assert zoe["To"].addresses[0].display_name == "Zoë Ångström"
    assert "Dear Zoë," in next(zoe.iter_parts()).get_content()
    plain_text = next(parse(by_rcpt["plain@example.org"].data).iter_parts()).get_content()
    assert "Dear colleague," in plain_text


def test_fully_sent_issue_is_refused_unless_resend(project_dir, example_file, smtp_sink):
    provider = make_provider(project_dir, smtp_sink)
    provider.import_members(members(3))
    issue = load_issue(example_file, provider.settings)
    assert provider.send(issue).sent == 3
    with pytest.raises(ProviderError, match="already sent"):
        provider.send(issue)
    assert sum(smtp_sink.handler.counts.values()) == 3
    assert provider.send(issue, resend=True).sent == 3
    assert set(smtp_sink.handler.counts.values()) == {2}


def test_only_subscribed_members_with_a_chosen_topic_receive_it(
    project_dir, example_file, smtp_sink
):
    provider = make_provider(project_dir, smtp_sink)
    provider.import_members(members(4, frozenset({"events"})))
    provider.import_members([MemberInput("nothing@example.org", "No", "Topics", frozenset())])
    gone = provider.find_by_email("member0001@example.org")
    provider.unsubscribe(gone.id, source=ChangeSource.CLI)
    issue = load_issue(example_file, provider.settings).model_copy(update={"topics": ["events"]})
    assert provider.plan_send(issue).recipients == 3
    provider.send(issue)
    assert sorted(smtp_sink.handler.counts) == [
        "member0000@example.org",
        "member0002@example.org",
        "member0003@example.org",
    ]
    everyone = load_issue(example_file, provider.settings).model_copy(
        update={"slug": "to-all", "topics": []}
    )
    provider.send(everyone)
    assert smtp_sink.handler.counts["nothing@example.org"] == 1
    assert smtp_sink.handler.counts["member0001@example.org"] == 0


def test_faults_per_recipient(project_dir, example_file, smtp_sink):
    provider = make_provider(project_dir, smtp_sink, connections=2)
    provider.import_members(members(12))
    faults = smtp_sink.handler.faults
    faults.at_rcpt["member0001@example.org"] = ["550 5.1.1 No such mailbox"] * 5
    faults.at_rcpt["member0002@example.org"] = ["451 4.3.0 Try again later"]
    faults.at_rcpt["member0003@example.org"] = ["451 4.3.0 Try again later"] * 10
    faults.at_rcpt["member0004@example.org"] = ["421 4.7.0 Too busy, closing"]
    faults.drop_at_data["member0005@example.org"] = 1
    issue = load_issue(example_file, provider.settings)

    report = provider.send(issue)

    counts = smtp_sink.handler.counts
    assert counts["member0001@example.org"] == 0
    assert counts["member0003@example.org"] == 0
    assert counts["member0005@example.org"] == 0  # taken, then the connection dropped
    for n in (0, 2, 4, 6, 7, 8, 9, 10, 11):
        assert counts[f"member{n:04d}@example.org"] == 1, n
    assert smtp_sink.handler.attempts["member0001@example.org"] == 1
    assert smtp_sink.handler.attempts["member0003@example.org"] == 3  # first try + 2 retries
    assert (report.sent, report.failed, report.deferred, report.uncertain) == (9, 1, 1, 1)
    assert report.status is SendStatus.STOPPED
    assert report.state is CampaignState.SENDING and report.pending == 1
    problems = Path(report.raw["problems_file"]).read_text().splitlines()
    assert problems[0] == "email,status,message_id,error"
    rows = sorted(problems[1:])
    assert rows[0].startswith("member0001@example.org,failed,") and "550" in rows[0]
    assert rows[1].startswith("member0003@example.org,deferred,") and "451" in rows[1]
    assert rows[2].startswith("member0005@example.org,uncertain,")

    resumed = provider.send(issue)
    assert (resumed.sent, resumed.pending, resumed.state) == (1, 0, CampaignState.SENT)
    assert counts["member0005@example.org"] == 1
    assert resumed.status is SendStatus.PARTIAL
    with pytest.raises(ProviderError, match=r"already sent.*1 deferred.*--retry-failed"):
        provider.send(issue)

    still_refused = provider.send(issue, retry_failed=True)
    assert (still_refused.sent, still_refused.deferred) == (0, 1)
    assert "1 recipient(s) deferred" in still_refused.message
    assert still_refused.state is CampaignState.SENT  # those who got it keep it sent

    faults.at_rcpt["member0003@example.org"].clear()
    retried = provider.send(issue, retry_failed=True)
    assert (retried.sent, retried.failed, retried.state) == (1, 0, CampaignState.SENT)
    assert counts["member0003@example.org"] == 1
    assert counts["member0001@example.org"] == 0
    assert max(counts.values()) == 1


def test_too_many_failures_in_a_row_stop_the_send_and_it_resumes(
    project_dir, example_file, smtp_sink
):
    provider = make_provider(project_dir, smtp_sink, connections=1, max_failures_in_a_row=3)
    provider.import_members(members(10))
    issue = load_issue(example_file, provider.settings)
    order = sorted((s.id, s.email) for s in provider.members(status=SubscriberStatus.SUBSCRIBED))
    refused = [address for _, address in order[2:5]]
    for address in refused:
        smtp_sink.handler.faults.at_rcpt[address] = ["554 5.7.1 Rejected"]

    first = provider.send(issue)
    assert (first.sent, first.failed) == (2, 3)
    assert first.state is CampaignState.FAILED
    assert "in a row" in first.message and "in a row" in first.problem

    second = provider.send(issue)
    assert second.sent == 5
    assert second.raw["sent_before"] == 2
    assert second.state is CampaignState.SENT
    assert all(smtp_sink.handler.counts[a] == 0 for a in refused)
    assert sum(smtp_sink.handler.counts.values()) == 7


def test_unsubscribe_during_a_send_stops_delivery_to_that_subscriber(
    project_dir, example_file, smtp_sink
):
    provider = make_provider(project_dir, smtp_sink, connections=1)
    provider.import_members(members(30))
    issue = load_issue(example_file, provider.settings)
    last_id, last_email = max((s.id, s.email) for s in provider.members())
    web = make_provider(project_dir, smtp_sink)
    seen = []

    def unsubscribe_after_fifth(envelope):
        seen.append(envelope)
        if len(seen) == 5:
            web.unsubscribe(last_id, source=ChangeSource.ONE_CLICK, note="List-Unsubscribe-Post")

    smtp_sink.handler.on_message = unsubscribe_after_fifth
    report = provider.send(issue)

    assert smtp_sink.handler.counts[last_email] == 0
    assert (report.sent, report.skipped) == (29, 1)
    with open_database(provider.settings).connect() as connection:
        log = consent.history(connection, last_id)
    assert [(e.action, e.source, e.note) for e in log][-1] == (
        "unsubscribed",
        "one-click",
        "List-Unsubscribe-Post",
    )


def test_without_smtp_url_messages_go_to_the_maildir_outbox(project_dir, example_file):
    provider = make_provider(project_dir, None)
    provider.import_members(members(3))
    report = provider.send(load_issue(example_file, provider.settings))
    files = sorted((project_dir / "outbox" / "new").iterdir())
    assert report.sent == 3 and len(files) == 3
    assert "outbox" in report.message
    message = parse(files[0].read_bytes())
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert b"\r\n" not in files[0].read_bytes()


def test_test_send_goes_only_to_the_given_addresses(project_dir, example_file, smtp_sink):
    provider = make_provider(project_dir, smtp_sink)
    provider.import_members(members(3))
    report = provider.send_test(load_issue(example_file, provider.settings), ["me@example.org"])
    assert report.sent == 1
    assert list(smtp_sink.handler.counts) == ["me@example.org"]
    assert parse(smtp_sink.handler.messages[0].data)["Subject"].startswith("[Test] ")
    assert provider.plan_send(load_issue(example_file, provider.settings)).recipients == 3


def test_a_send_needs_the_signing_secret(project_dir, example_file, smtp_sink):
    provider = make_provider(project_dir, smtp_sink, secret=None)
    provider.import_members(members(1))
    with pytest.raises(Exception, match="NEWSLETTER_SECRET is not set"):
        provider.send(load_issue(example_file, provider.settings))
    assert not smtp_sink.handler.counts


def test_long_and_broken_names_from_the_database_make_well_formed_headers(
    project_dir, example_file, smtp_sink
):
    """A 300-character non-ASCII name is folded into encoded words; line breaks in a
    stored name become spaces (the sink and outbox fixtures check every line's length)."""
    first, last = "Zoë-Łukasiewicz" * 10, "Ångström-Øre" * 12 + "Ü" * 5
    provider = make_provider(project_dir, smtp_sink)
    provider.import_members(
        [
            MemberInput("long@example.org", first, last, frozenset({"events"})),
            MemberInput("eve@example.org", "Eve\r\nBcc: x@example.net", "", frozenset({"events"})),
        ]
    )
    assert len(f"{first} {last}") == 300
    issue = load_issue(example_file, provider.settings)
    assert provider.send(issue).sent == 2
    by_rcpt = {m.recipients[0]: m.data for m in smtp_sink.handler.messages}
    to = email.message_from_bytes(by_rcpt["long@example.org"])["To"]
    display_name, address = email.utils.parseaddr(to)
    decoded = str(email.header.make_header(email.header.decode_header(display_name)))
    assert (decoded, address) == (f"{first} {last}", "long@example.org")
    eve = parse(by_rcpt["eve@example.org"])
    assert eve["Bcc"] is None
    assert eve["To"].addresses[0].display_name == "Eve Bcc: x@example.net"
