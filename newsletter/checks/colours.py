"""CSS colours as sRGB, and the contrast ratio WCAG 2.2 defines between two of them."""

from __future__ import annotations

from typing import Any, NamedTuple

import tinycss2.color4


class Colour(NamedTuple):
    """sRGB channels and alpha, each from 0 to 1."""

    red: float
    green: float
    blue: float
    alpha: float = 1.0

    @property
    def hex(self) -> str:
        channels = (self.red, self.green, self.blue)
        text = "#" + "".join(f"{round(channel * 255):02x}" for channel in channels)
        return text if self.alpha >= 1 else text + f"{round(self.alpha * 255):02x}"

    @property
    def opaque(self) -> Colour:
        return self._replace(alpha=1.0)


WHITE = Colour(1.0, 1.0, 1.0)
BLACK = Colour(0.0, 0.0, 0.0)
CURRENT = "currentcolor"


def parse_colour(value: Any) -> Colour | str | None:
    """A colour from CSS text or a tinycss2 token: ``#rgb``, ``#rrggbb``, ``#rgba``,
    ``#rrggbbaa``, ``rgb()``/``rgba()``, ``hsl()``, a named colour or ``transparent``;
    ``CURRENT`` for ``currentColor``; None when it is no colour."""
    if isinstance(value, str):
        value = value.strip()
    try:
        parsed = tinycss2.color4.parse_color(value)
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    if parsed is None:
        return None
    if isinstance(parsed, str):
        return CURRENT
    srgb = parsed.to("srgb")
    red, green, blue = (min(max(float(c), 0.0), 1.0) for c in srgb.coordinates)
    return Colour(red, green, blue, min(max(float(srgb.alpha), 0.0), 1.0))


def over(top: Colour, below: Colour) -> Colour:
    """``top`` painted over the opaque ``below``: what a reader sees through transparency."""
    alpha = top.alpha
    return Colour(
        top.red * alpha + below.red * (1 - alpha),
        top.green * alpha + below.green * (1 - alpha),
        top.blue * alpha + below.blue * (1 - alpha),
    )


def _linear(channel: float) -> float:
    return channel / 12.92 if channel <= 0.04045 else ((channel + 0.055) / 1.055) ** 2.4


def luminance(colour: Colour) -> float:
    """WCAG relative luminance of an opaque colour."""
    red, green, blue = _linear(colour.red), _linear(colour.green), _linear(colour.blue)
    return 0.2126 * red + 0.7152 * green + 0.0722 * blue


def contrast(text: Colour, background: Colour) -> float:
    """The WCAG contrast ratio, from 1 to 21, of ``text`` over the opaque ``background``."""
    first, second = luminance(over(text, background)), luminance(background.opaque)
    lighter, darker = max(first, second), min(first, second)
    return (lighter + 0.05) / (darker + 0.05)
