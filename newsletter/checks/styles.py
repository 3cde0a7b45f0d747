"""How each element of the compiled HTML looks to a reader, worked out in one walk of
the document that every family shares: font size, weight, text colour, the colour
behind it, and whether (and why) nobody can see it.

The inline ``style``, the ``<style>`` rules for every screen (``declared``), the
presentational attributes (``bgcolor``, ``<font color size>``, ``hidden``) and the
browser's defaults for headings and links decide. Sizes are followed down the tree
rather than read off one element: MJML's own ``font-size:0px`` on table cells is
harmless because the text inside sets its own size.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property, lru_cache
from typing import NamedTuple

from lxml.html import HtmlElement

from newsletter.checks.colours import BLACK, WHITE, Colour, over, parse_colour
from newsletter.checks.declared import PROPERTIES, ROOT_SIZE, Declared, declared
from newsletter.checks.stylesheet import StyleRule, StyleSheet, style_sheet

MIN_READABLE_PX = 4.0
"""Text smaller than this (in CSS pixels) is taken as hidden."""

LINK = Colour(0.0, 0.0, 0.933333)
"""The colour browsers give a link that sets none of its own (#0000ee)."""

NOT_ON_PAGE = "it is not part of the page"

_HEADING_SCALE = {"h1": 2.0, "h2": 1.5, "h3": 1.17, "h4": 1.0, "h5": 0.83, "h6": 0.67}
_TAG_SCALE = {**_HEADING_SCALE, "small": 1 / 1.2, "big": 1.2, "sub": 1 / 1.2, "sup": 1 / 1.2}
_BOLD_TAGS = frozenset({*_HEADING_SCALE, "b", "strong", "th"})
_FONT_SIZES = {1: 10.0, 2: 13.0, 3: 16.0, 4: 18.0, 5: 24.0, 6: 32.0, 7: 48.0}
_UNSEEN_TAGS = frozenset({"head", "style", "script", "title", "template", "noscript"})
_BLOCKS = frozenset(
    {"p", "div", "td", "th", "tr", "li", "br", "h1", "h2", "h3", "h4", "h5", "h6", "table"}
)
_ZERO_WIDTH = "\u200b\u200c\u200d\u034f\u2060\ufeff\u00ad"


@dataclass(frozen=True, slots=True)
class Look:
    """How one element looks to a reader, inherited values worked in."""

    size: float
    """Font size in CSS pixels."""
    bold: bool
    colour: Colour
    """The text colour as declared, perhaps translucent."""
    backdrop: Colour | None
    """The opaque colour behind the element; None behind a background image."""
    hidden: str | None
    """Why a reader cannot see the element ("hidden with display:none"), or None."""
    small_print: bool
    """Inside an element of class ``small``."""
    gone: str | None = None
    """Why nothing at or below the element shows."""
    invisible: str | None = None
    """``visibility:hidden``, which a descendant can undo."""


ROOT = Look(ROOT_SIZE, False, BLACK, WHITE, None, False)

Text = tuple[HtmlElement, Look, str]


class Facts(NamedTuple):
    """Everything about one element that its look depends on, besides its parent's look."""

    tag: str
    style: str | None
    rules: tuple[StyleRule, ...]
    """The ``<style>`` rules that reach it."""
    classes: str | None
    hidden: str | None
    """The ``hidden`` attribute."""
    bgcolor: str | None
    colour: str | None
    """The ``color`` of a ``<font>``."""
    size: str | None
    """The ``size`` of a ``<font>``."""
    href: bool
    """An ``<a>`` with an ``href``: a link."""


def facts(element: HtmlElement, sheet: StyleSheet) -> tuple[object, ...]:
    """The fields of ``Facts``, as a plain tuple: cheap to build and to look up for the
    hundreds of elements whose look is already known."""
    tag = element.tag
    get = element.get
    head = (tag, get("style"), sheet.matching(element), get("class"), get("hidden"), get("bgcolor"))
    if tag == "font":
        return (*head, get("color"), get("size"), False)
    if tag == "a":
        return (*head, None, None, get("href") is not None)
    return (*head, None, None, False)


class Styles:
    """The look of every element of a document, computed on first use."""

    def __init__(self, document: HtmlElement) -> None:
        self._document = document

    @cached_property
    def _looks(self) -> dict[HtmlElement, Look]:
        """Elements with the same facts under parents that look the same look the same,
        so each distinct pair is worked out once (and equal looks are one object)."""
        sheet = style_sheet(self._document, PROPERTIES)
        found: dict[HtmlElement, Look] = {}
        interned: dict[Look, Look] = {ROOT: ROOT}
        known: dict[tuple[object, ...], Look] = {}
        for element in self._document.iter():
            if not isinstance(element.tag, str):
                continue
            parent = found.get(element.getparent(), ROOT)
            key = (id(parent), *facts(element, sheet))
            look = known.get(key)
            if look is None:
                look = look_of(Facts._make(key[1:]), parent)
                look = known[key] = interned.setdefault(look, look)
            found[element] = look
        return found

    def look(self, element: HtmlElement) -> Look | None:
        """How ``element`` looks; None for what is not an element of the document."""
        return self._looks.get(element)

    def hidden(self, element: HtmlElement) -> str | None:
        """Why a reader cannot see ``element``, or None."""
        look = self._looks.get(element)
        return look.hidden if look is not None else NOT_ON_PAGE

    @cached_property
    def texts(self) -> list[Text]:
        """Each element with text of its own that a reader sees, with its look and the
        text, in document order."""
        found = []
        for element, look in self._looks.items():
            if look.hidden is None:
                text = own_text(element)
                if text:
                    found.append((element, look, text))
        return found

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


def own_text(element: HtmlElement) -> str:
    """The text directly inside ``element``, not in its child elements."""
    parts = [element.text or ""]
    parts.extend(child.tail or "" for child in element)
    return " ".join("".join(parts).split()).strip(_ZERO_WIDTH + " ")


def look_of(element: Facts, parent: Look) -> Look:
    own = declared(element.rules, element.style or "")
    size = _size(element, own, parent.size)
    colour = _colour(element, own, parent.colour)
    gone = parent.gone or _gone(element, own)
    invisible = parent.invisible
    if own.visibility in ("hidden", "collapse"):
        invisible = f"hidden with visibility:{own.visibility}"
    elif own.visibility == "visible":
        invisible = None
    return Look(
        size=size,
        bold=_bold(element.tag, own, parent.bold),
        colour=colour,
        backdrop=_backdrop(element, own, parent.backdrop),
        hidden=gone or invisible or _unreadable(size, colour),
        small_print=parent.small_print or "small" in (element.classes or "").split(),
        gone=gone,
        invisible=invisible,
    )


def _gone(element: Facts, own: Declared) -> str | None:
    if element.tag in _UNSEEN_TAGS:
        return NOT_ON_PAGE
    if element.hidden is not None:
        return "hidden with the hidden attribute"
    return own.gone


def _unreadable(size: float, colour: Colour) -> str | None:
    if size < MIN_READABLE_PX:
        return f"its font size is {round(size, 1):g}px"
    if colour.alpha == 0:
        return "its text colour is transparent"
    return None


def _size(element: Facts, own: Declared, parent: float) -> float:
    if own.size is not None:
        factor, pixels = own.size
        return factor * parent + pixels
    size = parent * _TAG_SCALE.get(element.tag, 1.0)
    if element.size:
        size = _font_element_size(element.size, size)
    return size


def _font_element_size(value: str, default: float) -> float:
    value = value.strip()
    try:
        number = int(value)
    except ValueError:
        return default
    level = 3 + number if value[0] in "+-" else number
    return _FONT_SIZES[min(max(level, 1), 7)]


def _bold(tag: str, own: Declared, parent: bool) -> bool:
    if own.weight_inherits:
        return parent
    if own.weight is not None:
        return own.weight
    return parent or tag in _BOLD_TAGS or own.font_bold


def _colour(element: Facts, own: Declared, parent: Colour) -> Colour:
    if own.colour_inherits:
        return parent
    if own.colour is not None:
        return own.colour
    if element.colour:
        found = _attribute_colour(element.colour)
        if found is not None:
            return found
    return LINK if element.href else parent


def _backdrop(element: Facts, own: Declared, parent: Colour | None) -> Colour | None:
    """The colour behind the element's text: its own background over its parent's."""
    colour = own.background
    if colour is None and element.bgcolor:
        colour = _attribute_colour(element.bgcolor)
    if colour is None or colour.alpha == 0:
        return None if own.image else parent
    if colour.alpha >= 1:
        return colour
    return None if parent is None else over(colour, parent)


@lru_cache(maxsize=256)
def _attribute_colour(value: str) -> Colour | None:
    found = parse_colour(value)
    return found if isinstance(found, Colour) else None
