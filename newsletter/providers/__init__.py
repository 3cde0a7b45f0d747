"""Mailing-list providers: the local one (SQLite + SMTP/Maildir), Mailchimp, and a fake.

Each is registered once, by name, in ``registry``.
"""

from __future__ import annotations

from newsletter.providers.registry import get_provider, provider_names

__all__ = ["get_provider", "provider_names"]
