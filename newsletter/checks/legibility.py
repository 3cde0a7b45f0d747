"""Text a reader can make out: large enough, and far enough in luminance from what is
behind it (WCAG 2.2 AA). The accessibility family's text rules."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from lxml.html import HtmlElement

from newsletter.checks.colours import BLACK, WHITE, Colour, contrast, luminance, over, parse_colour
from newsletter.checks.context import FOOTER_TEMPLATE, CheckInput
from newsletter.checks.findings import Finding, Place, Severity, Source
from newsletter.checks.styles import ROOT, Look
from newsletter.config import Settings

TEXT_SIZE = "accessibility.text-size"
CONTRAST = "accessibility.contrast"

BODY_MIN_PX = 14.0
SMALL_PRINT_MIN_PX = 12.0
"""For the footer's legal lines, text of class ``small`` and short labels."""
LABEL_WORDS = 4
"""A kicker or a date above a heading: read at a glance, not as running text."""
LARGE_PX = 24.0
LARGE_BOLD_PX = 18.66
NORMAL_RATIO = 4.5
LARGE_RATIO = 3.0

_TEXT_COLOURS = frozenset({"text", "muted", "primary", "accent"})
_BACKGROUNDS = frozenset({"primary", "accent"})
"""The brand colours the templates paint text with, and the strong ones they paint behind
it (white text on a button). Text the template colours itself on the page or surface
colour is the template's doing, not ``brand.surface``'s."""

Text = tuple[HtmlElement, Look, str]


@dataclass
class _Seen:
    """Pieces of text with the same problem in the same place, reported once."""

    first: str
    count: int = 0

    def quoted(self) -> str:
        text = self.first if len(self.first) <= 40 else self.first[:39].rstrip() + "…"
        more = self.count - 1
        also = f" (and {more} more piece{'' if more == 1 else 's'} of text)" if more else ""
        return f"'{text}'{also}"


@dataclass
class _Clash(_Seen):
    """Text short of contrast: the worst pair of colours seen, and every pair the colour
    at fault (``moved``) stands in, so one suggestion can satisfy them all."""

    look: Look = ROOT
    ratio: float = 0.0
    need: float = NORMAL_RATIO
    moved: str = "text"
    """Which of the two colours of the worst pair the place names: "text" or "background"."""
    pairs: set[tuple[Colour, float]] = field(default_factory=set)
    """The colour against which the moved one must reach a ratio, with that ratio."""

    def add(self, text: str, look: Look, ratio: float, need: float, moved: str) -> None:
        if not self.count or ratio / need < self.ratio / self.need:
            self.first, self.look, self.ratio, self.need = text, look, ratio, need
            self.moved = moved
        self.count += 1
        back = look.backdrop or WHITE
        self.pairs.add((over(look.colour, back) if moved == "background" else back, need))

    def moved_colour(self) -> Colour:
        return (self.look.backdrop or WHITE) if self.moved == "background" else self.look.colour


def text_size(check: CheckInput, texts: Iterable[Text]) -> list[Finding]:
    groups: dict[tuple[Place, float, float], _Seen] = {}
    for element, look, text in texts:
        if look.size >= BODY_MIN_PX - 0.01:
            continue
        place = check.place_of(element)
        least = _least_size(place, look, element)
        if look.size < least - 0.01:
            group = groups.setdefault((place, round(look.size, 2), least), _Seen(text))
            group.count += 1
    return [
        Finding(
            TEXT_SIZE,
            Severity.WARNING,
            f"{group.quoted()} is {size:g} px, under the {least:g} px "
            f"{'small print' if least < BODY_MIN_PX else 'body text'} needs to be read "
            "comfortably",
            f"raise its font-size to {least:g}px or more in the template that styles it",
            place,
        )
        for (place, size, least), group in groups.items()
    ]


def _least_size(place: Place, look: Look, element: HtmlElement) -> float:
    footer = place.source is Source.TEMPLATE and place.name == FOOTER_TEMPLATE
    if footer or look.small_print or len(element.text_content().split()) <= LABEL_WORDS:
        return SMALL_PRINT_MIN_PX
    return BODY_MIN_PX


def large(look: Look) -> bool:
    """WCAG's large text: 18 pt, or 14 pt in bold."""
    return look.size >= LARGE_PX or (look.bold and look.size >= LARGE_BOLD_PX)


