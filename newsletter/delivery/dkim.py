"""DKIM signatures (dkimpy) over the headers a receiver checks, one-click ones included."""

from __future__ import annotations

from dataclasses import dataclass

import dkim

from newsletter.config import Settings
from newsletter.errors import ConfigError

SIGNED_HEADERS: tuple[bytes, ...] = (
    b"from",
    b"to",
    b"subject",
    b"date",
    b"message-id",
    b"reply-to",
    b"list-id",
    b"list-unsubscribe",
    b"list-unsubscribe-post",
    b"mime-version",
    b"content-type",
)


@dataclass(frozen=True)
class DkimSigner:
    selector: bytes
    domain: bytes
    key: bytes

    def __repr__(self) -> str:
        return f"DkimSigner(selector={self.selector!r}, domain={self.domain!r}, key=<hidden>)"

    def sign(self, message: bytes) -> bytes:
        """``message`` with a ``DKIM-Signature`` header in front."""
        signature = dkim.sign(
            message,
            self.selector,
            self.domain,
            self.key,
            canonicalize=(b"relaxed", b"relaxed"),
            include_headers=list(SIGNED_HEADERS),
        )
        return signature + message

    @classmethod
    def from_settings(cls, settings: Settings) -> DkimSigner | None:
        """A signer when a key is configured; None when DKIM is off."""
        values = (settings.dkim_selector, settings.dkim_domain, settings.dkim_key_file)
        if not any(values):
            return None
        if not all(values):
            raise ConfigError(
                "DKIM needs all of NEWSLETTER_DKIM_SELECTOR, NEWSLETTER_DKIM_DOMAIN "
                "and NEWSLETTER_DKIM_KEY_FILE"
            )
        assert settings.dkim_key_file is not None
        path = settings.resolve(settings.dkim_key_file)
        try:
            key = path.read_bytes()
        except OSError as exc:
            raise ConfigError(f"{path}: cannot read the DKIM key: {exc.strerror}") from None
        if b"PRIVATE KEY" not in key:
            raise ConfigError(f"{path}: not a PEM private key")
        return cls(
            str(settings.dkim_selector).encode("ascii"),
            str(settings.dkim_domain).encode("ascii"),
            key,
        )
