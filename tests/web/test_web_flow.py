"""The preference centre over HTTP, against a real uvicorn server."""

from __future__ import annotations

import os
import re
from urllib.parse import urljoin

from newsletter.errors import ProviderAPIError
from newsletter.models import Subscriber, SubscriberStatus
from newsletter.providers.base import MemberInput
from newsletter.providers.memory import MemoryProvider

from .support import Server, consent_log, csrf_from

ONE_CLICK = {"List-Unsubscribe": "One-Click"}


def _status(server: Server, email: str) -> SubscriberStatus:
    return server.member(email).status


def test_one_click_form_urlencoded_as_a_mailbox_provider_sends_it(server, client):
    url = server.unsubscribe_url("sam@example.org")
    response = client.post(
        url,
        content=b"List-Unsubscribe=One-Click",
        headers={"Content-Type": "application/x-www-form-urlencoded", "User-Agent": "Mailbox/1"},
    )
    assert response.status_code == 200
    assert "set-cookie" not in response.headers
    assert "You are unsubscribed" in response.text
    assert _status(server, "sam@example.org") is SubscriberStatus.UNSUBSCRIBED
    assert _status(server, "alex@example.org") is SubscriberStatus.SUBSCRIBED
    sam = server.member("sam@example.org")
    assert consent_log(server.provider, sam.id)[-1][0].startswith("unsubscribed")
    assert consent_log(server.provider, sam.id)[-1][1] == "one-click"


def test_one_click_multipart(server, client):
    url = server.unsubscribe_url("alex@example.org")
    response = client.post(url, files={"List-Unsubscribe": (None, "One-Click")})
    assert response.request.headers["content-type"].startswith("multipart/form-data")
    assert response.status_code == 200
    assert "set-cookie" not in response.headers
    assert _status(server, "alex@example.org") is SubscriberStatus.UNSUBSCRIBED
    alex = server.member("alex@example.org")
    assert consent_log(server.provider, alex.id)[-1][1] == "one-click"


def test_one_click_twice_answers_200_and_logs_once(server, client):
    url = server.unsubscribe_url("kim@example.org")
    first = client.post(url, data=ONE_CLICK)
    second = client.post(url, data=ONE_CLICK)
    assert (first.status_code, second.status_code) == (200, 200)
    kim = server.member("kim@example.org")
    unsubscribes = [entry for entry in consent_log(server.provider, kim.id) if "unsub" in entry[0]]
    assert len(unsubscribes) == 1


def test_confirm_page_changes_nothing_until_the_button_is_pressed(server, client):
    url = server.unsubscribe_url("sam@example.org")
    sam = server.member("sam@example.org")
    before = consent_log(server.provider, sam.id)
    page = client.get(url)
    assert page.status_code == 200
    assert "Yes, unsubscribe me" in page.text
    assert "s••••@example.org" in page.text
    assert "sam@example.org" not in page.text
    assert _status(server, "sam@example.org") is SubscriberStatus.SUBSCRIBED
    assert consent_log(server.provider, sam.id) == before

    response = client.post(url, data={"csrf": csrf_from(page.text)})
    assert response.status_code == 200
    assert "You are unsubscribed" in response.text
    assert _status(server, "sam@example.org") is SubscriberStatus.UNSUBSCRIBED
    assert consent_log(server.provider, sam.id)[-1][1] == "page"

    again = client.get(url)
    assert "You are already unsubscribed" in again.text


def test_one_click_answer_is_a_short_page_without_forms(server, client):
    done = client.post(server.unsubscribe_url("sam@example.org"), data=ONE_CLICK)
    assert "You are unsubscribed" in done.text
    assert "<form" not in done.text


def test_subscribe_again_from_the_unsubscribed_page(server, client):
    url = server.unsubscribe_url("sam@example.org")
    page = client.get(url)
    done = client.post(url, data={"csrf": csrf_from(page.text)})
    action = re.search(r'<form method="post" action="([^"]+)"', done.text)
    assert action is not None
    target = urljoin(url, action.group(1))
    assert target == server.preferences_url("sam@example.org")
    response = client.post(target, data={"csrf": csrf_from(done.text), "action": "resubscribe"})
    assert response.status_code == 200
    assert "You are subscribed again." in response.text
    assert _status(server, "sam@example.org") is SubscriberStatus.SUBSCRIBED
    sam = server.member("sam@example.org")
    assert [source for _, source in consent_log(server.provider, sam.id)][-2:] == [
        "page",
        "page",
    ]


