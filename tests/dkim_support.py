"""DKIM keys written as files, their DNS records, and dkimpy's verifier (an implementation
that is not ours) checking every signature a message carries."""

from __future__ import annotations

import base64
from pathlib import Path

import dkim
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

DOMAIN = "example.org"


def write_key(path: Path, kind: str = "rsa", password: bytes | None = None) -> bytes:
    """A new private key of ``kind`` (rsa, ed25519, ec) as PEM in ``path``; returns the
    TXT record that publishes its public half."""
    if kind == "rsa":
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    elif kind == "ed25519":
        key = Ed25519PrivateKey.generate()
    else:
        key = ec.generate_private_key(ec.SECP256R1())
    encryption = (
        serialization.BestAvailableEncryption(password)
        if password
        else serialization.NoEncryption()
    )
    path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption)
    )
    return record(key)


def record(key: rsa.RSAPrivateKey | Ed25519PrivateKey | ec.EllipticCurvePrivateKey) -> bytes:
    public = key.public_key()
    if isinstance(public, Ed25519PublicKey):
        raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        return b"v=DKIM1; k=ed25519; p=" + base64.b64encode(raw)
    der = public.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return b"v=DKIM1; k=rsa; p=" + base64.b64encode(der)


def signature_count(message: bytes) -> int:
    """DKIM-Signature fields in the head, with CRLF or (in a Maildir) LF line ends."""
    head = message.replace(b"\r\n", b"\n").partition(b"\n\n")[0]
    return sum(line.lower().startswith(b"dkim-signature:") for line in head.split(b"\n"))


def verify_all(message: bytes, records: dict[str, bytes]) -> list[bool]:
    """dkimpy's verdict on each DKIM-Signature, top first; ``records`` maps selectors to
    TXT records, given to dkimpy through its DNS hook."""

    def dns(name: bytes, timeout: float = 5) -> bytes:
        selector, _, rest = name.decode().partition("._domainkey.")
        assert rest == DOMAIN + ".", name
        return records[selector]

    def verdict(index: int) -> bool:
        try:
            return dkim.DKIM(message).verify(idx=index, dnsfunc=dns)
        except dkim.DKIMException:
            return False

    return [verdict(n) for n in range(signature_count(message))]
