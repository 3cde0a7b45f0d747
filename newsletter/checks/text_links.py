"""The plain-text part carries every link of the HTML part: its readers (and the spam
filters that compare the two parts) must not lose a destination, least of all the
unsubscribe link."""

from __future__ import annotations

import re

from lxml.html import HtmlElement

from newsletter.checks.context import CheckInput
from newsletter.checks.findings import Finding, Severity
from newsletter.checks.rules import Rule
from newsletter.checks.text_leftovers import TEXT_TEMPLATE

RULES = (
    Rule(
        "text.link-missing",
        Severity.ERROR,
        "A link that only the HTML part has is lost to everyone reading the plain-text "
        "part, and a text part that differs from the HTML looks like spam to filters.",
    ),
)

_URL = re.compile(r"(?:https?://|mailto:)\S+", re.IGNORECASE)
_TRAILING = ".,;:!?)]}>'\"’”"
_SLOT = re.compile(r"\[\[nl:[^\]\s]+\]\]|\*\|[^|*\s][^|*]*\|\*")


def findings(check: CheckInput) -> list[Finding]:
    text = check.compiled.text
    carried = _urls_in(text)
    slots = {slot for slot in check.delivery.merge_tags.slots.values() if slot}
    found: list[Finding] = []
    seen: set[str] = set()
    for link in check.elements("a"):
        href = (link.get("href") or "").strip()
        if not href or href in seen:
            continue
        seen.add(href)
        if href in slots or _SLOT.fullmatch(href):
            missing = href not in text
        elif href[:7].lower() in ("http://", "https:/", "mailto:"):
            missing = href not in carried
        else:
            continue
        if missing:
            found.append(_missing(check, link, href))
    return found


def _urls_in(text: str) -> set[str]:
    """Every address in ``text``, each also without the punctuation that may close the
    sentence or bracket around it (``(https://example.org).``)."""
    found = set()
    for match in _URL.finditer(text):
        url = match.group()
        found.add(url)
        while url and url[-1] in _TRAILING:
            url = url[:-1]
            found.add(url)
    return found


def _missing(check: CheckInput, link: HtmlElement, href: str) -> Finding:
    section = check.section_of(link)
    if section is not None:
        template = f"sections/{check.issue.sections[section].type}.txt.j2"
    else:
        template = TEXT_TEMPLATE
    label = " ".join(link.text_content().split())
    named = f"'{label}' ({href})" if label and label != href else href
    return Finding(
        "text.link-missing",
        Severity.ERROR,
        f"the link {named} is in the HTML part but not in the plain-text part",
        f"add it to the plain-text template {template}, next to the text it belongs to",
        check.place_of(link, href),
    )
