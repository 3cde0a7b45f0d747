"""Leftovers: template syntax and merge slots that nothing fills, so readers see them.

Jinja (``{{``, ``{%``, ``{#``) in the compiled email was never rendered: it came from a
campaign field or from a template that prints it literally. A slot is filled only when
the provider knows it: the local provider fills the ``[[nl:...]]`` slots of
``LOCAL_TAGS`` in the body (never in the subject, which every recipient shares),
Mailchimp fills ``*|...|*`` tags everywhere.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from lxml.html import HtmlElement

from newsletter.checks.context import TEXT_TEMPLATE, CheckInput
from newsletter.checks.findings import Finding, Place, Severity, Source
from newsletter.checks.rules import Rule
from newsletter.render.merge import SLOT_NAMES

RULES = (
    Rule(
        "text.template-leftover",
        Severity.ERROR,
        "Template syntax that was never rendered ({{ ... }}, {% ... %}, {# ... #}) reaches "
        "every reader as written.",
    ),
    Rule(
        "text.unfilled-slot",
        Severity.ERROR,
        "A merge slot the provider does not fill (a misspelt [[nl:...]] slot, a Mailchimp "
        "*|...|* tag sent by the local provider, or the reverse) reaches readers as "
        "written, often in place of their name or an unsubscribe link.",
    ),
)

_SLOT = "text.unfilled-slot"
_MARKERS = ("{{", "{%", "{#", "[[nl:", "*|")
_TOKEN = re.compile(
    r"(?P<jinja>\{[{%#])"
    r"|\[\[nl:(?P<slot>[^\]\s]{0,40})\]\]"
    r"|(?P<star>\*\|[^|*\s][^|*\n]{0,60}\|\*)"
)
_JINJA_END = re.compile(r"[}%#]\}")


@dataclass(frozen=True)
class _Leftover:
    rule: str
    token: str
    why: str
    fix: str


_JINJA_FIX = (
    "remove it from the campaign file, or fix the template that prints it; campaign "
    "fields are plain text and Markdown, never templates"
)
_NAMES_FIX = "use one of the slots " + ", ".join(f"[[nl:{name}]]" for name in SLOT_NAMES)
_SUBJECT_FIX = "remove it: every reader gets the same subject; greet them by name in the body"


def findings(check: CheckInput) -> list[Finding]:
    compiled = check.compiled
    subject, preview = check.issue.subject, check.issue.preview_text
    parts = (compiled.html, compiled.text, subject, preview)
    if not any(marker in part for part in parts for marker in _MARKERS):
        return []
    found: dict[str, Finding] = {}
    for leftover in _leftovers(check, subject, in_subject=True):
        found.setdefault(leftover.token, _finding(leftover, Place(field=("subject",))))
    for leftover in _leftovers(check, preview):
        found.setdefault(leftover.token, _finding(leftover, Place(field=("preview_text",))))
    for element, value in _html_strings(check):
        for leftover in _leftovers(check, value):
            if leftover.token not in found:
                found[leftover.token] = _finding(leftover, check.place_of(element, leftover.token))
    for leftover in _leftovers(check, compiled.text):
        if leftover.token not in found:
            field = check.field_holding([leftover.token])
            place = Place(field=field) if field else Place(Source.TEMPLATE, name=TEXT_TEMPLATE)
            found[leftover.token] = _finding(leftover, place)
    return list(found.values())


def _html_strings(check: CheckInput) -> Iterator[tuple[HtmlElement, str]]:
    """Every text, tail and attribute value in the HTML that holds a marker. Style
    sheets and comments are left out: readers never see them, and CSS braces can look
    like ``{#``."""
    for element in check.elements():
        values = [element.tail]
        if isinstance(element.tag, str):
            if element.tag != "style":
                values.append(element.text)
            values.extend(element.attrib.values())
        for value in values:
            if value and ("{" in value or "[[" in value or "*|" in value):
                yield element, value


def _leftovers(check: CheckInput, text: str, *, in_subject: bool = False) -> Iterator[_Leftover]:
    slots = check.delivery.merge_tags.slots.values()
    fills_local = any(slot.startswith("[[nl:") for slot in slots)
    fills_star = any("*|" in slot for slot in slots)
    provider = f"the {check.delivery.provider} provider"
    example = check.delivery.merge_tags.slots.get("first_name", "")
    foreign = f"remove it, or write the slot the way {provider} does (e.g. {example})"
    for match in _TOKEN.finditer(text):
        token = match.group()
        if match.group("jinja"):
            yield _Leftover(
                "text.template-leftover", _jinja(text, match), "it was never rendered", _JINJA_FIX
            )
        elif match.group("slot") is not None:
            if not fills_local:
                yield _Leftover(_SLOT, token, f"{provider} does not fill it", foreign)
            elif match.group("slot") not in SLOT_NAMES:
                yield _Leftover(_SLOT, token, "no slot has this name", _NAMES_FIX)
            elif in_subject:
                yield _Leftover(_SLOT, token, "slots are not filled in the subject", _SUBJECT_FIX)
        elif not fills_star:
            yield _Leftover(_SLOT, token, f"a Mailchimp tag, which {provider} leaves", foreign)


def _jinja(text: str, opener: re.Match[str]) -> str:
    """The template tag from its opener to its closer, or a short stretch when unclosed."""
    start = opener.start()
    end = _JINJA_END.search(text, opener.end(), start + 80)
    return text[start : end.end() if end else start + 30].partition("\n")[0].strip()


def _finding(leftover: _Leftover, place: Place) -> Finding:
    return Finding(
        leftover.rule,
        Severity.ERROR,
        f"'{leftover.token}' would reach readers as written: {leftover.why}",
        leftover.fix,
        place,
    )
