"""Whether a reader can see an element, and the text they can see inside it.

An element is out of sight when it or an ancestor is ``display:none``, ``opacity:0``,
``hidden``, ``mso-hide:all`` (Outlook), or a box of zero height or width that hides its
overflow; when ``visibility:hidden`` reaches it; or when its font size works out below
a size anyone can read. MJML's own ``font-size:0px`` on table cells is harmless because
the text inside sets its own size, which is why sizes are followed down the tree rather
than read off one element.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property

from lxml.html import HtmlElement

from newsletter.checks.stylesheet import Declaration, StyleRule, inline_declarations, style_rules

MIN_READABLE_PX = 4.0
"""Text smaller than this (in CSS pixels) is treated as hidden."""

_NOT_RENDERED = frozenset({"head", "style", "script", "title", "template", "noscript"})
_BLOCKS = frozenset(
    {"p", "div", "td", "th", "tr", "li", "br", "h1", "h2", "h3", "h4", "h5", "h6", "table"}
)
_LENGTH = re.compile(r"^([0-9]*\.?[0-9]+)([a-z%]*)$")
_ABSOLUTE = {"px": 1.0, "pt": 4 / 3, "pc": 16.0, "in": 96.0, "cm": 96 / 2.54, "mm": 96 / 25.4}
_RELATIVE = {"em": 1.0, "%": 0.01, "ex": 0.5, "ch": 0.5}
_KEYWORDS = {
    "xx-small": 9.0,
    "x-small": 10.0,
    "small": 13.0,
    "medium": 16.0,
    "large": 18.0,
    "x-large": 24.0,
    "xx-large": 32.0,
}
_ZERO_BOX = ("height", "max-height", "width", "max-width")


@dataclass(frozen=True, slots=True)
class _State:
    gone: str | None = None
    """Why nothing at or below this element shows."""
    invisible: str | None = None
    """``visibility:hidden``, which a descendant can undo."""
    font_px: float = 16.0

    @property
    def reason(self) -> str | None:
        if self.gone or self.invisible:
            return self.gone or self.invisible
        if self.font_px < MIN_READABLE_PX:
            return f"its font size is {round(self.font_px, 1):g}px"
        return None


_ROOT = _State()


class Visibility:
    """The document's elements with what hides each; computed once, on first use."""

    def __init__(self, document: HtmlElement) -> None:
        self._document = document

    @cached_property
    def _rules(self) -> list[StyleRule]:
        return style_rules(self._document)

    @cached_property
    def _states(self) -> dict[HtmlElement, _State]:
        states: dict[HtmlElement, _State] = {}
        for element in self._document.iter():
            if not isinstance(element.tag, str):
                continue
            above = states.get(element.getparent(), _ROOT)
            states[element] = _apply(above, self._declared(element), element)
        return states

    def _declared(self, element: HtmlElement) -> dict[str, str]:
        """The hiding properties that apply to ``element``: style rules, then its
        ``style`` attribute, then the ``!important`` ones in the same order."""
        found: list[Declaration] = [
            declaration
            for rule in self._rules
            if rule.matches(element)
            for declaration in rule.declarations
        ]
        style = element.get("style")
        if style:
            found.extend(inline_declarations(style))
        declared = {name: value for name, value, important in found if not important}
        declared.update((name, value) for name, value, important in found if important)
        return declared

    def hidden(self, element: HtmlElement) -> str | None:
        """Why a reader cannot see ``element`` ("hidden with display:none"), or None."""
        state = self._states.get(element)
        return state.reason if state is not None else "it is not part of the page"

    def text(self, element: HtmlElement) -> str:
        """The text a reader sees in ``element`` (an image's alt text included), with
        white space collapsed."""
        pieces: list[str] = []
        self._collect(element, pieces)
        return " ".join("".join(pieces).split())

    @cached_property
    def page_text(self) -> str:
        return self.text(self._document)

    def _collect(self, element: HtmlElement, pieces: list[str]) -> None:
        shown = self.hidden(element) is None
        block = element.tag in _BLOCKS
        if block:
            pieces.append(" ")
        if shown and element.text:
            pieces.append(element.text)
        if shown and element.tag == "img" and element.get("alt"):
            pieces.append(f" {element.get('alt')} ")
        for child in element:
            if isinstance(child.tag, str):
                self._collect(child, pieces)
            if shown and child.tail:
                pieces.append(child.tail)
        if block:
            pieces.append(" ")


def _apply(above: _State, declared: dict[str, str], element: HtmlElement) -> _State:
    gone = above.gone or _gone(declared, element)
    invisible = above.invisible
    visibility = declared.get("visibility")
    if visibility in ("hidden", "collapse"):
        invisible = f"hidden with visibility:{visibility}"
    elif visibility == "visible":
        invisible = None
    font_px = _font_px(declared.get("font-size"), above.font_px)
    if (gone, invisible, font_px) == (above.gone, above.invisible, above.font_px):
        return above
    return _State(gone, invisible, font_px)


def _gone(declared: dict[str, str], element: HtmlElement) -> str | None:
    if element.tag in _NOT_RENDERED:
        return "it is not part of the page"
    if element.get("hidden") is not None:
        return "hidden with the hidden attribute"
    if declared.get("display") == "none":
        return "hidden with display:none"
    if _is_zero(declared.get("opacity")):
        return "hidden with opacity:0"
    if declared.get("mso-hide") == "all":
        return "hidden from Outlook with mso-hide:all"
    if declared.get("overflow") == "hidden":
        for name in _ZERO_BOX:
            if _is_zero(declared.get(name)):
                return f"hidden in a box with {name}:0 and overflow:hidden"
    return None


def _is_zero(value: str | None) -> bool:
    found = _LENGTH.match(value or "")
    return found is not None and float(found[1]) == 0


def _font_px(value: str | None, inherited: float) -> float:
    """The font size a ``font-size`` value gives, in CSS pixels; unknown values inherit."""
    if value is None:
        return inherited
    if value in _KEYWORDS:
        return _KEYWORDS[value]
    found = _LENGTH.match(value)
    if found is None:
        return inherited
    number, unit = float(found[1]), found[2]
    if number == 0:
        return 0.0
    if unit in _ABSOLUTE:
        return number * _ABSOLUTE[unit]
    if unit in _RELATIVE:
        return number * _RELATIVE[unit] * inherited
    if unit == "rem":
        return number * 16.0
    return inherited