def contrast_findings(check: CheckInput, texts: Iterable[Text]) -> list[Finding]:
    """One finding per brand colour at fault (whatever it sits on), else one per place
    and pair of colours."""
    brand = brand_colours(check.settings)
    clashes: dict[tuple[Place, str, str, float], _Clash] = {}
    for element, look, text in texts:
        if look.backdrop is None:
            continue
        need = LARGE_RATIO if large(look) else NORMAL_RATIO
        ratio = contrast(look.colour, look.backdrop)
        if ratio < need:
            place, moved = _place(check, element, look, brand)
            key = (
                (place, "", "", 0.0)
                if place.source is Source.PROJECT
                else (place, look.colour.hex, look.backdrop.hex, need)
            )
            clashes.setdefault(key, _Clash(text)).add(text, look, ratio, need, moved)
    return [_contrast_finding(key[0], clash) for key, clash in clashes.items()]


def _contrast_finding(place: Place, clash: _Clash) -> Finding:
    look = clash.look
    size = "large text" if clash.need == LARGE_RATIO else "text of this size"
    message = (
        f"{clash.quoted()} is {look.colour.hex} on {(look.backdrop or WHITE).hex}: a contrast "
        f"ratio of {ratio_text(clash.ratio, clash.need)}:1, under the {clash.need:g}:1 {size} "
        "needs"
    )
    return Finding(CONTRAST, Severity.ERROR, message, _fix(place, clash), place)


def _fix(place: Place, clash: _Clash) -> str:
    moved = clash.moved_colour()
    better = suggestion(moved, sorted(clash.pairs))
    need = f"{max(need for _, need in clash.pairs):g}:1"
    if place.source is not Source.PROJECT:
        back = (clash.look.backdrop or WHITE).hex
        example = f" (text in {better.hex} would reach it on {back})" if better else ""
        return (
            "change the text colour or its background where the template sets them, "
            f"to reach {need}{example}"
        )
    name = ".".join(str(part) for part in place.field)
    if better is None:
        return f"choose another {name} in newsletter.yaml that reaches {need}"
    way = "darker" if luminance(better) < luminance(over(moved, WHITE)) else "lighter"
    return f"make {name} in newsletter.yaml {way}, e.g. {better.hex}, so it reaches {need}"


def _place(
    check: CheckInput, element: HtmlElement, look: Look, brand: Sequence[tuple[str, str]]
) -> tuple[Place, str]:
    """The brand field the text colour (or else the background) comes from, or the
    section or template the text is in."""
    backdrop = look.backdrop or WHITE
    for hex_value, moved, roles in (
        (look.colour.hex, "text", _TEXT_COLOURS),
        (backdrop.hex, "background", _BACKGROUNDS),
    ):
        for name, brand_hex in brand:
            if brand_hex == hex_value and name in roles:
                return Place(Source.PROJECT, ("brand", name)), moved
    return check.place_of(element), "text"


def brand_colours(settings: Settings) -> list[tuple[str, str]]:
    """Each colour of ``brand`` in newsletter.yaml as (field, #rrggbb)."""
    found = []
    for name, value in settings.brand.model_dump().items():
        colour = parse_colour(value) if isinstance(value, str) else None
        if isinstance(colour, Colour):
            found.append((name, colour.hex))
    return found


def suggestion(colour: Colour, pairs: Sequence[tuple[Colour, float]]) -> Colour | None:
    """The colour nearest ``colour``, towards black or white, that reaches each pair's
    ratio against the pair's colour."""
    if not pairs:
        return None
    worst = min(pairs, key=lambda pair: contrast(colour, pair[0]) / pair[1])[0]
    ends = (BLACK, WHITE) if luminance(over(colour, worst)) <= luminance(worst) else (WHITE, BLACK)
    for end in ends:
        for step in range(1, 51):
            candidate = parse_colour(_mixed(colour.opaque, end, step / 50).hex)
            if isinstance(candidate, Colour) and all(
                contrast(candidate, other) >= need for other, need in pairs
            ):
                return candidate
    return None


def _mixed(start: Colour, end: Colour, share: float) -> Colour:
    return Colour(*(a + (b - a) * share for a, b in zip(start[:3], end[:3], strict=True)))


def ratio_text(ratio: float, under: float | None = None) -> str:
    """The ratio to two decimals, as contrast checkers show it; a ratio just ``under`` a
    threshold is cut instead of rounded, so 4.499 never reads as 4.5."""
    shown = round(ratio, 2)
    if under is not None and ratio < under <= shown:
        shown = int(ratio * 100) / 100
    return f"{shown:.2f}".rstrip("0").rstrip(".")
