"""What the CSS that reaches one element says about how it looks, worked out once for
each distinct combination of ``<style>`` rules and ``style`` attribute.

The cascade is the one email clients that keep ``<style>`` apply: rules in the order
they are written, then the ``style`` attribute, then the ``!important`` declarations in
the same order. Specificity is not weighed: email templates inline what matters.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache

from tinycss2.ast import Node

from newsletter.checks.colours import Colour, parse_colour
from newsletter.checks.stylesheet import StyleRule, style_declarations

PROPERTIES = frozenset(
    {
        "display",
        "visibility",
        "opacity",
        "mso-hide",
        "overflow",
        "height",
        "max-height",
        "width",
        "max-width",
        "font",
        "font-size",
        "font-weight",
        "color",
        "background",
        "background-color",
        "background-image",
    }
)
"""The properties read here; ``<style>`` rules setting none of them are skipped."""

ROOT_SIZE = 16.0

Size = tuple[float, float]
"""A font size as ``factor * parent size + pixels``."""

_ABSOLUTE = {"px": 1.0, "pt": 4 / 3, "pc": 16.0, "in": 96.0, "cm": 96 / 2.54, "mm": 96 / 25.4}
_RELATIVE = {"em": 1.0, "ex": 0.5, "ch": 0.5}
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
_RELATIVE_KEYWORDS = {"smaller": 1 / 1.2, "larger": 1.2, "inherit": 1.0}
_INHERIT = frozenset({"inherit", "currentcolor", "unset"})
_ZERO_BOX = ("height", "max-height", "width", "max-width")
_BACKGROUNDS = ("background", "background-color", "background-image")

Tokens = Sequence[Node]


@dataclass(frozen=True, eq=False, slots=True)
class Declared:
    """One element's own declarations, reduced to what the computed look needs."""

    size: Size | None = None
    font_bold: bool = False
    """The ``font`` shorthand names a bold weight."""
    weight: bool | None = None
    """``font-weight`` makes the text bold (True) or not (False); None when unset."""
    weight_inherits: bool = False
    colour: Colour | None = None
    colour_inherits: bool = False
    """``color`` is ``inherit``, ``currentColor`` or ``unset``: the parent's colour."""
    background: Colour | None = None
    image: bool = False
    """A background image or gradient, whose colours are unknown."""
    gone: str | None = None
    """Why the element and all inside it are hidden, from its own declarations."""
    visibility: str | None = None


NOTHING = Declared()


def declared(rules: tuple[StyleRule, ...], style: str) -> Declared:
    """What the ``<style>`` rules reaching an element and its ``style`` attribute say."""
    if not rules:
        return _inline(style) if style else NOTHING
    return _with_rules(rules, style)


@lru_cache(maxsize=4096)
def _inline(style: str) -> Declared:
    return _digest(_cascade(style_declarations(style)))


@lru_cache(maxsize=4096)
def _with_rules(rules: tuple[StyleRule, ...], style: str) -> Declared:
    found = [declaration for rule in rules for declaration in rule.declarations]
    found.extend(style_declarations(style))
    return _digest(_cascade(found))


def _cascade(found: Sequence[Node]) -> dict[str, Tokens]:
    """Property -> value tokens (no white space): the last declaration wins, an
    ``!important`` one over any other."""
    values: dict[str, Tokens] = {}
    for important in (False, True):
        for item in found:
            if item.important is important and item.lower_name in PROPERTIES:
                values[item.lower_name] = tuple(
                    token for token in item.value if token.type not in ("whitespace", "comment")
                )
    return values


def _digest(values: Mapping[str, Tokens]) -> Declared:
    if not values:
        return NOTHING
    weight = values.get("font-weight", ())[:1]
    weight_inherits = bool(weight) and _ident(weight) == "inherit"
    colour, colour_inherits = _colour(values.get("color", ()))
    background, image = _background(values)
    return Declared(
        size=_size(values),
        font_bold=any(_heavy(token) for token in values.get("font", ())),
        weight=None if not weight or weight_inherits else _heavy(weight[0]),
        weight_inherits=weight_inherits,
        colour=colour,
        colour_inherits=colour_inherits,
        background=background,
        image=image,
        gone=_gone(values),
        visibility=_ident(values.get("visibility", ())),
    )


def _size(values: Mapping[str, Tokens]) -> Size | None:
    """From ``font-size`` or else the ``font`` shorthand: the first token that is a size."""
    for name in ("font-size", "font"):
        for token in values.get(name, ()):
            found = _length(token)
            if found is not None:
                return found
    return None


def _length(token: Node) -> Size | None:
    kind = token.type
    if kind == "dimension":
        unit = token.lower_unit
        if unit in _ABSOLUTE:
            return 0.0, float(token.value) * _ABSOLUTE[unit]
        if unit in _RELATIVE:
            return float(token.value) * _RELATIVE[unit], 0.0
        if unit == "rem":
            return 0.0, float(token.value) * ROOT_SIZE
    elif kind == "percentage":
        return float(token.value) / 100, 0.0
    elif kind == "number" and token.value == 0:
        return 0.0, 0.0
    elif kind == "ident":
        keyword = token.lower_value
        if keyword in _KEYWORDS:
            return 0.0, _KEYWORDS[keyword]
        if keyword in _RELATIVE_KEYWORDS:
            return _RELATIVE_KEYWORDS[keyword], 0.0
    return None


def _heavy(token: Node) -> bool:
    """Bold: only ``bold``, ``bolder`` and weights of 700 and up (in the ``font``
    shorthand, ``normal`` may be the style or the variant)."""
    if token.type == "ident":
        return token.lower_value in ("bold", "bolder")
    return token.type == "number" and token.value >= 700


def _colour(tokens: Tokens) -> tuple[Colour | None, bool]:
    if tokens and _ident(tokens) in _INHERIT:
        return None, True
    for token in tokens:
        found = parse_colour(token)
        if found is not None:
            return (found, False) if isinstance(found, Colour) else (None, True)
    return None, False


def _background(values: Mapping[str, Tokens]) -> tuple[Colour | None, bool]:
    colour, image = None, False
    for name in _BACKGROUNDS:
        for token in values.get(name, ()):
            found = parse_colour(token)
            if isinstance(found, Colour):
                colour = found
            image = image or _is_image(token)
    return colour, image


def _is_image(token: Node) -> bool:
    if token.type == "url":
        return True
    name = token.lower_name if token.type == "function" else ""
    return name == "url" or "gradient" in name


def _gone(values: Mapping[str, Tokens]) -> str | None:
    if _ident(values.get("display", ())) == "none":
        return "hidden with display:none"
    if _is_zero(values.get("opacity", ())):
        return "hidden with opacity:0"
    if _ident(values.get("mso-hide", ())) == "all":
        return "hidden from Outlook with mso-hide:all"
    if _ident(values.get("overflow", ())) == "hidden":
        for name in _ZERO_BOX:
            if _is_zero(values.get(name, ())):
                return f"hidden in a box with {name}:0 and overflow:hidden"
    return None


def _ident(tokens: Tokens) -> str | None:
    return tokens[0].lower_value if tokens and tokens[0].type == "ident" else None


def _is_zero(tokens: Tokens) -> bool:
    return (
        bool(tokens)
        and tokens[0].type in ("number", "dimension", "percentage")
        and tokens[0].value == 0
    )
