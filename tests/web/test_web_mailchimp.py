"""The preference centre fronting a Mailchimp audience (the in-process Mailchimp API)."""

from __future__ import annotations

from mailchimp_support import fake_provider

from newsletter.models import SubscriberStatus
from newsletter.providers.mailchimp.fake import FakeMailchimp

from .support import MEMBERS, csrf_from


def test_one_click_page_and_topics_change_the_mailchimp_member_and_are_noted(
    web_settings, monkeypatch, start_server, client
):
    fake = FakeMailchimp()
    provider = fake_provider(web_settings, monkeypatch, fake)
    provider.sync_topics()
    provider.import_members(MEMBERS)
    server = start_server(web_settings, provider)

    response = client.post(
        server.unsubscribe_url("sam@example.org"), data={"List-Unsubscribe": "One-Click"}
    )
    assert response.status_code == 200
    assert server.member("sam@example.org").status is SubscriberStatus.UNSUBSCRIBED
    (one_click,) = fake.note_texts("sam@example.org")
    assert one_click.startswith(
        "Unsubscribed by one-click unsubscribe (newsletter preference centre) at "
    )
    assert one_click.endswith("(source: one-click).")
    again = client.post(
        server.unsubscribe_url("sam@example.org"), data={"List-Unsubscribe": "One-Click"}
    )
    assert again.status_code == 200

    confirm = client.get(server.unsubscribe_url("kim@example.org"))
    done = client.post(
        server.unsubscribe_url("kim@example.org"), data={"csrf": csrf_from(confirm.text)}
    )
    assert done.status_code == 200
    (confirmed,) = fake.note_texts("kim@example.org")
    assert confirmed.startswith(
        "Unsubscribed by the preference page (newsletter preference centre) at "
    )
    assert confirmed.endswith("(source: page).")

    url = server.preferences_url("alex@example.org")
    page = client.get(url)
    assert page.status_code == 200
    saved = client.post(url, data={"csrf": csrf_from(page.text), "topics": ["events"]})
    assert saved.status_code == 200
    assert "Added: Events and webinars" in saved.text
    assert server.member("alex@example.org").topics == frozenset({"events"})
    (topics,) = fake.note_texts("alex@example.org")
    assert topics.startswith("Topics changed by the preference page")
    assert "(source: page)." in topics and "Topics now: Events and webinars." in topics
    assert server.member("kim@example.org").status is SubscriberStatus.UNSUBSCRIBED
    assert len(fake.note_texts("sam@example.org")) == 1
