"""The computed look every family reads (``check.styles``): one walk per check, with the
same answer to "can a reader see this?" for compliance and accessibility."""

from __future__ import annotations

from pathlib import Path

import lxml.html
import pytest
from conftest import EXAMPLE_SLUG

from newsletter import checks
from newsletter.campaigns import load_located
from newsletter.checks import CheckInput, Severity, accessibility, compliance
from newsletter.checks import styles as styles_module
from newsletter.checks.styles import Styles
from newsletter.config import load_settings
from newsletter.providers import get_provider

FOOTER = Path("templates") / "footer.mjml.j2"
MAIN = Path("templates") / "newsletter.mjml.j2"
UNSUBSCRIBE = '<a href="{{ slot.unsubscribe_url }}">unsubscribe</a>'


def _styles(body: str, head: str = "") -> tuple[Styles, lxml.html.HtmlElement]:
    document = lxml.html.document_fromstring(f"<html><head>{head}</head><body>{body}</body></html>")
    return Styles(document), document


def _reasons(body: str, head: str = "") -> dict[str, str | None]:
    """Each element with an id: why it is hidden."""
    styles, document = _styles(body, head)
    return {
        element.get("id"): styles.hidden(element)
        for element in document.iter()
        if element.get("id")
    }


def _check(project_dir: Path) -> CheckInput:
    settings = load_settings(project_dir / "newsletter.yaml")
    located = load_located(project_dir / "campaigns" / f"{EXAMPLE_SLUG}.yaml", settings)
    with get_provider(settings, "local") as provider:
        return provider.check_input(located.issue, source=located.source)


def _override(project_dir: Path, template: Path, old: str, new: str) -> None:
    path = project_dir / template
    source = path.read_text(encoding="utf-8")
    assert old in source
    path.write_text(source.replace(old, new), encoding="utf-8")


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ('<p id="x" style="display:none">a</p>', "hidden with display:none"),
        ('<p id="x" style="opacity:0.0">a</p>', "hidden with opacity:0"),
        ('<p id="x" hidden>a</p>', "hidden with the hidden attribute"),
        ('<p id="x" style="mso-hide:all">a</p>', "hidden from Outlook with mso-hide:all"),
        (
            '<div style="width:0;overflow:hidden"><p id="x">a</p></div>',
            "hidden in a box with width:0 and overflow:hidden",
        ),
        (
            '<p id="x" style="max-height:0px;overflow:hidden !important">a</p>',
            "hidden in a box with max-height:0 and overflow:hidden",
        ),
        ('<p id="x" style="font-size:3px">a</p>', "its font size is 3px"),
        ('<p id="x" style="font: 0/0 a">a</p>', "its font size is 0px"),
        ('<p id="x" style="color:transparent">a</p>', "its text colour is transparent"),
        ('<p id="x" style="color:rgba(0,0,0,0)">a</p>', "its text colour is transparent"),
        ('<p id="x">a</p>', None),
    ],
)
def test_every_way_of_hiding_has_its_reason(body, reason):
    assert _reasons(body)["x"] == reason


def test_what_a_descendant_can_undo_and_what_it_cannot():
    found = _reasons(
        '<div style="visibility:hidden"><p id="hidden">a</p>'
        '<p id="undone" style="visibility:visible">b</p></div>'
        '<div style="font-size:0px"><p id="tiny">c</p>'
        '<p id="sized" style="font-size:13px">d</p></div>'
        '<div style="color:transparent"><span id="clear">e</span>'
        '<span id="coloured" style="color:#333">f</span></div>'
        '<div style="display:none">'
        '<p id="gone" style="display:block;visibility:visible">g</p></div>'
    )
    assert found["hidden"] == "hidden with visibility:hidden"
    assert found["undone"] is None
    assert found["tiny"] == "its font size is 0px" and found["sized"] is None
    assert found["clear"] == "its text colour is transparent" and found["coloured"] is None
    assert found["gone"] == "hidden with display:none"


