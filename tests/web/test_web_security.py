"""Links that are tampered with, foreign or forged forms, escaping, and the headers."""

from __future__ import annotations

import base64
import hashlib
import re

import pytest

from newsletter.config import load_settings
from newsletter.errors import ConfigError
from newsletter.links import LinkBuilder, LinkSigner, Purpose
from newsletter.models import SubscriberStatus
from newsletter.providers.base import ChangeSource, MemberInput
from newsletter.providers.memory import MemoryProvider
from newsletter.web import create_app

from .support import OLD_SECRET, SECRET, Server, consent_log, csrf_from

ONE_CLICK = {"List-Unsubscribe": "One-Click"}


def _all_changes(server: Server) -> list[list[tuple[str, str]]]:
    return [consent_log(server.provider, member.id) for member in server.provider.members()]


def _everyone(server: Server) -> list[tuple[str, str, frozenset[str]]]:
    return sorted((m.email, m.status.value, m.topics) for m in server.provider.members())


def test_bad_links_all_get_the_same_friendly_404(server, client):
    sam = server.member("sam@example.org")
    good = server.links.signer.token(Purpose.UNSUBSCRIBE, sam.id)
    tampered = good[:-2] + ("AA" if not good.endswith("AA") else "BB")
    other_id = good.replace(good.split(".")[0], "Im0wMDAwMDIi")  # another id, old signature
    foreign = LinkSigner(["a-different-secret-of-more-than-32-characters"]).token(
        Purpose.UNSUBSCRIBE, sam.id
    )
    unknown = server.links.signer.token(Purpose.UNSUBSCRIBE, "nobody-with-this-id")
    wrong_purpose = server.links.signer.token(Purpose.PREFERENCES, sam.id)
    before = _everyone(server)
    bodies = set()
    for token in (tampered, other_id, foreign, unknown, wrong_purpose, "x", "a" * 300):
        page = client.get(f"{server.base_url}/unsubscribe/{token}")
        posted = client.post(f"{server.base_url}/unsubscribe/{token}", data=ONE_CLICK)
        assert (page.status_code, posted.status_code) == (404, 404), token
        assert "This link does not work" in page.text
        bodies.update({page.text, posted.text})
    assert len(bodies) == 1
    assert _everyone(server) == before


def test_unsubscribe_token_does_not_open_preferences(server, client):
    sam = server.member("sam@example.org")
    token = server.links.signer.token(Purpose.UNSUBSCRIBE, sam.id)
    page = client.get(f"{server.base_url}/preferences/{token}")
    assert page.status_code == 404
    csrf = csrf_from(client.get(server.unsubscribe_url("sam@example.org")).text)
    posted = client.post(
        f"{server.base_url}/preferences/{token}", data={"csrf": csrf, "action": "unsubscribe"}
    )
    assert posted.status_code == 404
    assert server.member("sam@example.org").status is SubscriberStatus.SUBSCRIBED


def test_get_and_head_never_change_anything(server, client, published):
    before = (_everyone(server), _all_changes(server))
    for email in ("sam@example.org", "alex@example.org"):
        for url in (server.unsubscribe_url(email), server.preferences_url(email)):
            for _ in range(2):
                assert client.get(url).status_code == 200
                assert client.head(url).status_code == 200
    for path in ("/about", "/archive/winter-2026", "/healthz"):
        assert client.get(server.base_url + path).status_code == 200
    assert (_everyone(server), _all_changes(server)) == before


@pytest.mark.parametrize("csrf", [None, "", "not-a-token"])
def test_form_post_without_a_valid_csrf_token_is_refused(server, client, csrf):
    before = (_everyone(server), _all_changes(server))
    fields = {} if csrf is None else {"csrf": csrf}
    unsub = client.post(server.unsubscribe_url("sam@example.org"), data=fields)
    prefs = client.post(
        server.preferences_url("sam@example.org"),
        data={**fields, "action": "save", "topics": ["reviews"]},
    )
    assert (unsub.status_code, prefs.status_code) == (403, 403)
    assert "we changed nothing" in unsub.text
    assert (_everyone(server), _all_changes(server)) == before


def test_csrf_token_of_another_page_is_refused(server, client):
    alex_csrf = csrf_from(client.get(server.preferences_url("alex@example.org")).text)
    sam_unsub_csrf = csrf_from(client.get(server.unsubscribe_url("sam@example.org")).text)
    before = _everyone(server)
    assert (
        client.post(
            server.preferences_url("sam@example.org"),
            data={"csrf": alex_csrf, "action": "unsubscribe"},
        ).status_code
        == 403
    )
    assert (
        client.post(
            server.preferences_url("sam@example.org"),
            data={"csrf": sam_unsub_csrf, "action": "unsubscribe"},
        ).status_code
        == 403
    )
    assert _everyone(server) == before


def test_cross_site_form_post_is_refused_even_with_a_token(server, client):
    url = server.preferences_url("sam@example.org")
    csrf = csrf_from(client.get(url).text)
    response = client.post(
        url, data={"csrf": csrf, "action": "unsubscribe"}, headers={"Sec-Fetch-Site": "cross-site"}
    )
    assert response.status_code == 403
    assert server.member("sam@example.org").status is SubscriberStatus.SUBSCRIBED


def test_one_click_needs_the_exact_field(server, client):
    url = server.unsubscribe_url("sam@example.org")
    for data in ({"List-Unsubscribe": "one-click-ish"}, {"unsubscribe": "yes"}, {}):
        assert client.post(url, data=data).status_code == 403
    assert server.member("sam@example.org").status is SubscriberStatus.SUBSCRIBED


