"""Signed addresses on the bounce mailbox: one return path and one mailto unsubscribe
address per message.

With ``bounce_address: bounces@news.example.org`` a message's envelope sender is
``bounces+<subscriber>.<campaign>.<signature>@news.example.org``, so whatever comes back
to it names the member and the issue even when the report itself does not. The
unsubscribe address starts its token with ``u.`` and is signed under another salt:
out-of-office replies go to the return path (RFC 3834), and must never read as an
unsubscribe.

The signature is HMAC-SHA256 cut to 12 bytes (16 characters) so a token fits in the
64 octets RFC 5321 allows a local part; guessing one is still a 2**-96 chance. Mail
servers keep a local part's case as it was sent (RFC 5321 2.4), which the mixed-case
token relies on.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from functools import cache, cached_property

from itsdangerous import BadSignature, Signer
from itsdangerous.signer import HMACAlgorithm

from newsletter.config import Settings
from newsletter.errors import ConfigError, TokenError
from newsletter.links import signing_keys

SIGNATURE_BYTES = 12
UNSUBSCRIBE_PREFIX = "u."
TEST_CAMPAIGN = 0
"""The campaign number in the return path of a test copy."""


class _Signer(Signer):
    """Derives each key once: reading a mailbox checks thousands of tokens."""

    @cache  # noqa: B019 - one signer per kind of address, kept for the process
    def derive_key(self, secret_key: str | bytes | None = None) -> bytes:
        return super().derive_key(secret_key)


class _ShortHMAC(HMACAlgorithm):
    def __init__(self) -> None:
        super().__init__(hashlib.sha256)

    def get_signature(self, key: bytes, value: bytes) -> bytes:
        return super().get_signature(key, value)[:SIGNATURE_BYTES]


class AddressKind(StrEnum):
    RETURN_PATH = "return-path"
    UNSUBSCRIBE = "unsubscribe"


@dataclass(frozen=True)
class AddressToken:
    """What a signed address on the bounce mailbox names."""

    kind: AddressKind
    subscriber_id: str
    campaign_id: int


class ReturnAddresses:
    """Makes and reads the signed addresses on one bounce mailbox."""

    def __init__(self, bounce_address: str, secrets: Sequence[str]) -> None:
        local, at, domain = bounce_address.rpartition("@")
        if not (local and at and domain):
            raise ConfigError(f"bounce_address '{bounce_address}' is not an email address")
        self.local = local.lower()
        self.domain = domain.lower()
        keys = signing_keys(secrets)
        self._signers = {
            kind: _Signer(
                keys,
                salt=f"newsletter.{kind.value}",
                digest_method=hashlib.sha256,
                algorithm=_ShortHMAC(),
            )
            for kind in AddressKind
        }

    @cached_property
    def _tokened(self) -> re.Pattern[str]:
        return re.compile(
            rf"(?i:{re.escape(self.local)})\+[^\s<>@,;:\"()\[\]]+@(?i:{re.escape(self.domain)})\b"
        )

    def find(self, text: str) -> list[str]:
        """Every tokened address on this mailbox written in ``text`` (header values)."""
        return self._tokened.findall(text)

    @classmethod
    def from_settings(cls, settings: Settings) -> ReturnAddresses | None:
        """None without a ``bounce_address``: messages keep the From address as sender."""
        if settings.bounce_address is None:
            return None
        return cls(settings.bounce_address, settings.secrets)

    def _address(self, kind: AddressKind, subscriber_id: str, campaign_id: int) -> str:
        signed = self._signers[kind].sign(f"{subscriber_id}.{campaign_id}").decode("ascii")
        prefix = UNSUBSCRIBE_PREFIX if kind is AddressKind.UNSUBSCRIBE else ""
        return f"{self.local}+{prefix}{signed}@{self.domain}"

    def return_path(self, subscriber_id: str, campaign_id: int) -> str:
        return self._address(AddressKind.RETURN_PATH, subscriber_id, campaign_id)

    def unsubscribe_address(self, subscriber_id: str, campaign_id: int) -> str:
        return self._address(AddressKind.UNSUBSCRIBE, subscriber_id, campaign_id)

    def unsubscribe_mailto(self, subscriber_id: str, campaign_id: int) -> str:
        """The mailto: half of List-Unsubscribe."""
        return f"mailto:{self.unsubscribe_address(subscriber_id, campaign_id)}?subject=unsubscribe"

    def read(self, address: str) -> AddressToken | None:
        """The token in ``address``; None when it is not a tokened address on this
        mailbox. ``TokenError`` when it is, but the signature does not hold."""
        local, at, domain = address.strip().strip("<>").rpartition("@")
        base, plus, token = local.partition("+")
        if not (at and plus and token) or base.lower() != self.local:
            return None
        if domain.lower() != self.domain:
            return None
        kind = AddressKind.RETURN_PATH
        if token.startswith(UNSUBSCRIBE_PREFIX):
            kind = AddressKind.UNSUBSCRIBE
            token = token[len(UNSUBSCRIBE_PREFIX) :]
        try:
            payload = self._signers[kind].unsign(token).decode("ascii")
        except (BadSignature, UnicodeDecodeError):
            raise TokenError(f"the {kind.value} token in {address} is not ours") from None
        subscriber_id, _, campaign = payload.rpartition(".")
        if not subscriber_id or not campaign.isdigit():
            raise TokenError(f"the {kind.value} token in {address} is malformed")
        return AddressToken(kind, subscriber_id, int(campaign))
