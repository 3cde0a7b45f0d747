"""What every rule reads: the compiled issue, parsed once, with the way back to its source.

Rules look at the compiled output (so a template override is checked too) and name the
place that caused a finding: the section an element sits in, the field of the campaign
file that holds the offending value where it can be found, or the template.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import lxml.html
from lxml.html import HtmlElement

from newsletter.checks.findings import FieldPath, Place, Source
from newsletter.checks.styles import Styles
from newsletter.config import Settings
from newsletter.errors import NewsletterError
from newsletter.models import Issue
from newsletter.render.compile import CompiledIssue
from newsletter.render.merge import MergeTags
from newsletter.yamlfile import LoadedYaml, load_yaml

FOOTER_CLASS = "nl-footer"
"""Marks the footer's section in the compiled HTML: what follows it is the footer."""

FOOTER_TEMPLATE = "footer.mjml.j2"
MAIN_TEMPLATE = "newsletter.mjml.j2"
TEXT_TEMPLATE = "newsletter.txt.j2"


@dataclass(frozen=True)
class Delivery:
    """What the provider adds around the compiled body, for the compliance rules."""

    provider: str
    merge_tags: MergeTags
    list_unsubscribe_header: bool
    """The provider sets ``List-Unsubscribe`` and ``List-Unsubscribe-Post`` on each message."""
    dkim_domain: str | None = None
    """The domain the provider signs with, when it signs."""
    returns_handled: bool = True
    """Bounces and complaints reach something that acts on them: the provider's own
    systems (Mailchimp), or the bounce mailbox ``newsletter inbound`` reads."""


@dataclass(frozen=True)
class Reach:
    """Who an issue reaches among the subscribed members."""

    subscribed: int
    reached: int
    chose_no_topic: int
    """Left out because they chose no topic at all."""
    chose_other_topics: int
    """Left out because they chose only topics the issue does not name."""
    topics: tuple[str, ...] = ()


_URL = re.compile(r"^(?:[a-z][a-z0-9+.-]*://|mailto:|tel:)", re.IGNORECASE)
"""A value that is an address, found in a field only where it stands whole."""
_URL_BEFORE = r"""(?:^|(?<=[\s(<\["']))"""
_URL_AFTER = r"""(?=[.,;:!?]*(?:[)\]>\s"']|$))"""
"""Around an address that stands whole in Markdown: ``(url)``, ``<url>``, ``[id]: url``,
or bare in a sentence, perhaps with the sentence's punctuation after it."""

_OWNER_BEFORE_SECTIONS = -1
_OWNER_FOOTER = -2