def test_first_name_with_markup_is_escaped(start_server, web_settings, client):
    provider = MemoryProvider(web_settings)
    name = '<script>alert("hi")</script><b>Jo'
    provider.import_members([MemberInput("jo@example.org", first_name=name)])
    server = start_server(web_settings, provider)
    page = client.get(server.preferences_url("jo@example.org"))
    assert page.status_code == 200
    assert "<script>" not in page.text
    assert "<b>Jo" not in page.text
    assert "&lt;script&gt;alert(&#34;hi&#34;)&lt;/script&gt;&lt;b&gt;Jo" in page.text


def test_security_headers_on_every_response(server, client, published):
    sam = "sam@example.org"
    responses = {
        "unsubscribe": client.get(server.unsubscribe_url(sam)),
        "preferences": client.get(server.preferences_url(sam)),
        "forbidden": client.post(server.preferences_url(sam), data={}),
        "bad link": client.get(f"{server.base_url}/preferences/nope"),
        "missing": client.get(f"{server.base_url}/missing"),
        "about": client.get(f"{server.base_url}/about"),
        "archive": client.get(f"{server.base_url}/archive/winter-2026"),
        "healthz": client.get(f"{server.base_url}/healthz"),
        "one-click": client.post(server.unsubscribe_url(sam), data=ONE_CLICK),
    }
    for name, response in responses.items():
        headers = response.headers
        policy = headers["content-security-policy"]
        assert "default-src 'none'" in policy, name
        assert "frame-ancestors 'none'" in policy, name
        assert "script-src" not in policy, name  # falls back to default-src 'none'
        assert headers["referrer-policy"] == "no-referrer", name
        assert "noindex" in headers["x-robots-tag"], name
        assert headers["x-content-type-options"] == "nosniff", name
        assert "set-cookie" not in headers, name
        assert "server" not in headers or "uvicorn" not in headers["server"], name
    for name in ("unsubscribe", "preferences", "forbidden", "bad link", "one-click"):
        assert responses[name].headers["cache-control"] == "no-store", name
    assert "'unsafe-inline'" not in responses["preferences"].headers["content-security-policy"]


def test_the_inline_stylesheet_is_the_one_the_policy_allows(server, client):
    response = client.get(server.preferences_url("sam@example.org"))
    styles = re.findall(r"<style>(.*?)</style>", response.text, re.S)
    assert len(styles) == 1
    digest = base64.b64encode(hashlib.sha256(styles[0].encode()).digest()).decode()
    assert f"style-src 'sha256-{digest}'" in response.headers["content-security-policy"]
    assert server.settings.brand.primary in styles[0]
    assert 'style="' not in response.text


def test_links_signed_with_an_old_secret_still_work(server, client):
    sam = server.member("sam@example.org")
    old_links = LinkBuilder(server.settings.public_url, LinkSigner([OLD_SECRET]))
    page = client.get(server.local(old_links.preferences_url(sam.id)))
    assert page.status_code == 200
    assert "Hello Sam" in page.text
    response = client.post(server.local(old_links.unsubscribe_url(sam.id)), data=ONE_CLICK)
    assert response.status_code == 200
    assert server.member("sam@example.org").status is SubscriberStatus.UNSUBSCRIBED


def test_links_of_a_secret_no_longer_listed_stop_working(
    start_server, project_dir, monkeypatch, client
):
    monkeypatch.setenv("NEWSLETTER_SECRET", "yet-another-secret-0123456789abcdefghij")
    settings = load_settings(project_dir / "newsletter.yaml")
    provider = MemoryProvider(settings)
    provider.import_members([MemberInput("sam@example.org")])
    server = start_server(settings, provider)
    sam = server.member("sam@example.org")
    retired = LinkBuilder(settings.public_url, LinkSigner([SECRET]))
    assert client.get(server.local(retired.preferences_url(sam.id))).status_code == 404
    assert client.get(server.preferences_url("sam@example.org")).status_code == 200


def test_page_forms_never_carry_the_secret_or_the_full_address(server, client):
    sam = "sam@example.org"
    for url in (server.preferences_url(sam), server.unsubscribe_url(sam)):
        text = client.get(url).text
        assert SECRET not in text
        assert OLD_SECRET not in text
        assert "sam@example.org" not in text


@pytest.mark.parametrize("secret", [None, "too-short"])
def test_no_app_without_a_usable_secret(project_dir, monkeypatch, secret):
    if secret:
        monkeypatch.setenv("NEWSLETTER_SECRET", secret)
    settings = load_settings(project_dir / "newsletter.yaml")
    with pytest.raises(ConfigError, match="NEWSLETTER_SECRET"):
        create_app(settings, MemoryProvider(settings))


def test_one_click_change_recorded_with_its_source(server, client):
    sam = server.member("sam@example.org")
    client.post(server.unsubscribe_url("sam@example.org"), data=ONE_CLICK)
    assert consent_log(server.provider, sam.id)[-1][1] == ChangeSource.ONE_CLICK.value


def test_an_unexpected_error_still_carries_the_headers(start_server, web_settings, client):
    class Broken(MemoryProvider):
        def get_subscriber(self, subscriber_id):
            raise RuntimeError("a bug")

    provider = Broken(web_settings)
    server = start_server(web_settings, provider)
    response = client.get(server.local(server.links.preferences_url("m1")))
    assert response.status_code == 500
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    assert response.headers["referrer-policy"] == "no-referrer"
    assert response.headers["cache-control"] == "no-store"
