"""Links: where each link of the compiled issue goes, and whether its text says so.

Campaign files only take https:// and mailto: links, so most of what these rules catch
comes from a template (an override, the footer, the "In this issue" list). The
provider's merge tags (``[[nl:unsubscribe_url]]``, ``*|UNSUB|*``) are links the provider
fills in for each recipient and are accepted as they are.
"""

from __future__ import annotations

import html
import re
import string
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import unquote

from lxml.html import HtmlElement

from newsletter.checks.context import TEXT_TEMPLATE, CheckInput
from newsletter.checks.findings import Finding, Place, Severity, Source
from newsletter.checks.rules import Rule
from newsletter.render.merge import MergeTags

RULES = (
    Rule(
        "links.insecure",
        Severity.WARNING,
        "An http:// link travels unencrypted: a network between the reader and the site "
        "can read or change the page, and browsers mark it as not secure.",
    ),
    Rule(
        "links.javascript",
        Severity.ERROR,
        "Email clients refuse javascript: (and vbscript:) links and spam filters take them "
        "for an attack: the link does nothing and the issue is likely to land in spam.",
    ),
    Rule(
        "links.scheme",
        Severity.ERROR,
        "Only https:, http:, mailto: and tel: links and the provider's own merge tags work "
        "in an email; a relative address, file:, data: or another provider's tag leads "
        "nowhere.",
    ),
    Rule(
        "links.empty",
        Severity.ERROR,
        "A link with no address, or only '#', does nothing when clicked: readers take the "
        "email for broken.",
    ),
    Rule(
        "links.anchor",
        Severity.ERROR,
        "A link to a place in the email ('In this issue') whose target is missing does "
        "nothing when clicked.",
    ),
    Rule(
        "links.text",
        Severity.WARNING,
        "Screen reader users often hear links out of context; 'click here', 'read more' or "
        "a bare address does not say where a link goes (WCAG 2.4.4).",
    ),
)

SAFE_SCHEMES = frozenset({"https", "mailto", "tel"})

VAGUE_TEXTS = frozenset(
    {
        "click here",
        "click",
        "here",
        "read more",
        "learn more",
        "more",
        "this link",
        "link",
        "this",
    }
)
"""Link texts that say nothing of where the link goes, compared in lower case without
surrounding punctuation."""

SLOT_SYNTAXES = (
    re.compile(r"\[\[nl:[a-z_]+\]\]"),
    re.compile(r"\*\|[A-Z0-9_:]+\|\*"),
)
"""How the providers write a merge tag: the local ``[[nl:...]]`` and Mailchimp's
``*|...|*``."""

_SCHEME = re.compile(r"([a-z][a-z0-9+.-]*):")
_C0_AND_SPACE = "".join(chr(code) for code in range(0x21))
_TAB_OR_NEWLINE = re.compile(r"[\t\n\r]")
_BARE_URL = re.compile(r"(?:https?://|www\.)\S+", re.IGNORECASE)
_PLAIN_HTTP = re.compile(r"\bhttp://[^\s<>\"')\]]+", re.IGNORECASE)
_TRIM = string.punctuation + string.whitespace + "…»«›‹→←–—‘’“”"

_FIX_SCHEME = "use a full https:// address, a mailto: address or a tel: number"


@dataclass(frozen=True)
class _Verdict:
    rule: str
    message: str
    fix: str


def findings(check: CheckInput) -> list[Finding]:
    found: list[Finding] = []
    own_slots = _own_syntaxes(check.delivery.merge_tags)
    targets: frozenset[str] | None = None
    plain_http: set[str] = set()
    for element in check.elements("a", "area"):
        href = element.get("href")
        if href is None:
            continue
        text = link_text(element)
        if _fragment(href) and targets is None:
            targets = _targets(check)
        verdict = address_verdict(href, text, own_slots, targets or frozenset())
        if verdict is not None:
            found.append(_finding(check, verdict, element, href, text))
            if verdict.rule == "links.insecure":
                plain_http.add(href.strip())
        wording = text_verdict(href, text) if href.strip() else None
        if wording is not None:
            found.append(_finding(check, wording, element, href, text))
    found.extend(_text_part(check, plain_http))
    return found


def link_text(element: HtmlElement) -> str:
    """What a screen reader announces for a link: its aria-label, or its text with the
    alt text of the images inside it."""
    label = (element.get("aria-label") or "").strip()
    if label:
        return label
    parts = [element.text_content(), *(img.get("alt") or "" for img in element.iter("img"))]
    return " ".join(" ".join(parts).split())


def address_verdict(
    href: str, text: str, own_slots: tuple[re.Pattern[str], ...], targets: frozenset[str]
) -> _Verdict | None:
    """What is wrong with where a link goes, or None."""
    address = href.strip(_C0_AND_SPACE)
    called = f"the link '{text}'" if text else "a link"
    if not address:
        return _Verdict("links.empty", f"{called} has no address", _FIX_SCHEME)
    if _is_script(address):
        return _Verdict(
            "links.javascript",
            f"{called} runs a script ({_shown(address)}); email clients block it",
            "link to a page on the website instead, or remove the link",
        )
    if address == "#":
        return _Verdict("links.empty", f"{called} only points to '#' and goes nowhere", _FIX_SCHEME)
    fragment = _fragment(address)
    if fragment is not None:
        if fragment in targets or unquote(fragment) in targets:
            return None
        return _Verdict(
            "links.anchor",
            f"{called} jumps to '#{fragment}', but nothing in the email has that id",
            f'give the target element id="{fragment}", or link to an id that exists',
        )
    return _scheme_verdict(address, called, own_slots)


