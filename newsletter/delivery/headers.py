"""Header fields that carry text, folded: ``To``, ``From``, ``Reply-To``, ``Subject``, ``List-Id``.

Lines stay within 78 characters (RFC 5322 2.1.1) unless one token cannot be broken (a
long address or URL), and never reach 998. Text that is not ASCII, or too long for one
line, becomes RFC 2047 encoded words of at most 75 characters each, folded by the
stdlib's ``email.header.Header`` on character boundaries. The common case (a short
name) takes the one-line path and costs about what ``formataddr`` does; the modern
``email.policy`` folding costs hundreds of microseconds a header here (milliseconds for
a long non-ASCII name) and encodes a ``List-Id``'s identifier along with its phrase.

Control characters never reach a line: configured values are refused when the project
file is read; values from elsewhere (a subscriber's name) are turned into spaces here.
"""

from __future__ import annotations

import re
from email.charset import Charset
from email.header import Header

FOLD_AT = 78
"""Lines are folded to at most this length where a token allows (RFC 5322 2.1.1)."""
LINE_LIMIT = 998
"""No header line is ever longer (RFC 5322 2.1.1)."""
_ENCODED_LINE = 76
"""A folded encoded word, after its leading space, is at most 75 characters (RFC 2047 2)."""
_UTF8 = Charset("utf-8")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")
_SPECIALS = re.compile(r'[][\\()<>@,:;".]')


def clean_text(text: str) -> str:
    """``text`` with each run of control characters (line breaks among them) as one space."""
    return _CONTROL.sub(" ", text).strip()


def address_field(name: str, display_name: str, address: str) -> str:
    """``Name: display name <address>``, or ``Name: address`` when there is no name."""
    address = _CONTROL.sub("", address)
    display_name = clean_text(display_name)
    if not display_name:
        return f"{name}: {address}"
    return _phrase_then(name, display_name, f"<{address}>")


def list_id_field(description: str, identifier: str) -> str:
    """``List-Id: description <identifier>`` (RFC 2919); the identifier stays literal."""
    return _phrase_then("List-Id", clean_text(description), f"<{identifier}>")


def unstructured_field(name: str, text: str) -> str:
    """``Name: text`` for free text (``Subject``): folded at spaces, or as encoded words."""
    text = " ".join(_CONTROL.sub(" ", text).split())
    if text.isascii() and "=?" not in text:
        folded = Header(text, "us-ascii", header_name=name).encode(
            splitchars=" ", maxlinelen=FOLD_AT, linesep="\r\n"
        )
        field = f"{name}: {folded}"
        if all(len(line) <= LINE_LIMIT for line in field.split("\r\n")):
            return field
    return f"{name}: {_encoded_words(name, text)}"


def _phrase_then(name: str, phrase: str, token: str) -> str:
    """``Name: phrase token``; a phrase too long for one line becomes folded encoded words."""
    if phrase.isascii() and "=?" not in phrase:
        word = _quoted(phrase)
    else:
        word = _UTF8.header_encode(phrase)
    field = f"{name}: {word}"
    if len(field) > FOLD_AT:
        field = f"{name}: {_encoded_words(name, phrase)}"
    return _then(field, token)


def _quoted(phrase: str) -> str:
    """An ASCII phrase as atoms, or as one quoted string when it has special characters."""
    if not _SPECIALS.search(phrase):
        return phrase
    return '"' + phrase.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _encoded_words(name: str, text: str) -> str:
    """``text`` as UTF-8 encoded words, folded so that ``Name: `` and each word fit."""
    return Header(text, _UTF8, header_name=name).encode(maxlinelen=_ENCODED_LINE, linesep="\r\n")


def _then(field: str, token: str) -> str:
    """``field`` with ``token`` after a space, or on a line of its own when that is too long."""
    last_line = len(field) - field.rfind("\n") - 1
    if last_line + 1 + len(token) <= FOLD_AT:
        return f"{field} {token}"
    return f"{field}\r\n {token}"
