"""Mailing-list providers: the local one (SQLite + SMTP/Maildir), Mailchimp, and a fake."""

from __future__ import annotations

from importlib import import_module

from newsletter.config import Settings
from newsletter.errors import ConfigError
from newsletter.providers.base import Provider

_PROVIDERS = {
    "local": "newsletter.providers.local:LocalProvider",
    "mailchimp": "newsletter.providers.mailchimp:MailchimpProvider",
    "memory": "newsletter.providers.memory:MemoryProvider",
}


def provider_names() -> list[str]:
    return sorted(_PROVIDERS)


def get_provider(settings: Settings, name: str | None = None) -> Provider:
    """The provider named, or the one chosen by ``provider:`` or ``NEWSLETTER_PROVIDER``."""
    chosen = name or settings.provider
    target = _PROVIDERS.get(chosen)
    if target is None:
        raise ConfigError(
            f"unknown provider '{chosen}' (choose from {', '.join(provider_names())})"
        )
    module_name, _, class_name = target.partition(":")
    provider_class: type[Provider] = getattr(import_module(module_name), class_name)
    return provider_class(settings)