class CheckInput:
    """One issue as a provider would send it, with everything the rules need."""

    def __init__(
        self,
        issue: Issue,
        compiled: CompiledIssue,
        settings: Settings,
        delivery: Delivery,
        *,
        source: LoadedYaml | None = None,
        reach: Reach | None = None,
    ) -> None:
        self.issue = issue
        self.compiled = compiled
        self.settings = settings
        self.delivery = delivery
        self.source = source
        self.reach = reach

    @cached_property
    def document(self) -> HtmlElement:
        return lxml.html.document_fromstring(self.compiled.html)

    @cached_property
    def styles(self) -> Styles:
        """How each element looks and whether a reader can see it: one walk, shared by
        every family."""
        return Styles(self.document)

    def elements(self, *tags: str) -> Iterator[HtmlElement]:
        """The document's elements in order, only ``tags`` when given."""
        return self.document.iter(*tags) if tags else self.document.iter()

    @cached_property
    def _owners(self) -> dict[HtmlElement, int]:
        """Each element's section index, or before-sections, or footer."""
        anchors = {section.id: index for index, section in enumerate(self.issue.sections)}
        owners: dict[HtmlElement, int] = {}
        current = _OWNER_BEFORE_SECTIONS
        for element in self.document.iter():
            if not isinstance(element.tag, str):
                continue
            if FOOTER_CLASS in (element.get("class") or "").split():
                current = _OWNER_FOOTER
            elif current != _OWNER_FOOTER:
                anchor = element.get("id") or element.get("name")
                if anchor in anchors and (element.tag != "a" or not element.get("href")):
                    current = anchors[anchor]
            owners[element] = current
        return owners

    def section_of(self, element: HtmlElement) -> int | None:
        """The index of the issue section ``element`` belongs to, if any."""
        owner = self._owners.get(element, _OWNER_BEFORE_SECTIONS)
        return owner if owner >= 0 else None

    def place_of(self, element: HtmlElement, *values: str) -> Place:
        """Where ``element`` came from; ``values`` (a URL, an alt text) narrow it to the
        field of the campaign file that holds one of them."""
        owner = self._owners.get(element, _OWNER_BEFORE_SECTIONS)
        if owner == _OWNER_FOOTER:
            return Place(Source.TEMPLATE, name=FOOTER_TEMPLATE)
        base: FieldPath = ("sections", owner) if owner >= 0 else ()
        found = self.field_holding(values, base) if values else None
        if found is not None:
            return Place(field=found)
        if owner >= 0:
            return Place(field=base)
        return Place(Source.TEMPLATE, name=MAIN_TEMPLATE)

    @cached_property
    def _data(self) -> Any:
        if self.source is not None and isinstance(self.source.data, Mapping):
            return self.source.data
        return self.issue.model_dump(mode="json", exclude_defaults=True)

    def field_holding(self, values: Sequence[str], base: FieldPath = ()) -> FieldPath | None:
        """The field under ``base`` of the campaign file that holds one of ``values``: one
        whose whole text is the value first, else the first whose text contains it (a
        URL only where it stands whole, as Markdown writes it: ``(url)``, ``<url>``)."""
        wanted = [value.strip() for value in values if value and value.strip()]
        if not wanted:
            return None
        node: Any = self._data
        for part in base:
            try:
                node = node[part]
            except (KeyError, IndexError, TypeError):
                return None
        exact = frozenset(wanted)
        found = _search(node, base, lambda text: text.strip() in exact)
        return found if found is not None else _search(node, base, _containing(wanted))

    @cached_property
    def project_source(self) -> LoadedYaml | None:
        try:
            return load_yaml(self.settings.project_file, max_bytes=self.settings.max_file_bytes)
        except (NewsletterError, OSError):
            return None

    def file_of(self, place: Place) -> Path | None:
        if place.source is Source.CAMPAIGN:
            return self.source.path if self.source is not None else None
        if place.source is Source.PROJECT:
            return self.settings.project_file
        return self.settings.resolve(self.settings.templates_dir) / place.name

    def line_of(self, place: Place) -> int | None:
        """The line of the campaign or project file where ``place`` is, when known; none
        for a finding about the issue as a whole."""
        if not place.field:
            return None
        if place.source is Source.CAMPAIGN:
            loaded = self.source
        elif place.source is Source.PROJECT:
            loaded = self.project_source
        else:
            return None
        return loaded.position_of(place.field).line if loaded is not None else None


def _containing(values: Sequence[str]) -> Callable[[str], bool]:
    urls = [value for value in values if _URL.match(value)]
    words = [value for value in values if not _URL.match(value)]
    whole = (
        re.compile("|".join(f"{_URL_BEFORE}{re.escape(url)}{_URL_AFTER}" for url in urls))
        if urls
        else None
    )

    def contains(text: str) -> bool:
        return any(word in text for word in words) or (
            whole is not None and whole.search(text) is not None
        )

    return contains


def _search(node: Any, at: FieldPath, holds: Callable[[str], bool]) -> FieldPath | None:
    if isinstance(node, str):
        return at if holds(node) else None
    if isinstance(node, Mapping):
        items: Iterator[tuple[Any, Any]] = iter(node.items())
    elif isinstance(node, list):
        items = enumerate(node)
    else:
        return None
    for key, child in items:
        found = _search(child, (*at, key), holds)
        if found is not None:
            return found
    return None
