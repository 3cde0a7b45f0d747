"""The preference centre fronting a Mailchimp audience (the in-process Mailchimp API)."""

from __future__ import annotations

from mailchimp_support import fake_provider

from newsletter.models import SubscriberStatus
from newsletter.providers.mailchimp.fake import FakeMailchimp

from .support import MEMBERS, csrf_from


def test_one_click_and_topics_change_the_mailchimp_member(
    web_settings, monkeypatch, start_server, client
):
    provider = fake_provider(web_settings, monkeypatch, FakeMailchimp())
    provider.sync_topics()
    provider.import_members(MEMBERS)
    server = start_server(web_settings, provider)

    response = client.post(
        server.unsubscribe_url("sam@example.org"), data={"List-Unsubscribe": "One-Click"}
    )
    assert response.status_code == 200
    assert server.member("sam@example.org").status is SubscriberStatus.UNSUBSCRIBED

    url = server.preferences_url("alex@example.org")
    page = client.get(url)
    assert page.status_code == 200
    saved = client.post(url, data={"csrf": csrf_from(page.text), "topics": ["events"]})
    assert saved.status_code == 200
    assert "Added: Events and webinars" in saved.text
    assert server.member("alex@example.org").topics == frozenset({"events"})
    assert server.member("kim@example.org").status is SubscriberStatus.SUBSCRIBED
