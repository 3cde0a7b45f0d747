"""The example email in headless Chromium: phone and desktop widths, anchors, screenshots.

Screenshots land in build/screenshots/ for people to look at.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from browser import browser

from newsletter.campaigns import load_issue
from newsletter.render.compile import compile_issue, sample_recipient

SCREENSHOTS = Path(__file__).resolve().parent.parent / "build" / "screenshots"

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def chromium():
    with browser() as instance:
        yield instance


@pytest.fixture
def email_html(settings, example_file) -> tuple[str, str]:
    issue = load_issue(example_file, settings)
    compiled = compile_issue(issue, settings)
    html, _ = compiled.personalise(sample_recipient(settings, issue.slug), settings.greeting)
    return issue.slug, html


def _page(chromium, html: str, width: int, scheme: str = "light"):
    page = chromium.new_page(viewport={"width": width, "height": 900}, color_scheme=scheme)
    page.route("**/*", lambda route: route.abort())
    page.set_content(html, wait_until="load")
    return page


@pytest.mark.parametrize("width", [375, 800])
def test_email_fits_the_viewport_without_sideways_scrolling(chromium, email_html, width):
    slug, html = email_html
    page = _page(chromium, html, width)
    try:
        scroll_width = page.evaluate("document.documentElement.scrollWidth")
        assert scroll_width <= width
        content = page.evaluate(
            "Math.max(...[...document.querySelectorAll('h1, h2, p, li')]"
            ".map((e) => e.getBoundingClientRect().right))"
        )
        assert content <= width
        if width == 800:
            box = page.locator("h1").bounding_box()
            assert box is not None and 100 <= box["x"] <= 150
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / f"{slug}-{width}.png"), full_page=True)
        assert (SCREENSHOTS / f"{slug}-{width}.png").stat().st_size > 10_000
    finally:
        page.close()


def test_dark_scheme_keeps_text_readable(chromium, email_html):
    slug, html = email_html
    page = _page(chromium, html, 375, scheme="dark")
    try:
        colours = page.evaluate(
            """() => {
              const h1 = document.querySelector('h1');
              let cell = h1;
              while (cell && getComputedStyle(cell).backgroundColor === 'rgba(0, 0, 0, 0)') {
                cell = cell.parentElement;
              }
              return [getComputedStyle(h1).color, getComputedStyle(cell).backgroundColor];
            }"""
        )
        text, background = colours
        assert _luminance(text) - _luminance(background) > 0.5, colours
        page.screenshot(path=str(SCREENSHOTS / f"{slug}-375-dark.png"), full_page=True)
    finally:
        page.close()


def test_contents_links_jump_to_their_sections(chromium, email_html, settings, example_file):
    _, html = email_html
    issue = load_issue(example_file, settings)
    page = _page(chromium, html, 375)
    try:
        target = issue.sections[-1]
        page.click(f"a[href='#{target.id}']")
        page.wait_for_function("window.scrollY > 0")
        top = page.evaluate(f"document.getElementById('{target.id}').getBoundingClientRect().top")
        assert 0 <= top < 900
    finally:
        page.close()


def _luminance(css: str) -> float:
    red, green, blue = (int(part) for part in css[css.index("(") + 1 : -1].split(",")[:3])
    return (0.2126 * red + 0.7152 * green + 0.0722 * blue) / 255
