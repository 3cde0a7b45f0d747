"""The CSS that decides whether an element can be seen: inline styles and the
``<style>`` rules that apply on every screen.

Only the properties that can hide something are kept. A rule inside ``@media`` (or a
``<style media=...>`` block) applies on some screens only, which responsive layouts use
on purpose to swap one copy of a link for another, so it is left out. Selectors made of
tag names, classes and ids joined by descendant or child combinators are matched; any
other selector is ignored.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

import tinycss2
from lxml.html import HtmlElement

PROPERTIES = frozenset(
    {
        "display",
        "visibility",
        "font-size",
        "opacity",
        "height",
        "max-height",
        "width",
        "max-width",
        "overflow",
        "mso-hide",
    }
)

Declaration = tuple[str, str, bool]
"""A property, its value in lower case, and whether it is ``!important``."""

_COMMENT = re.compile(r"/\*.*?\*/", re.S)
_IMPORTANT = re.compile(r"\s*!\s*important\s*$")
_COMPOUND = re.compile(r"^(?P<tag>[a-z][\w-]*|\*)?(?P<rest>(?:[.#][\w-]+)*)$")
_COMBINATOR = re.compile(r"\s*(>)\s*|\s+")


def inline_declarations(style: str) -> list[Declaration]:
    """The hiding properties of a ``style`` attribute (split by hand: this runs on
    every element, where a full CSS parser costs several milliseconds per issue)."""
    found = []
    for part in _COMMENT.sub("", style).split(";"):
        name, colon, value = part.partition(":")
        name = name.strip().lower()
        if colon and name in PROPERTIES:
            value = value.strip().lower()
            important = _IMPORTANT.search(value)
            if important:
                value = value[: important.start()]
            found.append((name, value, important is not None))
    return found


@dataclass(frozen=True)
class _Compound:
    tag: str | None
    ids: frozenset[str]
    classes: frozenset[str]

    def matches(self, element: HtmlElement) -> bool:
        if self.tag is not None and element.tag != self.tag:
            return False
        if self.ids and element.get("id") not in self.ids:
            return False
        return not self.classes or self.classes <= set((element.get("class") or "").split())


@dataclass(frozen=True)
class Selector:
    compounds: tuple[_Compound, ...]
    child: tuple[bool, ...]
    """For each compound after the first: joined to the one before by ``>``."""

    def matches(self, element: HtmlElement, index: int | None = None) -> bool:
        index = len(self.compounds) - 1 if index is None else index
        if not self.compounds[index].matches(element):
            return False
        if index == 0:
            return True
        if self.child[index - 1]:
            parent = element.getparent()
            return parent is not None and self.matches(parent, index - 1)
        return any(self.matches(above, index - 1) for above in element.iterancestors())


def parse_selector(text: str) -> Selector | None:
    """A selector this module can match, or None."""
    parts = _COMBINATOR.split(text.strip().lower())
    compounds: list[_Compound] = []
    child: list[bool] = []
    for position, part in enumerate(parts):
        if position % 2:
            child.append(part == ">")
            continue
        found = _COMPOUND.match(part or "")
        if not part or found is None:
            return None
        tag = found["tag"] if found["tag"] not in (None, "*") else None
        names = re.findall(r"[.#][\w-]+", found["rest"])
        ids = frozenset(name[1:] for name in names if name[0] == "#")
        classes = frozenset(name[1:] for name in names if name[0] == ".")
        compounds.append(_Compound(tag, ids, classes))
    return Selector(tuple(compounds), tuple(child)) if compounds else None


@dataclass(frozen=True)
class StyleRule:
    selectors: tuple[Selector, ...]
    declarations: tuple[Declaration, ...]

    def matches(self, element: HtmlElement) -> bool:
        return any(selector.matches(element) for selector in self.selectors)


def style_rules(document: HtmlElement) -> list[StyleRule]:
    """The top-level rules of the document's ``<style>`` blocks that set a hiding property."""
    rules = []
    for block in document.iter("style"):
        if (block.get("media") or "all").strip().lower() not in ("all", "screen"):
            continue
        for rule in _qualified_rules(block.text_content()):
            declarations = _rule_declarations(rule)
            selectors = [
                parse_selector(text) for text in tinycss2.serialize(rule.prelude).split(",")
            ]
            matchable = tuple(selector for selector in selectors if selector is not None)
            if declarations and matchable:
                rules.append(StyleRule(matchable, declarations))
    return rules


def _qualified_rules(css: str) -> Iterator[tinycss2.ast.QualifiedRule]:
    for rule in tinycss2.parse_stylesheet(css, skip_comments=True, skip_whitespace=True):
        if rule.type == "qualified-rule":
            yield rule


def _rule_declarations(rule: tinycss2.ast.QualifiedRule) -> tuple[Declaration, ...]:
    found = []
    for item in tinycss2.parse_blocks_contents(
        rule.content, skip_comments=True, skip_whitespace=True
    ):
        if item.type == "declaration" and item.lower_name in PROPERTIES:
            value = tinycss2.serialize(item.value).strip().lower()
            found.append((item.lower_name, value, item.important))
    return tuple(found)
