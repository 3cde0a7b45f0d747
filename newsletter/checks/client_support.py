"""Which mail clients support which HTML and CSS features: caniemail's tables, read once.

``data/caniemail.json`` is a trimmed copy of the caniemail npm package (MIT, licence in
``data/caniemail-LICENSE``), rebuilt by ``scripts/refresh_caniemail.py``. It keeps one
verdict per platform (the newest version caniemail tested) for Gmail, Outlook for
Windows, Apple Mail and Yahoo Mail: ``y`` supported, ``a`` partly, ``n`` not, ``u``
unknown.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from lxml.html import HtmlElement

DATA_FILE = Path(__file__).resolve().parent / "data" / "caniemail.json"

SUPPORTED = "y"
PARTIAL = "a"
UNSUPPORTED = "n"


@dataclass(frozen=True)
class Client:
    key: str
    """caniemail's family key: ``gmail``, ``outlook``, ``apple-mail``, ``yahoo``."""
    name: str
    platforms: Mapping[str, str]
    """caniemail's platform key to a plain label, e.g. ``ios`` to ``iPhone app``."""


@dataclass(frozen=True)
class Feature:
    slug: str
    title: str
    category: str
    support: Mapping[str, Mapping[str, str]]
    """Client key to platform key to verdict letter."""

    def platforms(self, client: str, verdict: str) -> tuple[str, ...]:
        """The platforms of ``client`` whose verdict is ``verdict``."""
        found = self.support.get(client, {})
        return tuple(platform for platform, said in found.items() if said == verdict)


@dataclass(frozen=True)
class Use:
    """One place the email uses a feature."""

    slug: str
    element: HtmlElement
    """The element that carries it: for a rule in a ``<style>`` block, that block."""
    prop: str = ""
    """The CSS property of the declaration, for a CSS feature used in one."""
    value: str = ""
    """The declaration's value (lowercase), or the at-rule's prelude."""
    conditional: bool = False
    """Inside ``@media`` or ``@supports`` (or a ``<style media=…>``), or that rule itself."""
    inline: bool = False
    """From a ``style`` attribute."""


@dataclass(frozen=True)
class SupportTable:
    source: Mapping[str, str]
    """Package, version, integrity and date of the data."""
    clients: tuple[Client, ...]
    features: Mapping[str, Feature]

    def client(self, key: str) -> Client:
        return next(client for client in self.clients if client.key == key)


@cache
def table() -> SupportTable:
    """The support table, read from the package data once per process."""
    raw = json.loads(DATA_FILE.read_text(encoding="utf-8"))
    clients = tuple(
        Client(key, entry["name"], entry["platforms"]) for key, entry in raw["clients"].items()
    )
    features = {
        slug: Feature(slug, entry["title"], entry["category"], entry["support"])
        for slug, entry in raw["features"].items()
    }
    return SupportTable(raw["source"], clients, features)
