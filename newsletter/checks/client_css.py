"""The CSS an email uses, named as caniemail features: properties, telling values
(``display:flex``), functions, units and at-rules, from ``<style>`` blocks and ``style``
attributes. Selectors are not looked at: they only matter where ``<style>`` works."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from functools import lru_cache

import tinycss2
from lxml.html import HtmlElement
from tinycss2.ast import AtRule, Declaration, Node

from newsletter.checks.client_support import Use, table
from newsletter.checks.stylesheet import style_declarations

Found = tuple[str, str, str, bool]
"""A feature's slug, the property, the value and whether it is conditional."""

_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern), slug)
    for pattern, slug in (
        (r"(margin|padding)-inline-(start|end)", r"css-\1-inline-start-end"),
        (r"(margin|padding)-block-(start|end)", r"css-\1-block-start-end"),
        (r"(margin|padding)-(inline|block)", r"css-\1-inline-block"),
        (r"border-(inline|block)", "css-border-inline-block"),
        (r"border-(inline|block)-(width|style|color)", "css-border-inline-block-longhand"),
        (
            r"border-(inline|block)-(start|end)(-(width|style|color))?",
            "css-border-inline-block-individual",
        ),
        (r"border-(start|end)-(start|end)-radius", "css-border-radius-logical"),
        (r"border-(top|bottom)-(left|right)-radius", "css-border-radius"),
        (r"(row-|column-)?gap", "css-gap"),
        (r"left|right|top|bottom", "css-left-right-top-bottom"),
        (r"inset(-(inline|block)(-(start|end))?)?", "css-inset"),
        (r"grid-template(-[a-z]+)?", "css-grid-template"),
        (r"columns|column-(width|span|fill|rule(-[a-z]+)?)", "css-column-layout-properties"),
        (r"block-size", "css-block-inline-size"),
        (r"text-emphasis-(style|color)", "css-text-emphasis"),
        (r"scroll-snap-[a-z]+", "css-scroll-snap"),
        (r"(animation|transition)-[a-z-]+", r"css-\1"),
        (
            r"(border|margin|padding|outline)-(top|right|bottom|left|width|style|color)"
            r"(-(width|style|color))?",
            r"css-\1",
        ),
        (r"overflow-[xy]", "css-overflow"),
    )
)
"""Properties that caniemail reports under another feature's name: longhands under their
shorthand, and features that cover several properties."""

_FUNCTIONS = {
    "rgb": "css-rgb",
    "rgba": "css-rgba",
    "calc": "css-unit-calc",
    "clamp": "css-function-clamp",
    "min": "css-function-min",
    "max": "css-function-max",
    "light-dark": "css-function-light-dark",
    "var": "css-variables",
    "fit-content": "css-intrinsic-size",
    **dict.fromkeys(("linear-gradient", "repeating-linear-gradient"), "css-linear-gradient"),
    **dict.fromkeys(("radial-gradient", "repeating-radial-gradient"), "css-radial-gradient"),
    **dict.fromkeys(("conic-gradient", "repeating-conic-gradient"), "css-conic-gradient"),
    **dict.fromkeys(("lab", "lch", "oklab", "oklch"), "css-modern-color"),
}
_IMAGES = frozenset(("url", *(name for name in _FUNCTIONS if name.endswith("gradient"))))
_KEYWORDS = {
    "initial": "css-unit-initial",
    **dict.fromkeys(("fit-content", "min-content", "max-content"), "css-intrinsic-size"),
    **dict.fromkeys(
        ("system-ui", "ui-serif", "ui-sans-serif", "ui-rounded", "ui-monospace"), "css-sytem-ui"
    ),
}
_DISPLAY = {
    **dict.fromkeys(("flex", "inline-flex"), "css-display-flex"),
    **dict.fromkeys(("grid", "inline-grid"), "css-display-grid"),
    "none": "css-display-none",
}
_AT_RULES = {
    "media": "css-at-media",
    "supports": "css-at-supports",
    "font-face": "css-at-font-face",
    "import": "css-at-import",
    **dict.fromkeys(("keyframes", "-webkit-keyframes"), "css-at-keyframes"),
}
_CONDITIONS = frozenset(("media", "supports"))
_MEDIA_FEATURES = {
    "prefers-color-scheme": "css-at-media-prefers-color-scheme",
    "prefers-reduced-motion": "css-at-media-prefers-reduced-motion",
    "orientation": "css-at-media-orientation",
    **dict.fromkeys(("hover", "any-hover"), "css-at-media-hover"),
    **dict.fromkeys(
        (
            "-webkit-device-pixel-ratio",
            "-webkit-min-device-pixel-ratio",
            "-webkit-max-device-pixel-ratio",
        ),
        "css-at-media-device-pixel-ratio",
    ),
}


