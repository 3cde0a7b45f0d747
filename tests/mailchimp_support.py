"""Helpers for the Mailchimp tests: a provider wired to the in-process fake."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from newsletter.config import Settings
from newsletter.providers.mailchimp import MailchimpProvider
from newsletter.providers.mailchimp.client import MailchimpClient
from newsletter.providers.mailchimp.fake import FakeMailchimp

API_KEY = "0123456789abcdef0123456789abcdef-us21"
AUDIENCE = "aud0123"
FAKE_ROOT = "https://fake.mailchimp.test/3.0"


def use_mailchimp(monkeypatch: pytest.MonkeyPatch, base_url: str, key: str = API_KEY) -> None:
    monkeypatch.setenv("MAILCHIMP_API_KEY", key)
    monkeypatch.setenv("MAILCHIMP_AUDIENCE_ID", AUDIENCE)
    monkeypatch.setenv("MAILCHIMP_BASE_URL", base_url)


def fake_provider(
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    fake: FakeMailchimp,
    *,
    base_url: str = FAKE_ROOT,
    sleeps: list[float] | None = None,
    key: str = API_KEY,
) -> MailchimpProvider:
    """A provider talking to ``fake``; backoff sleeps are recorded instead of slept."""
    use_mailchimp(monkeypatch, base_url, key)
    client = MailchimpClient(
        SecretStr(key),
        base_url,
        transport=fake,
        sleep=sleeps.append if sleeps is not None else lambda _seconds: None,
    )
    return MailchimpProvider(settings, client=client)
