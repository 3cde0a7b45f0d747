"""How the compiled HTML looks where it counts for reading: each element's font size,
weight, text colour and the colour behind it, and whether anyone can see it.

Email clients drop ``<style>`` blocks often enough that the templates inline every rule
(MJML does), so the inline ``style``, the presentational attributes (``bgcolor``,
``<font color>``) and the browser's defaults for headings and links are what decide.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache

import tinycss2
from lxml.html import HtmlElement
from tinycss2.ast import Node

from newsletter.checks.colours import BLACK, WHITE, Colour, over, parse_colour

ROOT_SIZE = 16.0
LINK = Colour(0.0, 0.0, 0.933333)
"""The colour browsers give a link that sets none of its own (#0000ee)."""

_ABSOLUTE = {"px": 1.0, "pt": 4 / 3, "pc": 16.0, "in": 96.0, "cm": 96 / 2.54, "mm": 96 / 25.4}
_KEYWORDS = {
    "xx-small": 9.0,
    "x-small": 10.0,
    "small": 13.0,
    "medium": 16.0,
    "large": 18.0,
    "x-large": 24.0,
    "xx-large": 32.0,
    "xxx-large": 48.0,
}
_RELATIVE_KEYWORDS = {"smaller": 1 / 1.2, "larger": 1.2}
_HEADING_SCALE = {"h1": 2.0, "h2": 1.5, "h3": 1.17, "h4": 1.0, "h5": 0.83, "h6": 0.67}
_TAG_SCALE = {**_HEADING_SCALE, "small": 1 / 1.2, "big": 1.2, "sub": 1 / 1.2, "sup": 1 / 1.2}
_BOLD_TAGS = frozenset({*_HEADING_SCALE, "b", "strong", "th"})
_FONT_SIZES = {1: 10.0, 2: 13.0, 3: 16.0, 4: 18.0, 5: 24.0, 6: 32.0, 7: 48.0}
_UNSEEN_TAGS = frozenset({"script", "style", "template", "noscript", "head", "title"})
_INHERIT = frozenset({"inherit", "currentcolor", "unset"})
_ZERO_WIDTH = "\u200b\u200c\u200d\u034f\u2060\ufeff\u00ad"


@dataclass(frozen=True, slots=True)
class Look:
    size: float
    """Font size in CSS pixels."""
    bold: bool
    colour: Colour
    """The text colour as declared, perhaps translucent."""
    backdrop: Colour | None
    """The opaque colour behind the element; None behind a background image."""
    hidden: bool
    small_print: bool
    """Inside an element of class ``small``."""


ROOT = Look(ROOT_SIZE, False, BLACK, WHITE, False, False)

Declarations = Mapping[str, Sequence[Node]]


@lru_cache(maxsize=2048)
def declarations(style: str) -> Declarations:
    """An inline ``style`` as property -> value tokens; the last of a property wins."""
    found: dict[str, Sequence[Node]] = {}
    for node in tinycss2.parse_blocks_contents(style, skip_comments=True, skip_whitespace=True):
        if node.type == "declaration":
            found[node.lower_name] = tuple(
                token for token in node.value if token.type not in ("whitespace", "comment")
            )
    return found


def looks(body: HtmlElement) -> dict[HtmlElement, Look]:
    """The look of every element under ``body`` (itself included), parents first."""
    found: dict[HtmlElement, Look] = {}
    for element in body.iter():
        if isinstance(element.tag, str):
            found[element] = look_of(element, found.get(element.getparent(), ROOT))
    return found


def look_of(element: HtmlElement, parent: Look) -> Look:
    tag = element.tag
    declared = declarations(element.get("style") or "")
    return Look(
        size=_size(tag, element, declared, parent.size),
        bold=_bold(tag, declared, parent.bold),
        colour=_colour(tag, element, declared, parent.colour),
        backdrop=_backdrop(element, declared, parent.backdrop),
        hidden=parent.hidden or tag in _UNSEEN_TAGS or _hides(declared),
        small_print=parent.small_print or "small" in (element.get("class") or "").split(),
    )


def own_text(element: HtmlElement) -> str:
    """The text directly inside ``element``, not in its child elements."""
    parts = [element.text or ""]
    parts.extend(child.tail or "" for child in element)
    return " ".join("".join(parts).split()).strip(_ZERO_WIDTH + " ")


def visible_texts(
    found: Mapping[HtmlElement, Look],
) -> Iterator[tuple[HtmlElement, Look, str]]:
    """Each element with text of its own that a reader sees, with its look and the text."""
    for element, look in found.items():
        if look.hidden or look.size <= 0 or look.colour.alpha == 0:
            continue
        text = own_text(element)
        if text:
            yield element, look, text


def _size(tag: str, element: HtmlElement, declared: Declarations, parent: float) -> float:
    size = parent * _TAG_SCALE.get(tag, 1.0)
    if tag == "font" and element.get("size"):
        size = _font_element_size(element.get("size") or "", size)
    for name in ("font", "font-size"):
        if name in declared:
            size = _length(declared[name], parent, size)
    return size


def _font_element_size(value: str, default: float) -> float:
    value = value.strip()
    try:
        number = int(value)
    except ValueError:
        return default
    level = 3 + number if value[0] in "+-" else number
    return _FONT_SIZES[min(max(level, 1), 7)]


def _length(tokens: Sequence[Node], parent: float, default: float) -> float:
    """The first font size among ``tokens`` (a ``font-size`` value or the ``font`` shorthand)."""
    for token in tokens:
        if token.type == "dimension":
            unit = token.lower_unit
            if unit in _ABSOLUTE:
                return float(token.value) * _ABSOLUTE[unit]
            if unit == "em":
                return float(token.value) * parent
            if unit == "rem":
                return float(token.value) * ROOT_SIZE
        elif token.type == "percentage":
            return float(token.value) / 100 * parent
        elif token.type == "number" and token.value == 0:
            return 0.0
        elif token.type == "ident":
            keyword = token.lower_value
            if keyword in _KEYWORDS:
                return _KEYWORDS[keyword]
            if keyword in _RELATIVE_KEYWORDS:
                return parent * _RELATIVE_KEYWORDS[keyword]
            if keyword == "inherit":
                return parent
    return default


def _bold(tag: str, declared: Declarations, parent: bool) -> bool:
    """Bold from the tag, ``font-weight`` or the ``font`` shorthand (where ``normal`` may
    be the style or variant, so only ``bold`` and numbers of 700 and up count)."""
    bold = parent or tag in _BOLD_TAGS
    for token in declared.get("font", ()):
        bold = bold or _heavy(token)
    for token in declared.get("font-weight", ())[:1]:
        inherit = token.type == "ident" and token.lower_value == "inherit"
        bold = parent if inherit else _heavy(token)
    return bold


def _heavy(token: Node) -> bool:
    if token.type == "ident":
        return token.lower_value in ("bold", "bolder")
    return token.type == "number" and token.value >= 700


def _colour(tag: str, element: HtmlElement, declared: Declarations, parent: Colour) -> Colour:
    tokens = declared.get("color", ())
    if tokens and tokens[0].type == "ident" and tokens[0].lower_value in _INHERIT:
        return parent
    colour = _first_colour(tokens)
    if colour is None and tag == "font" and element.get("color"):
        colour = parse_colour(element.get("color"))
    if isinstance(colour, Colour):
        return colour
    if colour is None and tag == "a" and element.get("href") is not None:
        return LINK
    return parent


def _first_colour(tokens: Sequence[Node]) -> Colour | str | None:
    for token in tokens:
        found = parse_colour(token)
        if found is not None:
            return found
    return None


def _backdrop(element: HtmlElement, declared: Declarations, parent: Colour | None) -> Colour | None:
    """The colour behind the element's text: its own background over its parent's."""
    colour, image = None, False
    if element.get("bgcolor"):
        found = parse_colour(element.get("bgcolor"))
        colour = found if isinstance(found, Colour) else None
    for name in ("background", "background-color", "background-image"):
        for token in declared.get(name, ()):
            found = parse_colour(token)
            if isinstance(found, Colour):
                colour = found
            image = image or _is_image(token)
    if colour is None or colour.alpha == 0:
        return None if image else parent
    if colour.alpha >= 1:
        return colour
    return None if parent is None else over(colour, parent)


def _is_image(token: Node) -> bool:
    if token.type == "url":
        return True
    name = token.lower_name if token.type == "function" else ""
    return name == "url" or "gradient" in name


def _hides(declared: Declarations) -> bool:
    """Whether the declarations hide the element: ``display: none``, ``visibility:
    hidden``, ``opacity: 0``, or no height with the overflow hidden (the preheader)."""
    if _ident(declared, "display") == "none" or _ident(declared, "visibility") in (
        "hidden",
        "collapse",
    ):
        return True
    if _is_zero(declared.get("opacity", ())):
        return True
    overflow = _ident(declared, "overflow")
    return overflow == "hidden" and any(
        _is_zero(declared.get(name, ())) for name in ("max-height", "height")
    )


def _ident(declared: Declarations, name: str) -> str | None:
    tokens = declared.get(name, ())
    return tokens[0].lower_value if tokens and tokens[0].type == "ident" else None


def _is_zero(tokens: Sequence[Node]) -> bool:
    return (
        bool(tokens)
        and tokens[0].type in ("number", "dimension", "percentage")
        and (tokens[0].value == 0)
    )