def test_what_is_outside_the_body_is_not_on_the_page():
    styles, document = _styles("<p>a</p>", "<title>t</title>")
    assert styles.hidden(document.find("head/title")) == "it is not part of the page"
    assert styles.hidden(lxml.html.fromstring("<p>elsewhere</p>")) == "it is not part of the page"
    assert styles.look(lxml.html.fromstring("<p>elsewhere</p>")) is None


def test_style_rules_for_every_screen_apply_and_inline_styles_win():
    head = (
        "<style>.gone { display: none } p.pale { color: #eeeeee } .big > span { font-size: 30px }"
        " .kept { display: none } @media (max-width: 480px) { .narrow { display: none } }</style>"
        '<style media="print">.printed { display: none }</style>'
        "<style>.forced { color: #ff0000 !important }</style>"
    )
    styles, document = _styles(
        '<p id="gone" class="gone">a</p><p id="pale" class="pale">b</p>'
        '<p id="dark" class="pale" style="color:#111111">c</p>'
        '<div class="big"><span id="big">d</span></div><span id="small" class="big">e</span>'
        '<p id="kept" class="kept" style="display:block">f</p>'
        '<p id="narrow" class="narrow">g</p><p id="printed" class="printed">h</p>'
        '<p id="forced" class="forced" style="color:#000000">i</p>',
        head,
    )
    look = {element.get("id"): styles.look(element) for element in document.iter("p", "span")}
    assert look["gone"].hidden == "hidden with display:none"
    assert look["pale"].colour.hex == "#eeeeee" and look["dark"].colour.hex == "#111111"
    assert look["big"].size == 30 and look["small"].size == 16
    assert look["kept"].hidden is None
    assert look["narrow"].hidden is None and look["printed"].hidden is None
    assert look["forced"].colour.hex == "#ff0000"


def test_visible_text_skips_hidden_parts_and_keeps_alt_text():
    styles, document = _styles(
        '<div id="all">Seen <span hidden>unseen</span><img alt="a logo" src="x.png">'
        '<span style="font-size:1px">tiny</span> and kept</div>'
    )
    assert styles.text(document.get_element_by_id("all")) == "Seen a logo and kept"
    assert styles.page_text == "Seen a logo and kept"
    assert [text for _element, _look, text in styles.texts] == ["Seen and kept"]


def test_one_walk_serves_every_family(project_dir, monkeypatch):
    sheets = []
    original = styles_module.style_sheet

    def counted(*args):
        sheets.append(args)
        return original(*args)

    monkeypatch.setattr(styles_module, "style_sheet", counted)
    check = _check(project_dir)
    assert checks.findings(check) == []
    assert len(sheets) == 1


def test_transparent_text_hides_the_unsubscribe_link(project_dir):
    hidden = '<a href="{{ slot.unsubscribe_url }}" style="color:transparent">unsubscribe</a>'
    _override(project_dir, FOOTER, UNSUBSCRIBE, hidden)
    [finding] = compliance.findings(_check(project_dir))
    assert finding.rule == "compliance.unsubscribe-link"
    assert finding.message == "the unsubscribe link cannot be seen: its text colour is transparent"


def test_hidden_text_is_left_out_of_the_legibility_rules(project_dir):
    tiny = f'<span hidden style="font-size:9px;color:#fafafa">{UNSUBSCRIBE}</span>'
    _override(project_dir, FOOTER, UNSUBSCRIBE, tiny)
    assert accessibility.findings(_check(project_dir)) == []


def test_a_head_style_rule_colours_text_for_the_legibility_rules(project_dir):
    """For the readers whose client keeps the ``<style>`` block."""
    style = "<mj-style>.small p { color: #f4f4f4 }</mj-style>"
    _override(project_dir, MAIN, "</mj-head>", f"{style}\n</mj-head>")
    [finding] = accessibility.findings(_check(project_dir))
    assert finding.rule == "accessibility.contrast" and finding.severity is Severity.ERROR
    assert "is #f4f4f4 on #eef1f5" in finding.message