def test_preferences_page_shows_topics_and_first_name(server, client):
    page = client.get(server.preferences_url("alex@example.org"))
    assert page.status_code == 200
    assert "Hello Alex" in page.text
    checked = set(re.findall(r'value="([a-z-]+)" id="topic-[a-z-]+"[^>]* checked', page.text))
    assert checked == {"reviews", "resources"}
    assert page.text.count("<h1") == 1
    assert 'lang="en-GB"' in page.text
    for topic in ("reviews", "events", "resources"):
        assert f'<label for="topic-{topic}">' in page.text
    assert "Unsubscribe from everything" in page.text
    assert "Subscribe again" not in page.text


def test_preferences_saved_and_the_change_shown(server, client):
    url = server.preferences_url("alex@example.org")
    page = client.get(url)
    response = client.post(
        url,
        data={"csrf": csrf_from(page.text), "action": "save", "topics": ["events", "reviews"]},
    )
    assert response.status_code == 200
    assert "Added: Events and webinars" in response.text
    assert "Removed: Practice resources" in response.text
    alex = server.member("alex@example.org")
    assert alex.topics == frozenset({"events", "reviews"})
    assert alex.status is SubscriberStatus.SUBSCRIBED
    assert consent_log(server.provider, alex.id)[-1][0].startswith("topics")
    assert consent_log(server.provider, alex.id)[-1][1] == "page"

    same = client.post(
        url,
        data={"csrf": csrf_from(response.text), "action": "save", "topics": ["events", "reviews"]},
    )
    assert "Nothing needed changing" in same.text


def test_unknown_topics_in_a_form_are_ignored(server, client):
    url = server.preferences_url("sam@example.org")
    page = client.get(url)
    client.post(url, data={"csrf": csrf_from(page.text), "topics": ["reviews", "made-up"]})
    assert server.member("sam@example.org").topics == frozenset({"reviews"})


def test_unsubscribe_from_everything_then_subscribe_again(server, client):
    url = server.preferences_url("kim@example.org")
    page = client.get(url)
    off = client.post(url, data={"csrf": csrf_from(page.text), "action": "unsubscribe"})
    assert off.status_code == 200
    assert "You are unsubscribed from everything." in off.text
    assert "Saved." not in off.text, "one confirmation, not two"
    assert _status(server, "kim@example.org") is SubscriberStatus.UNSUBSCRIBED

    shown = client.get(url)
    assert "Subscribe again" in shown.text
    assert "Unsubscribe from everything" not in shown.text

    on = client.post(url, data={"csrf": csrf_from(shown.text), "action": "resubscribe"})
    assert "You are subscribed again." in on.text
    assert _status(server, "kim@example.org") is SubscriberStatus.SUBSCRIBED
    kim = server.member("kim@example.org")
    actions = [action for action, _ in consent_log(server.provider, kim.id)]
    assert actions[-2].startswith("unsubscribed")
    assert actions[-1].startswith("resubscribed")
    assert kim.topics == frozenset({"events", "reviews"})


def test_archive_shows_the_issue_without_personal_data(server, client, published):
    response = client.get(f"{server.base_url}/archive/winter-2026")
    assert response.status_code == 200
    html = response.text
    assert "Safer sleep" in html
    assert "[[nl:" not in html
    addresses = set(re.findall(r"(?<!mailto:)\b[\w.+-]+@[\w-]+\.[\w.]+", html))
    assert addresses <= {server.settings.organisation.contact_email}
    assert "This email was sent to our subscribers." in html
    assert "/unsubscribe/" not in html
    assert "/preferences/" not in html
    assert f"{server.settings.public_url}/about" in html
    assert server.settings.greeting is not None
    assert server.settings.greeting.anonymous in html
    assert "Sam" not in html


