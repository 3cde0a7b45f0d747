"""Every provider the tool knows, by name: its class, a one-line summary, its merge tags.

Adding a provider is its own package plus one entry in ``PROVIDERS``; the settings,
``--provider`` and ``--merge-tags`` all read their names from here. Classes and tag sets
are named as ``"module:attribute"`` strings and imported on first use, so importing
this module imports no provider.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from importlib import import_module
from typing import TYPE_CHECKING, Any

from newsletter.errors import ConfigError

if TYPE_CHECKING:
    from newsletter.config import Settings
    from newsletter.providers.base import Provider
    from newsletter.render.merge import MergeTags

DEFAULT_MERGE_TAGS = "newsletter.render.merge:LOCAL_TAGS"
"""The ``[[nl:...]]`` slots: filled by the tool itself, per recipient."""


@dataclass(frozen=True)
class ProviderEntry:
    """Where one provider lives and what the help texts say about it."""

    provider: str
    """``"module:Class"`` of its ``Provider`` subclass."""
    summary: str
    """One line for help texts."""
    merge_tags: str | None = None
    """``"module:NAME"`` of the ``MergeTags`` it owns, offered by ``--merge-tags``;
    None: it fills the default ``[[nl:...]]`` slots, which are local's."""


PROVIDERS: dict[str, ProviderEntry] = {
    "local": ProviderEntry(
        "newsletter.providers.local:LocalProvider",
        "own audience database; SMTP or a Maildir outbox",
        merge_tags=DEFAULT_MERGE_TAGS,
    ),
    "mailchimp": ProviderEntry(
        "newsletter.providers.mailchimp:MailchimpProvider",
        "Mailchimp's Marketing API",
        merge_tags="newsletter.providers.mailchimp.tags:MAILCHIMP_TAGS",
    ),
    "memory": ProviderEntry(
        "newsletter.providers.memory:MemoryProvider",
        "in this process only, for tests and --dry-run",
    ),
}


def provider_names() -> list[str]:
    return sorted(PROVIDERS)


def unknown_provider(name: str) -> str:
    """The one-line reason a provider name is refused, with the names there are."""
    names = provider_names()
    message = f"unknown provider '{name}'; it is one of: {', '.join(names)}"
    close = difflib.get_close_matches(name, names, n=1, cutoff=0.6)
    return message + (f"; did you mean '{close[0]}'?" if close else "")


def entry(name: str) -> ProviderEntry:
    found = PROVIDERS.get(name)
    if found is None:
        raise ConfigError(unknown_provider(name))
    return found


def get_provider(settings: Settings, name: str | None = None) -> Provider:
    """The provider named, or the one chosen by ``provider:`` or ``NEWSLETTER_PROVIDER``."""
    provider_class: type[Provider] = _load(entry(name or settings.provider).provider)
    return provider_class(settings)


def provider_help() -> str:
    """``local (...), mailchimp (...) or memory (...)``: each name with its summary."""
    *rest, last = [f"{name} ({PROVIDERS[name].summary})" for name in provider_names()]
    return f"{', '.join(rest)} or {last}" if rest else last


def merge_tag_names() -> list[str]:
    """Providers with merge tags of their own, in registry order: ``--merge-tags`` choices."""
    return [name for name, found in PROVIDERS.items() if found.merge_tags is not None]


def merge_tags_of(name: str | None) -> MergeTags:
    """The merge tags of the named provider; without a name, the default local slots."""
    own = None if name is None else entry(name).merge_tags
    tags: MergeTags = _load(own or DEFAULT_MERGE_TAGS)
    return tags


def _load(target: str) -> Any:
    module_name, _, attribute = target.partition(":")
    return getattr(import_module(module_name), attribute)
