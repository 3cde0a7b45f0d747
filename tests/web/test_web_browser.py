"""The pages in headless Chromium on a phone-sized screen; screenshots in build/screenshots/."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from browser import browser

from newsletter.models import SubscriberStatus

from .support import Server, consent_log

pytestmark = pytest.mark.browser

SCREENSHOTS = Path(__file__).resolve().parents[2] / "build" / "screenshots"
PHONE = {"width": 390, "height": 844}


@pytest.fixture(scope="module")
def chromium() -> Iterator[object]:
    with browser() as launched:
        yield launched


@pytest.fixture
def page(chromium, server: Server):
    context = chromium.new_context(
        viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True
    )
    # The logo lives on the organisation's site; tests stay on 127.0.0.1.
    context.route("https://**", lambda route: route.abort())
    opened = context.new_page()
    problems: list[str] = []
    opened.on("console", lambda message: problems.append(message.text))
    opened.problems = problems
    yield opened
    context.close()


def _shot(page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def _csp_violations(page) -> list[str]:
    return [text for text in page.problems if "Content Security Policy" in text]


def _check_accessible(page) -> None:
    assert page.locator("h1").count() == 1
    assert page.evaluate("document.documentElement.lang") == "en-GB"
    unlabelled = page.evaluate(
        """() => [...document.querySelectorAll('input:not([type=hidden])')]
               .filter(input => input.labels.length === 0).length"""
    )
    assert unlabelled == 0
    background = page.evaluate("getComputedStyle(document.body).backgroundColor")
    assert background == "rgb(238, 241, 245)", "the stylesheet did not apply"
    assert _csp_violations(page) == []


def test_change_topics_then_unsubscribe_in_the_browser(server: Server, page):
    page.goto(server.preferences_url("alex@example.org"))
    _check_accessible(page)
    assert page.get_by_label("National reviews").is_checked()
    assert not page.get_by_label("Events and webinars").is_checked()
    _shot(page, "preferences")

    page.get_by_label("Events and webinars").check()
    page.get_by_label("Practice resources").uncheck()
    page.get_by_role("button", name="Save my choices").click()
    page.wait_for_load_state()
    assert page.get_by_role("status").is_visible()
    assert "Added: Events and webinars" in page.get_by_role("status").inner_text()
    _check_accessible(page)
    _shot(page, "preferences-saved")
    alex = server.member("alex@example.org")
    assert alex.topics == frozenset({"reviews", "events"})

    page.get_by_role("button", name="Unsubscribe from everything").click()
    page.wait_for_load_state()
    assert "You are unsubscribed" in page.content()
    assert page.get_by_role("button", name="Subscribe again").is_visible()
    _shot(page, "preferences-unsubscribed")
    assert server.member("alex@example.org").status is SubscriberStatus.UNSUBSCRIBED
    assert [source for _, source in consent_log(server.provider, alex.id)][-2:] == [
        "page",
        "page",
    ]


def test_confirm_and_unsubscribe_in_the_browser(server: Server, page):
    page.goto(server.unsubscribe_url("sam@example.org"))
    _check_accessible(page)
    _shot(page, "unsubscribe")
    assert server.member("sam@example.org").status is SubscriberStatus.SUBSCRIBED

    page.keyboard.press("Tab")
    focused_outline = page.evaluate(
        "() => { const s = getComputedStyle(document.activeElement);"
        " return [document.activeElement.tagName, s.outlineStyle, s.outlineWidth]; }"
    )
    assert focused_outline[1] != "none" and focused_outline[2] != "0px", focused_outline

    page.get_by_role("button", name="Yes, unsubscribe me").click()
    page.wait_for_load_state()
    assert page.locator("h1").inner_text() == "You are unsubscribed"
    _check_accessible(page)
    _shot(page, "unsubscribed")
    assert server.member("sam@example.org").status is SubscriberStatus.UNSUBSCRIBED

    page.get_by_role("button", name="Subscribe again").click()
    page.wait_for_load_state()
    assert "You are subscribed again." in page.content()
    assert server.member("sam@example.org").status is SubscriberStatus.SUBSCRIBED


def test_public_pages_in_the_browser(server: Server, page, published):
    page.goto(f"{server.base_url}/about")
    _check_accessible(page)
    _shot(page, "about")
    page.goto(f"{server.base_url}/unsubscribe/not-a-real-link")
    _check_accessible(page)
    _shot(page, "link-not-found")
    page.goto(server.preferences_url("kim@example.org"))
    page.set_viewport_size({"width": 1280, "height": 900})
    _check_accessible(page)
    _shot(page, "preferences-desktop")
    page.set_viewport_size(PHONE)
    page.goto(f"{server.base_url}/archive/winter-2026")
    assert "Safer sleep" in page.content()
    assert _csp_violations(page) == []
    _shot(page, "archive")
