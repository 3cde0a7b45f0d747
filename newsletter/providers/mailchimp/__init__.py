"""The Mailchimp provider: the Marketing API v3 over httpx (no SDK)."""

from newsletter.providers.mailchimp.provider import MailchimpProvider

__all__ = ["MailchimpProvider"]