def inline_uses(element: HtmlElement, style: str) -> Iterator[Use]:
    for slug, prop, value, conditional in _inline_features(style):
        yield Use(slug, element, prop, value, conditional, inline=True)


def stylesheet_uses(element: HtmlElement, text: str) -> Iterator[Use]:
    """The features of a ``<style>`` block; a ``media`` condition on the block makes all
    of it conditional."""
    media = (element.get("media") or "").strip().lower()
    conditional = media not in ("", "all", "screen")
    for slug, prop, value, inside in _sheet_features(text, conditional):
        yield Use(slug, element, prop, value, inside)


@lru_cache(maxsize=4096)
def _inline_features(style: str) -> tuple[Found, ...]:
    return tuple(_declarations(style_declarations(style), False))


@lru_cache(maxsize=256)
def _sheet_features(text: str, conditional: bool) -> tuple[Found, ...]:
    rules = tinycss2.parse_stylesheet(text, skip_comments=True, skip_whitespace=True)
    return tuple(_rules(rules, conditional))


def _rules(rules: Iterable[Node], conditional: bool) -> Iterator[Found]:
    for rule in rules:
        if rule.type == "qualified-rule":
            content = tinycss2.parse_blocks_contents(
                rule.content, skip_comments=True, skip_whitespace=True
            )
            yield from _declarations(content, conditional)
        elif isinstance(rule, AtRule):
            yield from _at_rule(rule, conditional)


def _at_rule(rule: AtRule, conditional: bool) -> Iterator[Found]:
    """The at-rule itself and, inside a condition, what it holds; the descriptors of
    ``@font-face`` and the frames of ``@keyframes`` are not properties of the email."""
    keyword = rule.lower_at_keyword
    inside = conditional or keyword in _CONDITIONS
    prelude = tinycss2.serialize(rule.prelude).strip().lower()
    if keyword in _AT_RULES:
        yield _AT_RULES[keyword], "", prelude, inside
    if keyword == "media":
        for token in _walk(rule.prelude):
            if token.type == "ident" and token.lower_value in _MEDIA_FEATURES:
                yield _MEDIA_FEATURES[token.lower_value], "", prelude, inside
    if keyword in _CONDITIONS and rule.content is not None:
        nested = tinycss2.parse_rule_list(rule.content, skip_comments=True, skip_whitespace=True)
        yield from _rules(nested, inside)


def _declarations(nodes: Iterable[Node], conditional: bool) -> Iterator[Found]:
    for node in nodes:
        if not isinstance(node, Declaration):
            continue
        prop = node.lower_name
        value = tinycss2.serialize(node.value).strip().lower()
        for slug in _declaration_slugs(prop, node):
            yield slug, prop, value, conditional


def _declaration_slugs(prop: str, declaration: Declaration) -> list[str]:
    slugs = [slug for slug in (property_slug(prop),) if slug]
    slugs += _value_slugs(prop, declaration.value)
    if declaration.important:
        slugs.append("css-important")
    return list(dict.fromkeys(slugs))


_TITLE_WORD = re.compile(r"[\s:,]")


@lru_cache(maxsize=1024)
def property_slug(prop: str) -> str | None:
    """The caniemail feature that reports ``prop``, if any: one named after it whose
    title starts with the property (``css-height``, "height property"), so a feature
    such as ``css-display-flex`` or ``css-rgb`` is never taken for a property."""
    if prop.startswith("--"):
        return "css-variables"
    for pattern, slug in _PATTERNS:
        matched = pattern.fullmatch(prop)
        if matched:
            return matched.expand(slug)
    feature = table().features.get(f"css-{prop}")
    if feature is not None and _TITLE_WORD.split(feature.title, maxsplit=1)[0] == prop:
        return feature.slug
    return None


def _value_slugs(prop: str, value: list[Node]) -> Iterator[str]:
    for token in _walk(value):
        kind = token.type
        if kind == "function":
            name = token.lower_name
            if name in _FUNCTIONS:
                yield _FUNCTIONS[name]
            if prop == "background" and name in _IMAGES:
                yield "css-background-image"
        elif kind == "url" and prop == "background":
            yield "css-background-image"
        elif kind == "dimension":
            slug = f"css-unit-{token.lower_unit}"
            if slug in table().features:
                yield slug
        elif kind == "percentage":
            yield "css-unit-percent"
        elif kind == "ident":
            if prop == "display" and token.lower_value in _DISPLAY:
                yield _DISPLAY[token.lower_value]
            if token.lower_value in _KEYWORDS:
                yield _KEYWORDS[token.lower_value]


def _walk(nodes: Iterable[Node]) -> Iterator[Node]:
    """Every token, those inside functions and brackets included."""
    for node in nodes:
        yield node
        inner = getattr(node, "arguments", None)
        if inner is None:
            inner = getattr(node, "content", None)
        if isinstance(inner, list):
            yield from _walk(inner)
