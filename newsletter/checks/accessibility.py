"""Accessibility: what a screen reader announces and what a reader with low vision can
read, checked on the compiled HTML (so a template override is checked too)."""

from __future__ import annotations

from lxml.html import HtmlElement

from newsletter.checks import legibility
from newsletter.checks.context import MAIN_TEMPLATE, CheckInput
from newsletter.checks.findings import Finding, Place, Severity, Source
from newsletter.checks.rules import Rule

RULES = (
    Rule(
        "accessibility.lang",
        Severity.ERROR,
        "Without the language on <html>, screen readers read the issue with the voice "
        "and pronunciation of whatever language the reader's device is set to.",
    ),
    Rule(
        "accessibility.dir",
        Severity.WARNING,
        'Without dir="ltr" or dir="rtl" an email client guesses the text direction, '
        "and punctuation and lists can come out mirrored.",
    ),
    Rule(
        "accessibility.title",
        Severity.ERROR,
        "The <title> is what a screen reader announces first and what a browser tab "
        "shows for the web version; an empty one leaves the reader guessing.",
    ),
    Rule(
        "accessibility.layout-table",
        Severity.WARNING,
        'A table used for layout without role="presentation" is read out as a data '
        "table, row by row and cell by cell, before the reader reaches the text.",
    ),
    Rule(
        "accessibility.heading-order",
        Severity.WARNING,
        "Screen reader users move through an email by its headings: a skipped level or "
        "a second top-level heading makes the outline look as if something is missing.",
    ),
    Rule(
        legibility.TEXT_SIZE,
        Severity.WARNING,
        f"Body text under {legibility.BODY_MIN_PX:g} px (small print under "
        f"{legibility.SMALL_PRINT_MIN_PX:g} px) is hard to read on a phone and for anyone "
        "with less than perfect sight.",
    ),
    Rule(
        legibility.CONTRAST,
        Severity.ERROR,
        f"Text needs a contrast ratio of {legibility.NORMAL_RATIO:g}:1 with its background "
        f"({legibility.LARGE_RATIO:g}:1 when large) to be readable with low vision or on a "
        "phone in sunlight (WCAG 2.2 AA).",
    ),
)

_TEMPLATE = Place(Source.TEMPLATE, name=MAIN_TEMPLATE)
_PRESENTATION = frozenset({"presentation", "none"})
_HEADINGS = ("h1", "h2", "h3", "h4", "h5", "h6")


def findings(check: CheckInput) -> list[Finding]:
    found = [*_document(check), *_layout_tables(check), *_headings(check)]
    texts = check.styles.texts
    found += legibility.text_size(check, texts)
    found += legibility.contrast_findings(check, texts)
    return found


def _document(check: CheckInput) -> list[Finding]:
    root = check.document
    found = []
    lang = (root.get("lang") or "").strip()
    if not lang or lang.lower() == "und":
        found.append(
            Finding(
                "accessibility.lang",
                Severity.ERROR,
                "the email does not say which language it is in",
                'set lang="{{ project.language }}" on the <mjml> tag of the template',
                _TEMPLATE,
            )
        )
    if (root.get("dir") or "").strip().lower() not in ("ltr", "rtl"):
        found.append(
            Finding(
                "accessibility.dir",
                Severity.WARNING,
                "the email does not say whether its text runs left to right or right to left",
                'set dir="{{ project.direction }}" on the <mjml> tag of the template',
                _TEMPLATE,
            )
        )
    title = root.find("head/title")
    if title is None or not title.text_content().strip():
        found.append(
            Finding(
                "accessibility.title",
                Severity.ERROR,
                "the email has no title",
                "put <mj-title>{{ issue.subject }}</mj-title> in the <mj-head> of the template",
                _TEMPLATE,
            )
        )
    return found


def _layout_tables(check: CheckInput) -> list[Finding]:
    """Tables without a header cell or caption of their own lay the email out; each
    needs ``role="presentation"``. One finding per place, with how many lack it."""
    data = {_table_of(cell) for cell in check.elements("th", "caption")}
    missing: dict[Place, int] = {}
    for table in check.elements("table"):
        if table in data or (table.get("role") or "").strip().lower() in _PRESENTATION:
            continue
        place = check.place_of(table)
        missing[place] = missing.get(place, 0) + 1
    return [
        Finding(
            "accessibility.layout-table",
            Severity.WARNING,
            f"{count} layout table{' lacks' if count == 1 else 's lack'} "
            'role="presentation", so screen readers announce rows and cells',
            'add role="presentation" to each <table> that only arranges the layout',
            place,
        )
        for place, count in missing.items()
    ]


def _table_of(cell: HtmlElement) -> HtmlElement | None:
    return next(cell.iterancestors("table"), None)


def _headings(check: CheckInput) -> list[Finding]:
    found = []
    previous = 0
    seen_top = False
    for heading in check.elements(*_HEADINGS):
        level = int(heading.tag[1])
        text = " ".join(heading.text_content().split())
        if level == 1 and seen_top:
            message = f"'{text}' is a second top-level heading; the issue title is the first"
            fix = "make it a level 2 heading or lower (## in Markdown)"
        elif previous and level > previous + 1:
            message = f"the heading '{text}' jumps from level {previous} to level {level}"
            fix = (
                f"make it a level {previous + 1} heading ({'#' * (previous + 1)} in "
                "Markdown), or add the heading that belongs in between"
            )
        else:
            message = ""
        if message:
            place = _heading_place(check, heading, level, text)
            found.append(
                Finding("accessibility.heading-order", Severity.WARNING, message, fix, place)
            )
        seen_top = seen_top or level == 1
        previous = level
    return found


def _heading_place(check: CheckInput, heading: HtmlElement, level: int, text: str) -> Place:
    """The campaign field with the Markdown heading when it can be found, else the
    field holding its text, the section, or the template."""
    place = check.place_of(heading, text)
    if place.source is Source.CAMPAIGN and text:
        base = place.field[:2] if place.field[:1] == ("sections",) else ()
        found = check.field_holding([f"{'#' * level} {text}"], base)
        if found is not None:
            return Place(field=found)
    return place
