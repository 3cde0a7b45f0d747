"""The consent record of a Mailchimp audience: a note on the member for each change,
with its time and source; a note that cannot be saved never undoes the change and is
never posted twice."""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime

import httpx
import pytest
from mailchimp_support import API_KEY, fake_provider

from newsletter.errors import ProviderError
from newsletter.models import SubscriberStatus
from newsletter.providers.base import ChangeSource
from newsletter.providers.mailchimp import MailchimpProvider
from newsletter.providers.mailchimp.audience import subscriber_hash
from newsletter.providers.mailchimp.consent import NOTE_LIMIT, SOURCE_WORDS, ConsentNote
from newsletter.providers.mailchimp.fake import FakeMailchimp, problem

READER = "reader@example.org"
NOTES = f"/lists/aud0123/members/{subscriber_hash(READER)}/notes"
STAMP = re.compile(r" at (\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ) ")


@pytest.fixture
def fake() -> FakeMailchimp:
    mailchimp = FakeMailchimp()
    mailchimp.add_member(READER)
    return mailchimp


@pytest.fixture
def provider(settings, monkeypatch, fake) -> MailchimpProvider:
    return fake_provider(settings, monkeypatch, fake)


def noted_at(text: str) -> datetime:
    found = STAMP.search(text)
    assert found, text
    return datetime.strptime(found.group(1), "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


def test_every_source_reads_as_words():
    assert set(SOURCE_WORDS) == set(ChangeSource)
    at = datetime(2026, 11, 26, 4, 50, tzinfo=UTC)
    assert ConsentNote("Unsubscribed", ChangeSource.ONE_CLICK, at).text == (
        "Unsubscribed by one-click unsubscribe (newsletter preference centre) at "
        "2026-11-26T04:50:00Z (source: one-click)."
    )


def test_an_unsubscribe_is_noted_with_time_source_and_note(provider, fake):
    before = datetime.now(UTC).replace(microsecond=0)
    changed = provider.unsubscribe(
        subscriber_hash(READER), source=ChangeSource.CLI, note="asked by phone\non Monday"
    )
    after = datetime.now(UTC)
    assert changed.status is SubscriberStatus.UNSUBSCRIBED
    assert fake.members[subscriber_hash(READER)]["status"] == "unsubscribed"
    (text,) = fake.note_texts(READER)
    assert text.startswith("Unsubscribed by the newsletter command line at ")
    assert text.endswith(" (source: cli). Note: asked by phone on Monday")
    assert before <= noted_at(text) <= after


def test_resubscribe_and_topic_changes_are_noted(provider, fake):
    provider.sync_topics()
    member = subscriber_hash(READER)
    provider.unsubscribe(member, source=ChangeSource.ONE_CLICK)
    provider.resubscribe(member, source=ChangeSource.PAGE)
    provider.set_topics(member, frozenset({"events", "reviews"}), source=ChangeSource.PAGE)
    provider.set_topics(member, frozenset({"events"}), source=ChangeSource.PAGE)
    texts = fake.note_texts(READER)
    assert [text.split(" at ")[0] for text in texts] == [
        "Unsubscribed by one-click unsubscribe (newsletter preference centre)",
        "Subscribed again by the preference page (newsletter preference centre)",
        "Topics changed by the preference page (newsletter preference centre)",
        "Topics changed by the preference page (newsletter preference centre)",
    ]
    assert "(source: one-click)." in texts[0]
    assert all("(source: page)." in text for text in texts[1:])
    assert texts[2].endswith(
        "Topics now: Events and webinars, National reviews. "
        "Added: Events and webinars, National reviews."
    )
    assert texts[3].endswith("Topics now: Events and webinars. Removed: National reviews.")


def test_a_change_that_changes_nothing_writes_nothing(provider, fake):
    provider.sync_topics()
    member = subscriber_hash(READER)
    provider.set_topics(member, frozenset({"events"}), source=ChangeSource.PAGE)
    provider.unsubscribe(member, source=ChangeSource.ONE_CLICK)
    writes = fake.count("PATCH", r".*") + fake.count("POST", r".*/notes")

    again = provider.unsubscribe(member, source=ChangeSource.ONE_CLICK)
    provider.set_topics(member, frozenset({"events"}), source=ChangeSource.PAGE)
    assert again.status is SubscriberStatus.UNSUBSCRIBED
    assert fake.count("PATCH", r".*") + fake.count("POST", r".*/notes") == writes
    assert len(fake.note_texts(READER)) == 2

    provider.resubscribe(member, source=ChangeSource.CLI)
    provider.resubscribe(member, source=ChangeSource.CLI)
    assert len(fake.note_texts(READER)) == 3


def test_an_unknown_member_is_refused_and_nothing_is_noted(provider, fake):
    unknown = subscriber_hash("nobody@example.org")
    with pytest.raises(ProviderError, match="no subscriber with id"):
        provider.unsubscribe(unknown, source=ChangeSource.CLI)
    assert fake.count("PATCH", r".*") == 0
    assert fake.notes == {}


def test_a_long_note_is_cut_to_what_mailchimp_keeps(provider, fake):
    provider.unsubscribe(subscriber_hash(READER), source=ChangeSource.CLI, note="why " * 400)
    (text,) = fake.note_texts(READER)
    assert len(text) == NOTE_LIMIT and text.endswith("…")


def test_a_refused_note_leaves_the_change_and_a_warning_without_the_key(provider, fake, caplog):
    caplog.set_level(logging.DEBUG)
    fake.fail_next("POST", NOTES, problem(400, "Invalid Resource", f"Echoed {API_KEY}"))
    changed = provider.unsubscribe(subscriber_hash(READER), source=ChangeSource.ONE_CLICK)
    assert changed.status is SubscriberStatus.UNSUBSCRIBED
    assert fake.members[subscriber_hash(READER)]["status"] == "unsubscribed"
    assert fake.note_texts(READER) == []
    assert fake.count("POST", NOTES) == 1
    assert fake.count("GET", NOTES) == 0, "a refusal is certain: nothing to read back"
    (warning,) = [r for r in caplog.records if r.levelno == logging.WARNING]
    message = warning.getMessage()
    assert f"member {subscriber_hash(READER)} stands" in message
    assert "400 Invalid Resource" in message
    assert message.endswith("(source: one-click).")
    assert "Unsubscribed by one-click unsubscribe (newsletter preference centre) at " in message
    assert READER not in message
    for record in caplog.records:
        assert API_KEY not in record.getMessage()
        assert API_KEY.split("-")[0] not in record.getMessage()


def test_a_server_error_is_read_back_and_never_posted_twice(provider, fake, caplog):
    fake.fail_next("POST", NOTES, problem(503, "Service Unavailable"))
    provider.unsubscribe(subscriber_hash(READER), source=ChangeSource.PAGE)
    assert fake.members[subscriber_hash(READER)]["status"] == "unsubscribed"
    assert fake.count("POST", NOTES) == 1
    assert fake.count("GET", NOTES) == 1
    assert fake.note_texts(READER) == []
    (warning,) = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert "(source: page)." in warning.getMessage()


def test_a_note_whose_answer_was_lost_is_found_and_not_posted_again(provider, fake, caplog):
    def saved_then_timed_out(request: httpx.Request) -> httpx.Response:
        fake.handle_request(request)
        raise httpx.ReadTimeout("no answer", request=request)

    fake.fail_next("POST", NOTES, saved_then_timed_out)
    provider.unsubscribe(subscriber_hash(READER), source=ChangeSource.ONE_CLICK)
    assert len(fake.note_texts(READER)) == 1
    assert fake.count("POST", NOTES) == 2, "the fault and the one real note it let through"
    assert fake.count("GET", NOTES) == 1
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


def test_no_answer_and_no_read_back_is_a_warning_not_a_retry(provider, fake, caplog):
    fake.fail_next("POST", NOTES, httpx.ConnectError("refused"))
    fake.fail_next("GET", NOTES, *[problem(503, "Service Unavailable")] * 5)
    changed = provider.unsubscribe(subscriber_hash(READER), source=ChangeSource.CLI)
    assert changed.status is SubscriberStatus.UNSUBSCRIBED
    assert fake.count("POST", NOTES) == 1
    assert fake.note_texts(READER) == []
    (warning,) = [r for r in caplog.records if r.levelno == logging.WARNING and "consent" in r.msg]
    assert "ConnectError" in warning.getMessage()
