"""Classifying what comes back, with real-shaped reports (tests/returns_samples/)."""

from __future__ import annotations

import pytest
from returns_support import Addressee, names, return_addresses, sample

from newsletter.returns.addresses import AddressKind, AddressToken, ReturnAddresses
from newsletter.returns.classify import Verdict, classify

WHO = Addressee()
RETURN_TOKEN = AddressToken(AddressKind.RETURN_PATH, WHO.subscriber_id, WHO.campaign_id)
UNSUBSCRIBE_TOKEN = AddressToken(AddressKind.UNSUBSCRIBE, WHO.subscriber_id, WHO.campaign_id)

EXPECTED = {
    "postfix_hard": (Verdict.HARD_BOUNCE, "5.1.1"),
    "postfix_delayed": (Verdict.SOFT_BOUNCE, "4.4.1"),
    "exim_hard": (Verdict.HARD_BOUNCE, "5.0.0"),
    "exchange_hard": (Verdict.HARD_BOUNCE, "5.1.10"),
    "gmail_hard": (Verdict.HARD_BOUNCE, "5.1.1"),
    "qmail_hard": (Verdict.HARD_BOUNCE, "non-standard"),
    "sendmail_hard": (Verdict.HARD_BOUNCE, "non-standard"),
    "arf_redacted": (Verdict.COMPLAINT, "abuse"),
    "mailto_unsubscribe": (Verdict.UNSUBSCRIBE, "unsubscribe address"),
    "out_of_office": (Verdict.AUTO_REPLY, "automatic reply"),
}


def test_every_sample_has_an_expectation():
    assert sorted(EXPECTED) == names()


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_sample_gets_its_verdict_and_names_the_member(name):
    verdict, said = EXPECTED[name]
    decision = classify(sample(name), return_addresses())
    assert decision.verdict is verdict, decision
    assert said in decision.reason
    wanted = UNSUBSCRIBE_TOKEN if verdict is Verdict.UNSUBSCRIBE else RETURN_TOKEN
    assert decision.token == wanted
    if name == "qmail_hard":
        assert decision.report_id == "", "qmail writes its bounces without a Message-ID"
    else:
        assert decision.report_id.startswith("<") and decision.report_id.endswith(">")


@pytest.mark.parametrize(
    "name", ["postfix_hard", "exim_hard", "exchange_hard", "gmail_hard", "postfix_delayed"]
)
def test_a_standard_bounce_names_the_recipient_and_our_message(name):
    decision = classify(sample(name), return_addresses())
    assert decision.recipient == WHO.email
    assert not decision.heuristic
    assert decision.original_id == "", "the return path named the message: no need to look"
    unsigned = classify(sample(name), None)
    assert unsigned.token is None
    assert unsigned.original_id == WHO.message_id


@pytest.mark.parametrize("name", ["qmail_hard", "sendmail_hard"])
def test_a_non_standard_bounce_is_found_by_the_detectors(name):
    decision = classify(sample(name), return_addresses())
    assert decision.heuristic
    assert decision.recipient == WHO.email


def test_a_complaint_with_the_recipient_redacted_is_tied_to_us_by_its_attached_headers():
    decision = classify(sample("arf_redacted"), return_addresses())
    assert decision.recipient.endswith("@redacted.example-mail.net")
    assert decision.token == RETURN_TOKEN


def test_a_complaint_without_our_return_path_still_carries_our_message_id():
    other = ReturnAddresses("bounces@news.example.org", ["another-secret-" + "x" * 40])
    raw = sample("arf_redacted", return_path=other.return_path("someone", 1))
    decision = classify(raw, return_addresses())
    assert decision.verdict is Verdict.COMPLAINT
    assert decision.token is None
    assert decision.original_id == WHO.message_id


def test_a_mailto_unsubscribe_with_a_forged_token_is_refused():
    real = WHO.values()["unsubscribe"]
    forged = real.replace(WHO.subscriber_id, "SomeoneElse_0001")
    decision = classify(sample("mailto_unsubscribe", unsubscribe=forged), return_addresses())
    assert decision.verdict is Verdict.REFUSED
    assert not decision.acts


def test_a_return_path_token_does_not_unsubscribe():
    raw = sample("mailto_unsubscribe", unsubscribe=WHO.values()["return_path"])
    assert classify(raw, return_addresses()).verdict is Verdict.UNKNOWN


def test_an_out_of_office_reply_to_the_unsubscribe_address_does_not_unsubscribe():
    raw = sample("out_of_office", return_path=WHO.values()["unsubscribe"])
    decision = classify(raw, return_addresses())
    assert decision.verdict is Verdict.AUTO_REPLY


def test_a_mailbox_provider_marking_its_unsubscribe_mail_auto_generated_still_unsubscribes():
    raw = sample("mailto_unsubscribe").replace(
        b"Subject: unsubscribe", b"Auto-Submitted: auto-generated\nSubject: unsubscribe"
    )
    assert classify(raw, return_addresses()).verdict is Verdict.UNSUBSCRIBE


@pytest.mark.parametrize(
    ("status", "verdict"),
    [
        ("5.1.1", Verdict.HARD_BOUNCE),
        ("4.2.2", Verdict.SOFT_BOUNCE),
        ("5.2.2", Verdict.SOFT_BOUNCE),
        ("5.7.1", Verdict.SOFT_BOUNCE),
    ],
)
def test_the_status_decides_hard_or_soft(status, verdict):
    raw = sample("postfix_hard").replace(b"Status: 5.1.1", f"Status: {status}".encode())
    raw = raw.replace(b"550 5.1.1", b"550")
    assert classify(raw, return_addresses()).verdict is verdict


def test_a_delivered_notice_is_not_a_bounce():
    raw = sample("postfix_hard").replace(b"Action: failed", b"Action: delivered")
    decision = classify(raw, return_addresses())
    assert decision.verdict is Verdict.UNKNOWN
    assert "delivered" in decision.reason


def test_a_not_spam_feedback_report_is_no_complaint():
    raw = sample("arf_redacted").replace(b"Feedback-Type: abuse", b"Feedback-Type: not-spam")
    assert classify(raw, return_addresses()).verdict is Verdict.UNKNOWN


def test_a_person_writing_to_the_bounce_mailbox_is_left_alone():
    raw = (
        b"From: Bob <bob@example.net>\nTo: bounces@news.example.org\n"
        b"Subject: Question about the newsletter\nMessage-ID: <q1@example.net>\n\n"
        b"Could you send me last month's issue?\n"
    )
    decision = classify(raw, return_addresses())
    assert decision.verdict is Verdict.UNKNOWN
    assert decision.token is None


def test_without_a_bounce_mailbox_bounces_are_still_recognised_by_their_message_id():
    decision = classify(sample("gmail_hard"), None)
    assert decision.verdict is Verdict.HARD_BOUNCE
    assert decision.token is None
    assert decision.original_id == WHO.message_id
