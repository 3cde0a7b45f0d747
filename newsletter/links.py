"""Signed links: who a link is for and what it may do, without an email address in it.

A token is an opaque subscriber id signed with HMAC (itsdangerous) under a salt per
purpose, so an unsubscribe token cannot be used as a preferences token. Tokens never
expire: unsubscribe links must keep working. Secrets listed in ``NEWSLETTER_OLD_SECRETS``
still verify, so the current secret can be rotated without breaking sent emails.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from itsdangerous import BadSignature, URLSafeSerializer

from newsletter.config import Settings
from newsletter.errors import ConfigError, TokenError
from newsletter.render.merge import Recipient

MIN_SECRET_LENGTH = 32


class Purpose(StrEnum):
    UNSUBSCRIBE = "unsubscribe"
    PREFERENCES = "preferences"


def signing_keys(secrets: Sequence[str]) -> list[str]:
    """The secrets checked and ordered for itsdangerous, which signs with the last key."""
    if not secrets:
        raise ConfigError(
            "NEWSLETTER_SECRET is not set: signed links need it "
            "(generate one with: python -c 'import secrets; print(secrets.token_urlsafe(48))')"
        )
    if any(len(secret) < MIN_SECRET_LENGTH for secret in secrets):
        raise ConfigError(
            f"NEWSLETTER_SECRET (and every old secret) must be at least "
            f"{MIN_SECRET_LENGTH} characters long"
        )
    return list(reversed(secrets))


class LinkSigner:
    def __init__(self, secrets: Sequence[str]) -> None:
        keys = signing_keys(secrets)
        self._serializers = {
            purpose: URLSafeSerializer(keys, salt=f"newsletter.{purpose.value}")
            for purpose in Purpose
        }
        self._signers = {
            purpose: serializer.make_signer() for purpose, serializer in self._serializers.items()
        }

    @classmethod
    def from_settings(cls, settings: Settings) -> LinkSigner:
        return cls(settings.secrets)

    def token(self, purpose: Purpose, subscriber_id: str) -> str:
        """Same as ``serializer.dumps``, with the signer made once (a send signs two a message)."""
        payload = self._serializers[purpose].dump_payload(subscriber_id)
        return self._signers[purpose].sign(payload).decode("ascii")

    def subscriber_id(self, purpose: Purpose, token: str) -> str:
        """The subscriber id a token was made for; ``TokenError`` for anything else."""
        try:
            value = self._serializers[purpose].loads(token)
        except BadSignature:
            raise TokenError("this link is not valid") from None
        if not isinstance(value, str) or not value:
            raise TokenError("this link is not valid")
        return value

    def __repr__(self) -> str:
        return "LinkSigner(<secrets hidden>)"


@dataclass(frozen=True)
class LinkBuilder:
    """The public URLs of the preference centre for one project."""

    public_url: str
    signer: LinkSigner

    @classmethod
    def from_settings(cls, settings: Settings) -> LinkBuilder:
        return cls(settings.public_url.rstrip("/"), LinkSigner.from_settings(settings))

    def unsubscribe_url(self, subscriber_id: str) -> str:
        token = self.signer.token(Purpose.UNSUBSCRIBE, subscriber_id)
        return f"{self.public_url}/unsubscribe/{token}"

    def preferences_url(self, subscriber_id: str) -> str:
        token = self.signer.token(Purpose.PREFERENCES, subscriber_id)
        return f"{self.public_url}/preferences/{token}"

    def archive_url(self, slug: str) -> str:
        return f"{self.public_url}/archive/{slug}"

    def about_url(self) -> str:
        return f"{self.public_url}/about"

    def recipient(
        self, subscriber_id: str, email: str, first_name: str, last_name: str, slug: str
    ) -> Recipient:
        """Who one copy of issue ``slug`` is for, with their signed links."""
        return Recipient(
            email=email,
            first_name=first_name,
            last_name=last_name,
            unsubscribe_url=self.unsubscribe_url(subscriber_id),
            preferences_url=self.preferences_url(subscriber_id),
            archive_url=self.archive_url(slug),
            about_url=self.about_url(),
        )
