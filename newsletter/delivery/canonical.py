"""Relaxed canonicalisation (RFC 6376 3.4.2 and 3.4.4): the bytes a DKIM signature covers.

Messages are CRLF bytes (see ``message``); a bare CR or LF is not a line break here.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

_WSP = re.compile(rb"[ \t]+")
_SPACES = re.compile(rb"  +")
_FIELD_START = re.compile(rb"\r\n(?![ \t])")


def split_message(message: bytes) -> tuple[list[bytes], bytes]:
    """The header fields, each with its continuation lines, and the body after the
    empty line (empty when there is none)."""
    head, blank, body = message.partition(b"\r\n\r\n")
    if not blank:
        head = message.removesuffix(b"\r\n")
    return _FIELD_START.split(head), body


def field_name(field: bytes) -> bytes:
    return field.partition(b":")[0].rstrip(b" \t").lower()


def relaxed_header(field: bytes) -> bytes:
    """``name:value`` with the name in lower case, the value unfolded, each run of
    whitespace one space and none at either end; CRLF after it."""
    name, _, value = field.partition(b":")
    value = _WSP.sub(b" ", value.replace(b"\r\n", b"")).strip(b" \t")
    return name.rstrip(b" \t").lower() + b":" + value + b"\r\n"


def relaxed_headers(fields: Iterable[bytes], names: Sequence[bytes]) -> bytes:
    """The canonical fields that ``h=names`` selects: for each name, the last instance
    not yet taken, counting from the bottom; a name with none left adds nothing."""
    wanted = set(names)
    found: dict[bytes, list[bytes]] = {}
    for field in fields:
        name = field_name(field)
        if name in wanted:
            found.setdefault(name, []).append(field)
    chosen = []
    for name in names:
        instances = found.get(name)
        if instances:
            chosen.append(relaxed_header(instances.pop()))
    return b"".join(chosen)


def relaxed_body(body: bytes) -> bytes:
    """Whitespace runs as one space, none at the end of a line, no empty lines at the
    end, and a final CRLF unless nothing is left.

    Tabs become spaces first, so that only runs of two or more need replacing: matching
    every single space of a 50 KB body made this 20 times slower."""
    if body and not body.endswith(b"\r\n"):
        body += b"\r\n"
    if b"\t" in body:
        body = body.replace(b"\t", b" ")
    body = _SPACES.sub(b" ", body).replace(b" \r\n", b"\r\n")
    end = len(body)
    while body.endswith(b"\r\n", 0, end):
        end -= 2
    return body[:end] + b"\r\n" if end else b""
