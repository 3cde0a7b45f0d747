"""The Mailchimp provider: the Marketing API v3 over httpx (no SDK).

``MailchimpProvider`` is imported on first use, so ``tags`` can be read without httpx.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from newsletter.providers.mailchimp.provider import MailchimpProvider

__all__ = ["MailchimpProvider"]


def __getattr__(name: str) -> Any:
    if name == "MailchimpProvider":
        from newsletter.providers.mailchimp.provider import MailchimpProvider

        return MailchimpProvider
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
