"""Signed return paths and mailto unsubscribe addresses on the bounce mailbox."""

from __future__ import annotations

import re

import pytest
from conftest import TEST_SECRET, without_bounce_address
from test_local_send import make_provider, parse

from newsletter.campaigns import load_issue
from newsletter.config import load_settings
from newsletter.errors import CampaignError, TokenError
from newsletter.providers.base import MemberInput
from newsletter.returns.addresses import AddressKind, AddressToken, ReturnAddresses
from newsletter.store import campaigns

BOUNCES = "bounces@news.example.org"
OLD_SECRET = "an-older-secret-that-still-verifies-0123456789"


def campaign_id(provider, slug: str) -> int:
    with provider.engine.connect() as connection:
        return campaigns.get(connection, provider.name, slug).id


def addresses(*secrets: str) -> ReturnAddresses:
    return ReturnAddresses(BOUNCES, list(secrets) or [TEST_SECRET])


def test_a_return_path_names_the_member_and_the_campaign():
    made = addresses().return_path("AbC-d_9xYz01QrSt", 42)
    local, _, domain = made.partition("@")
    assert domain == "news.example.org"
    assert local.startswith("bounces+AbC-d_9xYz01QrSt.42.")
    assert len(local) <= 64
    assert addresses().read(made) == AddressToken(AddressKind.RETURN_PATH, "AbC-d_9xYz01QrSt", 42)


def test_the_unsubscribe_address_is_a_different_token():
    made = addresses().unsubscribe_address("AbC-d_9xYz01QrSt", 7)
    assert made.startswith("bounces+u.AbC-d_9xYz01QrSt.7.")
    assert addresses().read(made) == AddressToken(AddressKind.UNSUBSCRIBE, "AbC-d_9xYz01QrSt", 7)
    assert addresses().unsubscribe_mailto("AbC-d_9xYz01QrSt", 7) == (
        f"mailto:{made}?subject=unsubscribe"
    )


def test_a_return_path_cannot_be_turned_into_an_unsubscribe():
    token = addresses().return_path("member1", 3).partition("+")[2].partition("@")[0]
    with pytest.raises(TokenError):
        addresses().read(f"bounces+u.{token}@news.example.org")


@pytest.mark.parametrize(
    "change",
    [
        lambda a: a.replace("member1.3.", "member2.3."),
        lambda a: a.replace(".3.", ".4."),
        lambda a: re.sub(r"\.([^.@]+)@", ".AAAAAAAAAAAAAAAA@", a),
        lambda a: a.replace(".3.", "."),
    ],
    ids=["other member", "other campaign", "forged signature", "no campaign"],
)
def test_a_changed_token_is_refused(change):
    made = addresses().return_path("member1", 3)
    with pytest.raises(TokenError):
        addresses().read(change(made))


def test_addresses_that_are_not_tokened_ones_on_the_mailbox_are_not_read():
    made = addresses().return_path("member1", 3)
    assert addresses().read(made.replace("news.example.org", "example.com")) is None
    assert addresses().read(made.replace("bounces+", "other+")) is None
    assert addresses().read(BOUNCES) is None
    assert addresses().read("bounces+@news.example.org") is None


def test_case_of_the_mailbox_and_domain_does_not_matter_but_the_token_keeps_its_own():
    made = addresses().return_path("member1", 3)
    local, _, domain = made.partition("@")
    base, _, token = local.partition("+")
    assert addresses().read(f"<{base.upper()}+{token}@{domain.upper()}>") is not None
    with pytest.raises(TokenError):
        addresses().read(f"{base}+{token.lower()}@{domain}")


def test_tokens_signed_with_an_old_secret_still_read_after_rotation():
    made = addresses(OLD_SECRET).return_path("member1", 3)
    rotated = addresses(TEST_SECRET, OLD_SECRET)
    assert rotated.read(made) == AddressToken(AddressKind.RETURN_PATH, "member1", 3)
    with pytest.raises(TokenError):
        addresses(TEST_SECRET).read(made)


def test_a_bounce_address_with_a_plus_is_refused(project_dir):
    with pytest.raises(CampaignError, match="bounce_address"):
        load_settings(project_dir / "newsletter.yaml", bounce_address="b+x@news.example.org")


def test_the_soft_bounce_window_holds_the_limit(project_dir):
    with pytest.raises(CampaignError, match="soft_bounce_window"):
        load_settings(project_dir / "newsletter.yaml", soft_bounce_limit=4, soft_bounce_window=3)


def test_each_message_goes_out_from_its_own_return_path(project_dir, example_file, smtp_sink):
    provider = make_provider(project_dir, smtp_sink, bounce_address=BOUNCES)
    provider.import_members(
        [
            MemberInput("ann@example.org", "Ann", "A", frozenset({"events"})),
            MemberInput("bob@example.org", "Bob", "B", frozenset({"events"})),
        ]
    )
    issue = load_issue(example_file, provider.settings)
    provider.send(issue)
    campaign = campaign_id(provider, issue.slug)
    seen = {}
    for received in smtp_sink.handler.messages:
        member = provider.find_by_email(received.recipients[0])
        token = addresses().read(received.sender)
        assert token == AddressToken(AddressKind.RETURN_PATH, member.id, campaign)
        unsubscribe = str(parse(received.data)["List-Unsubscribe"])
        mailto = re.search(r"<mailto:([^?>]+)\?subject=unsubscribe>", unsubscribe).group(1)
        assert addresses().read(mailto) == AddressToken(
            AddressKind.UNSUBSCRIBE, member.id, campaign
        )
        seen[member.email] = received.sender
    assert len(set(seen.values())) == 2


def test_without_a_bounce_address_the_sender_is_the_from_address(
    project_dir, example_file, smtp_sink
):
    without_bounce_address(project_dir)
    provider = make_provider(project_dir, smtp_sink)
    provider.import_members([MemberInput("ann@example.org", "Ann", "A", frozenset({"events"}))])
    provider.send(load_issue(example_file, provider.settings))
    (received,) = smtp_sink.handler.messages
    assert received.sender == "newsletter@example.org"
    assert "mailto:hello@example.org?subject=unsubscribe" in str(
        parse(received.data)["List-Unsubscribe"]
    )
