"""DKIM signatures (RFC 6376, relaxed/relaxed, SHA-256) over the headers a receiver
checks, one-click ones included; an Ed25519 one (RFC 8463) beside the RSA one when a
second key is set.

Keys are parsed once per send and OpenSSL (through ``cryptography``) does the signing:
dkimpy, used before, parsed the PEM key for every message and did RSA in pure Python.
On the example message that took 8.7 ms a signature against 0.45 ms here, most of it
the RSA (``benchmarks/dkim.py``). The tests check every signature with dkimpy's
verifier, also after a real SMTP server has received the message.
"""

from __future__ import annotations

import base64
import hashlib
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from newsletter.delivery.canonical import (
    relaxed_body,
    relaxed_header,
    relaxed_headers,
    split_message,
)

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
"""Listed in ``h=`` whether present or not: a verifier then also fails a message to
which one of them was added later, a Reply-To above all."""

FOLD_AT = 78
_FIELD_NAME = b"DKIM-Signature:"

SigningKey = rsa.RSAPrivateKey | Ed25519PrivateKey
Pieces = Iterable[tuple[bytes, bytes]]
"""Parts of a field value, each with what joins it to the one before on the same line."""


@dataclass(frozen=True)
class DkimKey:
    selector: bytes
    key: SigningKey = field(repr=False)

    @property
    def algorithm(self) -> bytes:
        return b"rsa-sha256" if isinstance(self.key, rsa.RSAPrivateKey) else b"ed25519-sha256"

    def sign(self, data: bytes) -> bytes:
        """RSA: PKCS#1 v1.5 over SHA-256 of ``data``; Ed25519: over the SHA-256 digest
        itself (RFC 8463 3)."""
        if isinstance(self.key, rsa.RSAPrivateKey):
            return self.key.sign(data, padding.PKCS1v15(), hashes.SHA256())
        return self.key.sign(hashlib.sha256(data).digest())


class DkimSigner:
    """One signature a key on each message; shared by the threads of a send."""

    def __init__(
        self,
        domain: bytes,
        keys: Sequence[DkimKey],
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.domain = domain
        self.keys = tuple(keys)
        self.clock = clock
        self._tags = [_tags(key, domain) for key in self.keys]
        self._names = _header_list()

    def __repr__(self) -> str:
        selectors = [key.selector for key in self.keys]
        return f"DkimSigner(domain={self.domain!r}, selectors={selectors!r}, keys=<hidden>)"

    def sign(self, message: bytes) -> bytes:
        """``message`` (CRLF line endings) with one ``DKIM-Signature`` a key in front;
        ended with CRLF if it was not, as SMTP would end it."""
        if not message.endswith(b"\r\n"):
            message += b"\r\n"
        fields, body = split_message(message)
        body_hash = base64.b64encode(hashlib.sha256(relaxed_body(body)).digest())
        headers = relaxed_headers(fields, SIGNED_HEADERS)
        varying = [(b" ", b"t=%d;" % int(self.clock())), (b" ", b"bh=" + body_hash + b";")]
        signatures = [
            _signature(key, [*tags, *self._names, *varying, (b" ", b"b=")], headers)
            for key, tags in zip(self.keys, self._tags, strict=True)
        ]
        return b"".join(signatures) + message


def _tags(key: DkimKey, domain: bytes) -> list[tuple[bytes, bytes]]:
    return [
        (b" ", b"v=1;"),
        (b" ", b"a=" + key.algorithm + b";"),
        (b" ", b"c=relaxed/relaxed;"),
        (b" ", b"d=" + domain + b";"),
        (b" ", b"s=" + key.selector + b";"),
    ]


def _header_list() -> list[tuple[bytes, bytes]]:
    """``h=`` with room to fold after each colon."""
    names = [name + b":" for name in SIGNED_HEADERS]
    names[-1] = names[-1].removesuffix(b":") + b";"
    return [(b" ", b"h=" + names[0]), *((b"", name) for name in names[1:])]


def _signature(key: DkimKey, pieces: Pieces, headers: bytes) -> bytes:
    """The whole field: the hash covers the signed headers, then this field as it will
    be sent but with ``b=`` empty and no CRLF at its end (RFC 6376 3.7)."""
    unsigned, column = _fold(pieces, len(_FIELD_NAME))
    unsigned = _FIELD_NAME + unsigned
    data = headers + relaxed_header(unsigned).removesuffix(b"\r\n")
    value = base64.b64encode(key.sign(data))
    return unsigned + _fold_token(value, column) + b"\r\n"


def _fold(pieces: Pieces, column: int) -> tuple[bytes, int]:
    """The pieces joined, a line break before any that would pass ``FOLD_AT``; and the
    length of the last line."""
    out = []
    for glue, text in pieces:
        if column + len(glue) + len(text) > FOLD_AT and column > 1:
            out.append(b"\r\n ")
            column = 1
        else:
            out.append(glue)
            column += len(glue)
        out.append(text)
        column += len(text)
    return b"".join(out), column


def _fold_token(token: bytes, column: int) -> bytes:
    """``token`` filling the current line, then lines of ``FOLD_AT``; base64 in ``b=``
    may be broken anywhere (RFC 6376 3.5)."""
    first = max(FOLD_AT - column, 0)
    width = FOLD_AT - 1
    lines = [token[:first], *(token[i : i + width] for i in range(first, len(token), width))]
    return b"\r\n ".join(lines)
