"""The DKIM signer the settings ask for, its keys read and checked before a send starts.

Errors name the file and what is wrong with it, never its contents.
"""

from __future__ import annotations

from pathlib import Path

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import load_pem_private_key

from newsletter.config import Settings
from newsletter.delivery.dkim import DkimKey, DkimSigner, SigningKey
from newsletter.errors import ConfigError

MIN_RSA_BITS = 1024
"""RFC 8301 3.2: verifiers fail signatures made with smaller keys."""


def signer_from_settings(settings: Settings) -> DkimSigner | None:
    """A signer when a key is configured; None when DKIM is off."""
    rsa_values = (settings.dkim_selector, settings.dkim_domain, settings.dkim_key_file)
    ed_values = (settings.dkim_ed25519_selector, settings.dkim_ed25519_key_file)
    if not any(rsa_values):
        if any(ed_values):
            raise ConfigError(
                "the Ed25519 DKIM signature goes beside an RSA one: set "
                "NEWSLETTER_DKIM_SELECTOR, NEWSLETTER_DKIM_DOMAIN and NEWSLETTER_DKIM_KEY_FILE"
            )
        return None
    if not all(rsa_values):
        raise ConfigError(
            "DKIM needs all of NEWSLETTER_DKIM_SELECTOR, NEWSLETTER_DKIM_DOMAIN "
            "and NEWSLETTER_DKIM_KEY_FILE"
        )
    if any(ed_values) and not all(ed_values):
        raise ConfigError(
            "an Ed25519 DKIM signature needs both NEWSLETTER_DKIM_ED25519_SELECTOR "
            "and NEWSLETTER_DKIM_ED25519_KEY_FILE"
        )
    assert settings.dkim_key_file is not None
    keys = [
        DkimKey(
            _ascii(settings.dkim_selector),
            _key(settings, settings.dkim_key_file, rsa.RSAPrivateKey, "RSA"),
        )
    ]
    if settings.dkim_ed25519_key_file is not None:
        keys.append(
            DkimKey(
                _ascii(settings.dkim_ed25519_selector),
                _key(settings, settings.dkim_ed25519_key_file, Ed25519PrivateKey, "Ed25519"),
            )
        )
    return DkimSigner(_ascii(settings.dkim_domain), keys)


def _ascii(name: str | None) -> bytes:
    return str(name).encode("ascii")


def _key(settings: Settings, path: Path, kind: type, what: str) -> SigningKey:
    key = read_key(settings.resolve(path))
    if not isinstance(key, kind):
        raise ConfigError(f"{path}: not an {what} private key")
    return key


def read_key(path: Path) -> SigningKey:
    """An unencrypted PEM private key, RSA of at least ``MIN_RSA_BITS`` or Ed25519."""
    try:
        pem = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the DKIM key: {exc.strerror}") from None
    try:
        key = load_pem_private_key(pem, password=None)
    except TypeError:
        raise ConfigError(f"{path}: the DKIM key is encrypted; it needs no passphrase") from None
    except (ValueError, UnsupportedAlgorithm):
        raise ConfigError(f"{path}: not a PEM private key") from None
    if isinstance(key, rsa.RSAPrivateKey):
        if key.key_size < MIN_RSA_BITS:
            raise ConfigError(
                f"{path}: a {key.key_size}-bit RSA key; verifiers refuse keys under "
                f"{MIN_RSA_BITS} bits (2048 is usual)"
            )
        return key
    if isinstance(key, Ed25519PrivateKey):
        return key
    raise ConfigError(f"{path}: a DKIM key must be RSA or Ed25519")