def _scheme_verdict(
    address: str, called: str, own_slots: tuple[re.Pattern[str], ...]
) -> _Verdict | None:
    if any(syntax.fullmatch(address) for syntax in own_slots):
        return None
    if any(syntax.fullmatch(address) for syntax in SLOT_SYNTAXES):
        return _Verdict(
            "links.scheme",
            f"{called} goes to {_shown(address)}, a merge tag this provider does not fill: "
            "it would reach readers as it is",
            "use the template's slot variables (slot.unsubscribe_url and the like) instead "
            "of writing a provider's tag",
        )
    scheme = _scheme_of(address)
    if scheme in SAFE_SCHEMES:
        return None
    if scheme == "http":
        return _Verdict(
            "links.insecure",
            f"{called} uses http:// ({_shown(address)}), which is not encrypted",
            "use the https:// address of the page",
        )
    if scheme is None:
        return _Verdict(
            "links.scheme",
            f"{called} goes to {_shown(address)}, which is not a full address",
            "write the whole address, starting with https://",
        )
    return _Verdict(
        "links.scheme", f"{called} uses the {scheme}: scheme ({_shown(address)})", _FIX_SCHEME
    )


def text_verdict(href: str, text: str) -> _Verdict | None:
    """What is wrong with what a link says, or None."""
    if not text:
        return _Verdict(
            "links.text",
            f"the link to {_shown(href.strip())} has no text a screen reader can read out",
            "give the link text, or give the image inside it alt text that says where it goes",
        )
    if text.strip(_TRIM).lower() in VAGUE_TEXTS:
        return _Verdict(
            "links.text",
            f"the link text '{text}' does not say where the link goes",
            "use words that name the destination, e.g. 'Read the safer sleep review'",
        )
    if _BARE_URL.fullmatch(text.strip()):
        return _Verdict(
            "links.text",
            f"the link text is the bare address '{text}'",
            "use words that name the destination; screen readers spell an address out",
        )
    return None


def _is_script(address: str) -> bool:
    """``javascript:`` however it is disguised: any case, entities (even twice
    encoded), and white space or invisible characters inside the word."""
    text = address
    for _ in range(3):
        decoded = html.unescape(text)
        if decoded == text:
            break
        text = decoded
    visible = "".join(ch for ch in text[:64] if unicodedata.category(ch)[0] not in "CZ")
    return visible.lower().startswith(("javascript:", "vbscript:"))


def _scheme_of(address: str) -> str | None:
    found = _SCHEME.match(_TAB_OR_NEWLINE.sub("", address).lower())
    return found.group(1) if found else None


def _fragment(href: str) -> str | None:
    address = href.strip(_C0_AND_SPACE)
    return address[1:] if address.startswith("#") and len(address) > 1 else None


def _targets(check: CheckInput) -> frozenset[str]:
    """Every id in the document and every ``<a name>``: where a ``#fragment`` can land."""
    return frozenset(str(value) for value in check.document.xpath("//@id | //a/@name"))


def _own_syntaxes(tags: MergeTags) -> tuple[re.Pattern[str], ...]:
    return tuple(
        syntax
        for syntax in SLOT_SYNTAXES
        if any(syntax.fullmatch(value) for value in tags.slots.values() if value)
    )


def _shown(address: str) -> str:
    """The address quoted, shortened, with invisible characters made visible."""
    short = f"{address[:77]}..." if len(address) > 80 else address
    visible = "".join(
        ch if ch.isprintable() else ch.encode("unicode_escape").decode() for ch in short
    )
    return f"'{visible}'"


def place_of_link(check: CheckInput, element: HtmlElement, *values: str) -> Place:
    """The field of the link's section that holds the first of ``values`` found there;
    the section, footer or template when none is in the campaign file."""
    plain = check.place_of(element)
    for value in values:
        if len(value.strip()) > 1:
            place = check.place_of(element, value.strip())
            if place != plain:
                return place
    return plain


def _wording_place(check: CheckInput, element: HtmlElement, href: str, text: str) -> Place:
    """Where a link's text is written: beside its address (a button's text, an image's
    alt) when the address has a field of its own, else where the address or text is."""
    place = place_of_link(check, element, href, text)
    if place.source is Source.CAMPAIGN and place.field and place.field[-1] in ("url", "href"):
        beside = check.field_holding([text], place.field[:-1])
        if beside is not None:
            return Place(field=beside)
    return place


def _finding(
    check: CheckInput, verdict: _Verdict, element: HtmlElement, href: str, text: str
) -> Finding:
    severity = next(rule.severity for rule in RULES if rule.id == verdict.rule)
    if verdict.rule == "links.text":
        place = _wording_place(check, element, href, text)
    else:
        place = place_of_link(check, element, href)
    return Finding(verdict.rule, severity, verdict.message, verdict.fix, place)


def _text_part(check: CheckInput, reported: set[str]) -> Iterator[Finding]:
    """http:// addresses in the plain-text part that the HTML did not already show:
    mail clients turn them into links."""
    seen = set(reported)
    for match in _PLAIN_HTTP.finditer(check.compiled.text):
        address = match.group().rstrip(".,;:!?")
        if address in seen:
            continue
        seen.add(address)
        field = check.field_holding([address])
        place = (
            Place(field=field) if field is not None else Place(Source.TEMPLATE, name=TEXT_TEMPLATE)
        )
        yield Finding(
            "links.insecure",
            Severity.WARNING,
            f"the plain-text part has the address '{address}', which is not encrypted",
            "use the https:// address of the page",
            place,
        )
