"""The fallbacks MJML builds into its output, and the gaps that cost the reader nothing.

A client that lacks a feature is not reported where one of these holds for the use:

- conditional: inside ``@media`` or ``@supports`` (or a ``<style media=…>``), or that rule
  itself. Responsive and dark-mode rules are extras over base styles that work alone.
- dark mode: ``color-scheme`` and its ``<meta>``: without them the light design shows.
- head styles: a ``<style>`` in ``<head>``. The styles the layout needs are inlined
  (``mj-style inline``, ``mj-attributes``); the head keeps resets and the extras above.
- Outlook tables: ``max-width``, when the document has ``<!--[if mso]>`` tables, with
  which MJML gives Outlook each section's width.
- Outlook VML: background images, when the document has the VML (``<v:rect>``,
  ``<v:image>``) that MJML draws them with for Outlook.
- hidden text: the preview text is hidden with ``display:none`` and ``max-height:0``,
  ``overflow:hidden`` or ``opacity:0`` at once; each backs the others.
- initial values: ``word-spacing:normal``, ``outline:none``, ``height:auto`` and the like
  ask for what a client that ignores them shows anyway.
- body wrapper: a client that drops ``<body>`` keeps MJML's wrapping ``<div>``, which
  repeats the body's styles.
- jump links: a link to ``#section`` in the same email; where the jump does nothing the
  reader scrolls to the same place.
- harmless: ``target``, ``loading``, ``role`` and ``aria-*`` attributes, ``cursor`` and
  ``border-radius``: where ignored, links still open, images still load and the layout
  stands (corners are square); only the hint is lost.
- wrapping: ``word-break``, which MJML sets on every text cell; where ignored, text
  wraps between words as usual.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from lxml.html import HtmlElement

from newsletter.checks.client_css import property_slug
from newsletter.checks.client_support import Use

_INITIAL: dict[str, frozenset[str]] = {
    **dict.fromkeys(
        ("word-spacing", "letter-spacing", "white-space", "word-break", "overflow-wrap"),
        frozenset({"normal"}),
    ),
    **dict.fromkeys(("height", "width", "z-index", "cursor"), frozenset({"auto"})),
    **dict.fromkeys(("min-height", "min-width"), frozenset({"0", "0px", "auto"})),
    **dict.fromkeys(
        (
            "max-height",
            "max-width",
            "float",
            "box-shadow",
            "text-shadow",
            "transform",
            "filter",
            "text-transform",
            "background-image",
            "outline",
            "outline-style",
        ),
        frozenset({"none"}),
    ),
    **dict.fromkeys(("border-spacing", "border-radius"), frozenset({"0", "0px"})),
    "background-size": frozenset({"auto", "auto auto"}),
    "background-repeat": frozenset({"repeat"}),
    "background-position": frozenset({"0 0", "0% 0%", "left top", "top left"}),
    "word-wrap": frozenset({"normal"}),
    "position": frozenset({"static"}),
    "opacity": frozenset({"1"}),
    "visibility": frozenset({"visible"}),
}
"""Each property's initial value, as the compiler writes it."""

_HIDING = frozenset(
    {
        ("max-height", "0"),
        ("max-height", "0px"),
        ("overflow", "hidden"),
        ("opacity", "0"),
        ("visibility", "hidden"),
    }
)


@dataclass(frozen=True)
class Facts:
    """What the fallbacks ask of the whole document, gathered once."""

    mso_tables: bool
    vml: bool
    anchors: frozenset[str]
    hidden: frozenset[HtmlElement]
    body_repeated: bool

    @classmethod
    def gather(cls, html: str, document: HtmlElement, uses: Iterable[Use]) -> Facts:
        declared: dict[HtmlElement, set[tuple[str, str]]] = defaultdict(set)
        for use in uses:
            if use.inline and use.prop:
                declared[use.element].add((use.prop, use.value))
        hidden = frozenset(
            element
            for element, pairs in declared.items()
            if ("display", "none") in pairs and pairs & _HIDING
        )
        return cls(
            mso_tables="<!--[if mso" in html,
            vml="<v:" in html,
            anchors=frozenset(str(name) for name in document.xpath("//@id|//@name")),
            hidden=hidden,
            body_repeated=_body_repeated(document, declared),
        )


def _body_repeated(
    document: HtmlElement, declared: dict[HtmlElement, set[tuple[str, str]]]
) -> bool:
    body = document.find("body")
    if body is None:
        return True
    own = {(prop, value) for prop, value in declared.get(body, set()) if not _initial(prop, value)}
    return any(own <= declared.get(child, set()) for child in body if child.tag == "div")


def _parent_tag(use: Use) -> str | None:
    parent = use.element.getparent()
    return None if parent is None else parent.tag


def _initial(prop: str, value: str) -> bool:
    return value in _INITIAL.get(prop, ())


@dataclass(frozen=True)
class Fallback:
    name: str
    test: Callable[[Use, Facts], bool]
    slugs: frozenset[str] = frozenset()
    """The features it backs; empty for any."""
    clients: frozenset[str] = frozenset()
    """The clients it backs; empty for every one."""

    def backs(self, use: Use, client: str, facts: Facts) -> bool:
        return (
            (not self.slugs or use.slug in self.slugs)
            and (not self.clients or client in self.clients)
            and self.test(use, facts)
        )


def _always(use: Use, facts: Facts) -> bool:
    return True


FALLBACKS: tuple[Fallback, ...] = (
    Fallback("conditional", lambda use, facts: use.conditional),
    Fallback(
        "dark mode",
        _always,
        frozenset({"css-color-scheme", "html-meta-color-scheme"}),
    ),
    Fallback(
        "head styles",
        lambda use, facts: _parent_tag(use) == "head",
        frozenset({"html-style"}),
    ),
    Fallback(
        "Outlook tables",
        lambda use, facts: facts.mso_tables,
        frozenset({"css-max-width"}),
        frozenset({"outlook"}),
    ),
    Fallback(
        "Outlook VML",
        lambda use, facts: facts.vml,
        frozenset(
            {
                "css-background-image",
                "css-background-position",
                "css-background-repeat",
                "css-background-size",
            }
        ),
        frozenset({"outlook"}),
    ),
    Fallback(
        "hidden text",
        lambda use, facts: use.element in facts.hidden,
        frozenset(
            {
                "css-display-none",
                "css-max-height",
                "css-max-width",
                "css-opacity",
                "css-overflow",
                "css-visibility",
            }
        ),
    ),
    Fallback(
        "initial values",
        lambda use, facts: _initial(use.prop, use.value) and property_slug(use.prop) == use.slug,
    ),
    Fallback("body wrapper", lambda use, facts: facts.body_repeated, frozenset({"html-body"})),
    Fallback(
        "jump links",
        lambda use, facts: use.value[1:] in facts.anchors,
        frozenset({"html-anchor-links"}),
    ),
    Fallback(
        "harmless",
        _always,
        frozenset(
            {
                "html-target",
                "html-loading-attribute",
                "html-role",
                "html-aria-describedby",
                "html-aria-hidden",
                "html-aria-label",
                "html-aria-labelledby",
                "html-aria-live",
                "css-cursor",
                "css-border-radius",
            }
        ),
    ),
    Fallback("wrapping", _always, frozenset({"css-word-break"})),
)
