"""Every message the local provider signs still verifies, with dkimpy's verifier, after
a real SMTP server on 127.0.0.1 has received it."""

from __future__ import annotations

import pytest
from dkim_support import DOMAIN, verify_all, write_key
from smtp_sink import maildir_messages
from test_local_send import make_provider

from newsletter.campaigns import load_issue
from newsletter.errors import ConfigError
from newsletter.models import CampaignState, SendStatus
from newsletter.providers.base import MemberInput

AWKWARD_NAMES = [
    ("Zoë", "Ångström-Lüdenscheidt"),
    ("", ""),
    ("<b>&Co", '"quoted"  name'),
    ("Ann", "Reader"),
    ("Très long prénom " * 6, "Nom"),
    ("Tab\tSeparated", "Trailing "),
]


@pytest.fixture
def signing(project_dir):
    records = {
        "news": write_key(project_dir / "rsa.pem"),
        "edkey": write_key(project_dir / "ed.pem", "ed25519"),
    }
    settings = {
        "dkim_selector": "news",
        "dkim_domain": DOMAIN,
        "dkim_key_file": "rsa.pem",
        "dkim_ed25519_selector": "edkey",
        "dkim_ed25519_key_file": "ed.pem",
    }
    return settings, records


def test_every_message_of_a_send_verifies_after_smtp(project_dir, example_file, smtp_sink, signing):
    dkim_settings, records = signing
    provider = make_provider(project_dir, smtp_sink, connections=3, **dkim_settings)
    people = [
        MemberInput(f"reader{n:02d}@example.org", first, last, frozenset({"events"}))
        for n in range(30)
        for first, last in [AWKWARD_NAMES[n % len(AWKWARD_NAMES)]]
    ]
    provider.import_members(people)
    report = provider.send(load_issue(example_file, provider.settings))

    assert report.status is SendStatus.SENT and report.sent == 30
    received = smtp_sink.handler.messages
    assert len(received) == 30
    verdicts = {message.recipients[0]: verify_all(message.data, records) for message in received}
    assert verdicts == {person.email: [True, True] for person in people}
    provider.close()


def test_a_test_copy_is_signed_too(project_dir, example_file, smtp_sink, signing):
    dkim_settings, records = signing
    provider = make_provider(project_dir, smtp_sink, **dkim_settings)
    report = provider.send_test(load_issue(example_file, provider.settings), ["editor@example.org"])
    assert report.sent == 1
    [message] = smtp_sink.handler.messages
    assert verify_all(message.data, records) == [True, True]
    provider.close()


def test_a_bad_key_stops_the_send_before_anything_goes_out(
    project_dir, example_file, smtp_sink, signing
):
    dkim_settings, records = signing
    good = (project_dir / "rsa.pem").read_bytes()
    (project_dir / "rsa.pem").write_text("not a key\n")
    provider = make_provider(project_dir, smtp_sink, **dkim_settings)
    provider.import_members([MemberInput("a@example.org", "A", "", frozenset({"events"}))])
    issue = load_issue(example_file, provider.settings)
    with pytest.raises(ConfigError, match="not a PEM private key"):
        provider.send(issue)
    assert smtp_sink.handler.messages == []
    assert provider.campaign_state(issue.slug) in (None, CampaignState.DRAFT)

    (project_dir / "rsa.pem").write_bytes(good)
    assert provider.send(issue).sent == 1
    assert verify_all(smtp_sink.handler.messages[0].data, records) == [True, True]
    provider.close()


def test_messages_left_in_the_outbox_verify_too(project_dir, example_file, signing):
    dkim_settings, records = signing
    provider = make_provider(project_dir, None, **dkim_settings)
    provider.import_members(
        [MemberInput(f"m{n}@example.org", "Zoë", "", frozenset({"events"})) for n in range(3)]
    )
    assert provider.send(load_issue(example_file, provider.settings)).sent == 3
    messages = maildir_messages(project_dir)
    assert len(messages) == 3
    assert [verify_all(message, records) for message in messages] == [[True, True]] * 3
    provider.close()
