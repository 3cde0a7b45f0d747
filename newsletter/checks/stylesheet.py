"""The CSS written into an email: ``style`` attributes, and the ``<style>`` rules that
apply on every screen, with the elements each rule reaches.

A rule inside ``@media`` (or a ``<style media=...>`` block) applies on some screens only,
which responsive layouts use on purpose to swap one copy of a link for another, so it is
left out. Selectors made of tag names, classes and ids joined by descendant or child
combinators are matched; any other selector is ignored rather than guessed at.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

import tinycss2
from lxml.html import HtmlElement
from tinycss2.ast import Declaration, QualifiedRule

_COMPOUND = re.compile(r"^(?P<tag>[a-z][\w-]*|\*)?(?P<rest>(?:[.#][\w-]+)*)$")
_COMBINATOR = re.compile(r"\s*(>)\s*|\s+")
_EVERY_SCREEN = ("all", "screen")


@lru_cache(maxsize=4096)
def style_declarations(style: str) -> tuple[Declaration, ...]:
    """The declarations of a ``style`` attribute, parsed once per distinct text."""
    return tuple(
        node
        for node in tinycss2.parse_blocks_contents(style, skip_comments=True, skip_whitespace=True)
        if isinstance(node, Declaration)
    )


@dataclass(frozen=True, slots=True)
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


@dataclass(frozen=True, slots=True)
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


@dataclass(frozen=True, eq=False, slots=True)
class StyleRule:
    """One rule of a ``<style>`` block; equal only to itself, so that it can key a cache
    cheaply (rules are parsed once per distinct block)."""

    selectors: tuple[Selector, ...]
    declarations: tuple[Declaration, ...]

    def matches(self, element: HtmlElement) -> bool:
        return any(selector.matches(element) for selector in self.selectors)


class StyleSheet:
    """The document's ``<style>`` rules that set one of the properties asked for, indexed
    by what the last part of each selector needs (an id, a class, a tag), so an element
    is tested against the few rules that could reach it."""

    def __init__(self, rules: tuple[StyleRule, ...]) -> None:
        self.rules = rules
        self._ids: dict[str, list[tuple[int, Selector]]] = {}
        self._classes: dict[str, list[tuple[int, Selector]]] = {}
        self._tags: dict[str, list[tuple[int, Selector]]] = {}
        for position, rule in enumerate(rules):
            for selector in rule.selectors:
                last = selector.compounds[-1]
                if last.ids:
                    self._ids.setdefault(min(last.ids), []).append((position, selector))
                elif last.classes:
                    self._classes.setdefault(min(last.classes), []).append((position, selector))
                else:
                    self._tags.setdefault(last.tag or "*", []).append((position, selector))

    def matching(self, element: HtmlElement) -> tuple[StyleRule, ...]:
        """The rules that reach ``element``, in the order they are written."""
        candidates = [*self._tags.get(element.tag, ()), *self._tags.get("*", ())]
        if self._classes:
            for name in (element.get("class") or "").split():
                candidates.extend(self._classes.get(name, ()))
        if self._ids:
            candidates.extend(self._ids.get(element.get("id") or "", ()))
        if not candidates:
            return ()
        found = sorted({position for position, selector in candidates if selector.matches(element)})
        return tuple(self.rules[position] for position in found)


def style_sheet(document: HtmlElement, properties: frozenset[str]) -> StyleSheet:
    """The rules of the document's ``<style>`` blocks (those for every screen, outside
    ``@media``) that set one of ``properties``."""
    rules: list[StyleRule] = []
    for block in document.iter("style"):
        if (block.get("media") or "all").strip().lower() in _EVERY_SCREEN:
            rules.extend(_block_rules(block.text_content(), properties))
    return StyleSheet(tuple(rules))


@lru_cache(maxsize=256)
def _block_rules(css: str, properties: frozenset[str]) -> tuple[StyleRule, ...]:
    rules = []
    for rule in _qualified_rules(css):
        declarations = tuple(
            item
            for item in tinycss2.parse_blocks_contents(
                rule.content, skip_comments=True, skip_whitespace=True
            )
            if isinstance(item, Declaration) and item.lower_name in properties
        )
        selectors = [parse_selector(text) for text in tinycss2.serialize(rule.prelude).split(",")]
        matchable = tuple(selector for selector in selectors if selector is not None)
        if declarations and matchable:
            rules.append(StyleRule(matchable, declarations))
    return tuple(rules)


def _qualified_rules(css: str) -> Iterable[QualifiedRule]:
    for rule in tinycss2.parse_stylesheet(css, skip_comments=True, skip_whitespace=True):
        if isinstance(rule, QualifiedRule):
            yield rule
