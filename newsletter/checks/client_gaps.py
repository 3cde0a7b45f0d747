"""Where a use of a feature leaves a client without it: caniemail's verdicts, read by a
stated rule, less the fallbacks the compiler provides and the gaps that cost nothing.

The rule: a client lacks a feature on each of its platforms whose verdict is ``n``.
A partial verdict (``a``) is a caveat (a value, an element or an account type the
feature does not cover) and counts as support, except the few partials in ``BLOCKING``,
whose caveat is the way the email uses the feature. Unknown (``u``) counts as support.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

from newsletter.checks.client_fallbacks import FALLBACKS, Facts
from newsletter.checks.client_support import PARTIAL, UNSUPPORTED, Feature, Use, table

Test = Callable[[Use], bool]


@dataclass(frozen=True)
class Blocking:
    """A partial verdict that counts as no support when ``applies`` to the use."""

    slug: str
    clients: frozenset[str]
    applies: Test
    why: str


def _space_syntax(use: Use) -> bool:
    """``rgb(0 128 0)``: a colour function written without commas."""
    start = use.value.find("rgb")
    while start >= 0:
        end = use.value.find(")", start)
        if "," not in use.value[start:end]:
            return True
        start = use.value.find("rgb", end)
    return False


def _in_body(use: Use) -> bool:
    return any(parent.tag == "body" for parent in use.element.iterancestors())


BLOCKING: tuple[Blocking, ...] = (
    Blocking(
        "css-position",
        frozenset({"yahoo"}),
        lambda use: use.value in {"absolute", "fixed", "sticky"},
        "Yahoo Mail keeps only position:relative",
    ),
    Blocking(
        "css-position",
        frozenset({"apple-mail"}),
        lambda use: use.value in {"fixed", "sticky"},
        "Apple Mail has no position:fixed or sticky",
    ),
    *(
        Blocking(
            slug,
            frozenset({"gmail", "outlook", "yahoo"}),
            _space_syntax,
            "the comma-less syntax is not understood; Gmail drops the whole style with it",
        )
        for slug in ("css-rgb", "css-rgba")
    ),
    Blocking(
        "html-style",
        frozenset({"gmail"}),
        _in_body,
        "Gmail ignores a <style> element inside <body>",
    ),
    Blocking(
        "css-max-width",
        frozenset({"outlook"}),
        lambda use: use.element.tag != "table",
        "Outlook applies max-width to tables only",
    ),
)

_BLOCKING_SLUGS = frozenset(blocking.slug for blocking in BLOCKING)


@cache
def _unsupported(slug: str) -> dict[str, tuple[str, ...]]:
    feature = table().features[slug]
    found = {client.key: feature.platforms(client.key, UNSUPPORTED) for client in table().clients}
    return {client: platforms for client, platforms in found.items() if platforms}


def gaps(use: Use, feature: Feature, facts: Facts) -> dict[str, tuple[str, ...]]:
    """The clients, with their platforms, left without ``feature`` where ``use`` is."""
    found = dict(_unsupported(feature.slug))
    if not found and feature.slug not in _BLOCKING_SLUGS:
        return found
    for blocking in BLOCKING:
        if blocking.slug == feature.slug and blocking.applies(use):
            for client in blocking.clients:
                partial = feature.platforms(client, PARTIAL)
                if partial:
                    found[client] = (*found.get(client, ()), *partial)
    return {
        client: platforms
        for client, platforms in found.items()
        if not any(fallback.backs(use, client, facts) for fallback in FALLBACKS)
    }
