"""Mailchimp pieces without the network: settings, hashes, schedule times, payloads."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from mailchimp_support import API_KEY, fake_provider

from newsletter.campaigns import load_issue
from newsletter.errors import ConfigError, ProviderError
from newsletter.models import SubscriberStatus
from newsletter.providers import get_provider
from newsletter.providers.base import MemberInput
from newsletter.providers.mailchimp import MailchimpProvider
from newsletter.providers.mailchimp.audience import subscriber_hash
from newsletter.providers.mailchimp.campaign import content, quarter_hour_utc
from newsletter.providers.mailchimp.fake import FakeMailchimp
from newsletter.providers.mailchimp.settings import MailchimpSettings


def test_data_centre_comes_from_the_key(settings, monkeypatch):
    monkeypatch.setenv("MAILCHIMP_API_KEY", "abc123-us21")
    assert (
        MailchimpSettings.for_project(settings).api_root() == "https://us21.api.mailchimp.com/3.0"
    )
    monkeypatch.setenv("MAILCHIMP_BASE_URL", "http://127.0.0.1:4010/")
    assert MailchimpSettings.for_project(settings).api_root() == "http://127.0.0.1:4010"


def test_settings_are_read_from_the_env_file_beside_the_project(settings, project_dir):
    (project_dir / ".env").write_text("MAILCHIMP_API_KEY=fromfile-us3\nMAILCHIMP_AUDIENCE_ID=a1\n")
    loaded = MailchimpSettings.for_project(settings)
    assert loaded.api_root() == "https://us3.api.mailchimp.com/3.0"
    assert loaded.audience() == "a1"
    assert "fromfile" not in repr(loaded)


def test_a_missing_key_is_one_clear_line(settings):
    provider = get_provider(settings, "mailchimp")
    assert isinstance(provider, MailchimpProvider)
    with pytest.raises(ConfigError) as caught:
        _ = provider.client
    assert str(caught.value).startswith("MAILCHIMP_API_KEY is not set")
    assert "\n" not in str(caught.value)


def test_a_key_without_a_data_centre_is_refused(settings, monkeypatch):
    monkeypatch.setenv("MAILCHIMP_API_KEY", "secretvalue")
    with pytest.raises(ConfigError) as caught:
        MailchimpSettings.for_project(settings).api_root()
    assert "secretvalue" not in str(caught.value)


def test_subscriber_hash_is_md5_of_the_lower_cased_address():
    # The example from Mailchimp's guide to managing subscribers.
    assert subscriber_hash(" Urist.McVankab@freddiesjokes.com ") == (
        "62eeb292278cc15f5817cb78f7790b08"
    )


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        (datetime(2030, 1, 14, 9, 15, tzinfo=UTC), datetime(2030, 1, 14, 9, 15, tzinfo=UTC)),
        # London in summer is UTC+1; Kathmandu is UTC+5:45.
        (datetime(2030, 7, 1, 10, 30), datetime(2030, 7, 1, 9, 30, tzinfo=UTC)),
        (
            datetime(2030, 7, 1, 10, 0, tzinfo=ZoneInfo("Asia/Kathmandu")),
            datetime(2030, 7, 1, 4, 15, tzinfo=UTC),
        ),
    ],
)
def test_quarter_hours_are_accepted_in_utc(settings, written, expected):
    assert quarter_hour_utc(written, settings) == expected


def test_other_times_are_refused_with_the_nearest_quarter_hours(settings):
    with pytest.raises(ProviderError) as caught:
        quarter_hour_utc(datetime(2030, 1, 14, 9, 7, tzinfo=UTC), settings)
    assert "09:00 or 09:15 UTC" in str(caught.value)
    with pytest.raises(ProviderError):
        quarter_hour_utc(datetime(2030, 1, 14, 9, 15, 30, tzinfo=UTC), settings)
    with pytest.raises(ProviderError):
        quarter_hour_utc(datetime(2030, 1, 14, 9, 10, tzinfo=ZoneInfo("Asia/Kolkata")), settings)


def test_content_keeps_merge_tags_with_bars_in_links(settings, example_file):
    provider = get_provider(settings, "mailchimp")
    compiled = provider.compile(load_issue(example_file, settings))
    body = content(compiled)
    assert 'href="*|UNSUB|*"' in body["html"]
    assert 'href="*|UPDATE_PROFILE|*"' in body["html"]
    assert "*|MC_PREVIEW_TEXT|*" in body["html"]
    assert "*|LIST:ADDRESSLINE|*" in body["html"]
    assert "%7C" not in body["html"]
    assert "*|UNSUB|*" in body["plain_text"]
    encoded = compiled.__class__(**{**compiled.__dict__, "html": '<a href="*%7CUNSUB%7C*">x</a>'})
    assert content(encoded)["html"] == '<a href="*|UNSUB|*">x</a>'


def test_import_never_resubscribes_unsubscribed_or_cleaned_members(settings, monkeypatch):
    fake = FakeMailchimp()
    fake.add_member("left@example.org", "unsubscribed")
    fake.add_member("bounced@example.org", "cleaned")
    fake.add_member("stays@example.org", "subscribed", FNAME="Old")
    provider = fake_provider(settings, monkeypatch, fake)
    report = provider.import_members(
        [
            MemberInput("left@example.org", "Lee"),
            MemberInput("Bounced@example.org"),
            MemberInput("stays@example.org", "New"),
            MemberInput("fresh@example.org", "Fay", "Fox", source_line=5),
            MemberInput("fresh@example.org", "Fay", "Fox", source_line=6),
            MemberInput("topic@example.org", topics=frozenset({"gardening"}), source_line=7),
        ]
    )
    statuses = {m["email_address"]: m["status"] for m in fake.members.values()}
    assert statuses == {
        "left@example.org": "unsubscribed",
        "bounced@example.org": "cleaned",
        "stays@example.org": "subscribed",
        "fresh@example.org": "subscribed",
    }
    assert (report.added, report.updated, report.kept_unsubscribed) == (1, 1, 2)
    assert [(r.source_line, r.reason) for r in report.rejected] == [
        (5, "listed again on line 6"),
        (7, "unknown topic 'gardening'"),
    ]
    batch = fake.bodies[-1]
    assert batch["update_existing"] is True
    assert all("status" not in m and m["status_if_new"] == "subscribed" for m in batch["members"])
    assert fake.members[subscriber_hash("stays@example.org")]["merge_fields"]["FNAME"] == "New"


def test_resubscribe_is_explicit_and_cleaned_addresses_are_reported(settings, monkeypatch):
    fake = FakeMailchimp()
    fake.add_member("left@example.org", "unsubscribed")
    fake.add_member("bounced@example.org", "cleaned")
    provider = fake_provider(settings, monkeypatch, fake)
    report = provider.import_members(
        [MemberInput("left@example.org"), MemberInput("bounced@example.org", source_line=3)],
        resubscribe=True,
    )
    assert fake.members[subscriber_hash("left@example.org")]["status"] == "subscribed"
    assert fake.members[subscriber_hash("bounced@example.org")]["status"] == "cleaned"
    assert report.updated == 1
    assert [(r.source_line, "cleaned" in r.reason) for r in report.rejected] == [(3, True)]


def test_members_pages_through_the_audience(settings, monkeypatch):
    fake = FakeMailchimp()
    for n in range(2500):
        fake.add_member(f"p{n}@example.org", "unsubscribed" if n % 10 == 0 else "subscribed")
    provider = fake_provider(settings, monkeypatch, fake)
    everyone = list(provider.members())
    subscribed = list(provider.members(status=SubscriberStatus.SUBSCRIBED))
    assert len(everyone) == 2500
    assert len(subscribed) == 2250
    assert fake.count("GET", r"/lists/aud0123/members") == 3 + 3
    assert everyone[0].id == subscriber_hash("p0@example.org")


def test_topics_become_interest_groups_and_a_segment(settings, monkeypatch, example_file):
    fake = FakeMailchimp()
    provider = fake_provider(settings, monkeypatch, fake)
    issue = load_issue(example_file, settings).model_copy(update={"topics": ["events"]})
    with pytest.raises(ProviderError, match="sync-topics"):
        provider.push(issue)
    first = provider.sync_topics()
    again = provider.sync_topics()
    assert first.category_created and len(first.created) == 3
    assert not again.category_created and again.created == ()
    (category,) = fake.categories.values()
    assert sorted(category["interests"].values()) == sorted(t.name for t in settings.topics)
    pushed = provider.push(issue)
    segment = fake.campaigns[pushed.remote_id]["recipients"]["segment_opts"]
    events_id = next(k for k, v in category["interests"].items() if v == "Events and webinars")
    assert segment["conditions"] == [
        {
            "condition_type": "Interests",
            "field": f"interests-{category['id']}",
            "op": "interestcontains",
            "value": [events_id],
        }
    ]
    member_id = fake.add_member("reader@example.org")
    changed = provider.set_topics(member_id, frozenset({"events"}), source="page")
    assert changed.topics == frozenset({"events"})
    assert sum(fake.members[member_id]["interests"].values()) == 1


def test_push_updates_the_same_draft_and_recovers_a_lost_store(
    settings, monkeypatch, example_file, project_dir
):
    fake = FakeMailchimp()
    provider = fake_provider(settings, monkeypatch, fake)
    issue = load_issue(example_file, settings).model_copy(update={"topics": []})
    first = provider.push(issue)
    changed = issue.model_copy(update={"subject": "A new subject"})
    second = provider.push(changed)
    assert first.created and not second.created
    assert second.remote_id == first.remote_id
    assert fake.campaigns[first.remote_id]["settings"]["subject_line"] == "A new subject"
    assert fake.campaigns[first.remote_id]["settings"]["reply_to"] == "hello@example.org"
    stored = provider.records.get(issue.slug).content_hash
    assert stored == provider.compile(changed).content_hash != provider.compile(issue).content_hash

    (project_dir / ".newsletter" / "newsletter.db").unlink()
    recovered = fake_provider(settings, monkeypatch, fake).push(issue)
    assert recovered.remote_id == first.remote_id and not recovered.created
    assert len(fake.campaigns) == 1


def test_a_sent_campaign_is_never_sent_or_changed_again(settings, monkeypatch, example_file):
    fake = FakeMailchimp()
    fake.add_member("reader@example.org")
    provider = fake_provider(settings, monkeypatch, fake)
    issue = load_issue(example_file, settings).model_copy(update={"topics": []})
    report = provider.send(issue)
    assert report.sent == 1
    assert fake.count("POST", r".*/actions/send") == 1
    with pytest.raises(ProviderError, match="already sent"):
        provider.send(issue)
    with pytest.raises(ProviderError, match="already sent"):
        provider.push(issue)
    plan = provider.plan_send(issue)
    assert plan.already_sent and not plan.ready
    assert fake.count("POST", r".*/actions/send") == 1


def test_report_maps_mailchimp_figures(settings, monkeypatch, example_file):
    fake = FakeMailchimp()
    provider = fake_provider(settings, monkeypatch, fake)
    issue = load_issue(example_file, settings).model_copy(update={"topics": []})
    provider.push(issue)
    report = provider.report(issue)
    assert (report.sent, report.opens, report.clicks, report.bounces, report.unsubscribes) == (
        120,
        80,
        30,
        3,
        3,
    )
    assert any("Apple Mail" in note for note in report.notes)


def test_the_key_is_not_in_reprs(settings, monkeypatch):
    fake = FakeMailchimp()
    provider = fake_provider(settings, monkeypatch, fake)
    for text in (repr(provider), repr(provider.client), repr(provider.mailchimp), str(settings)):
        assert API_KEY not in text
        assert API_KEY[:10] not in text