def test_archive_follows_changes_to_the_campaign_file(server, client, example_file, published):
    first = client.get(f"{server.base_url}/archive/winter-2026").text
    text = example_file.read_text()
    example_file.write_text(text.replace("Safer sleep", "Safest sleep"))
    stat = example_file.stat()
    os.utime(example_file, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    second = client.get(f"{server.base_url}/archive/winter-2026").text
    assert "Safest sleep" not in first
    assert "Safest sleep" in second


def test_an_issue_not_yet_sent_has_no_web_version(server, client, example_file):
    response = client.get(f"{server.base_url}/archive/winter-2026")
    assert example_file.exists()
    assert response.status_code == 404
    assert "Safer sleep" not in response.text


def test_archive_only_for_issues_that_exist(server, client, published):
    for slug in ("no-such-issue", "..%2Fnewsletter", "Winter-2026", "winter-2026.yaml"):
        response = client.get(f"{server.base_url}/archive/{slug}")
        assert response.status_code == 404, slug
        assert "could not find" in response.text.lower() or "not found" in response.text.lower()


def test_about_page_says_why_and_how_to_change(server, client):
    response = client.get(f"{server.base_url}/about")
    assert response.status_code == 200
    description = server.settings.audience.description
    assert description.split(",")[0] in response.text
    assert "update your preferences" in response.text
    for topic in server.settings.topics:
        assert topic.name in response.text


def test_healthz(server, client):
    response = client.get(f"{server.base_url}/healthz")
    assert response.status_code == 200
    assert response.text.strip() == "ok"


def test_unknown_page_is_the_friendly_404(server, client):
    response = client.get(f"{server.base_url}/nothing-here")
    assert response.status_code == 404
    assert "Page not found" in response.text


def test_a_campaign_file_that_does_not_validate_has_no_archive_page(server, client, project_dir):
    (project_dir / "campaigns" / "broken.yaml").write_text("subject: [unclosed\n")
    response = client.get(f"{server.base_url}/archive/broken")
    assert response.status_code == 404
    assert "could not find that issue" in response.text


def test_an_oversized_form_is_refused_and_changes_nothing(server, client):
    url = server.unsubscribe_url("sam@example.org")
    body = b"List-Unsubscribe=One-Click&padding=" + b"x" * (128 * 1024)
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    declared = client.post(url, content=body, headers=headers)
    chunked = client.post(url, content=iter([body[:1000], body[1000:]]), headers=headers)
    assert "content-length" not in chunked.request.headers
    assert (declared.status_code, chunked.status_code) == (413, 413)
    assert declared.headers["connection"] == "close"
    assert _status(server, "sam@example.org") is SubscriberStatus.SUBSCRIBED


def test_provider_failure_shows_a_try_later_page_and_changes_nothing(
    start_server, web_settings, client
):
    class Unreachable(MemoryProvider):
        def unsubscribe(self, subscriber_id, *, source, note=""):
            raise ProviderAPIError("the list service answered 503", status=503)

    provider = Unreachable(web_settings)
    provider.import_members([MemberInput("sam@example.org")])
    failing = start_server(web_settings, provider)
    response = client.post(
        failing.unsubscribe_url("sam@example.org"), data={"List-Unsubscribe": "One-Click"}
    )
    assert response.status_code == 503
    assert response.headers["retry-after"] == "60"
    assert "Please try again in a few minutes" in response.text
    assert response.headers["referrer-policy"] == "no-referrer"
    assert failing.member("sam@example.org").status is SubscriberStatus.SUBSCRIBED


def test_provider_failure_is_logged_without_the_token(start_server, web_settings, client, caplog):
    class Unreachable(MemoryProvider):
        def get_subscriber(self, subscriber_id):
            raise ProviderAPIError("the list service answered 503", status=503)

    provider = Unreachable(web_settings)
    provider.subscribers["m1"] = Subscriber(id="m1", email="m1@example.org")
    failing = start_server(web_settings, provider)
    token_url = failing.local(failing.links.preferences_url("m1"))
    with caplog.at_level("ERROR", logger="newsletter.web"):
        assert client.get(token_url).status_code == 503
    assert "provider error on GET /preferences" in caplog.text
    assert token_url.rsplit("/", 1)[1] not in caplog.text


def test_a_wrong_method_gets_405_naming_every_method_the_path_takes(server, client):
    takes = {
        server.unsubscribe_url("sam@example.org"): {"GET", "HEAD", "POST"},
        server.preferences_url("sam@example.org"): {"GET", "HEAD", "POST"},
        f"{server.base_url}/archive/winter-2026": {"GET", "HEAD"},
        f"{server.base_url}/about": {"GET", "HEAD"},
        f"{server.base_url}/healthz": {"GET", "HEAD"},
    }
    for url, allowed in takes.items():
        for method in sorted({"GET", "POST", "PUT", "PATCH", "DELETE"} - allowed):
            response = client.request(method, url, data=ONE_CLICK if method != "GET" else None)
            assert response.status_code == 405, (method, url)
            allow = {name.strip() for name in response.headers.get("allow", "").split(",")}
            assert allow == allowed, (method, url)
    assert _status(server, "sam@example.org") is SubscriberStatus.SUBSCRIBED
