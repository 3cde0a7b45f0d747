"""MIME messages built once per campaign and filled per recipient as bytes.

Building an ``EmailMessage`` per recipient costs far more than the rest of a send, so the
skeleton (MIME headers, boundary, part headers) is serialised once with ``policy=SMTP``;
the headers that carry text (``To``, ``From``, ``Subject``, ``List-Id``) are folded by
``headers.py``, the campaign's once and ``To`` per recipient. The text and HTML bodies
are split at their slots and each static piece is quoted-printable encoded once; a
recipient's copy is a join of those pieces with the recipient's encoded values. Every
piece starts on a fresh line and ends with a soft line break, so the pieces decode to
exactly the filled body. No encoded line starts with a dot, so the bytes go over SMTP
without dot-stuffing.
"""

from __future__ import annotations

import binascii
import html
import re
import secrets
from collections.abc import Mapping
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import formatdate
from functools import lru_cache
from urllib.parse import quote, urlsplit

from newsletter.config import Greeting, Settings
from newsletter.delivery.headers import address_field, list_id_field, unstructured_field
from newsletter.models import slugify
from newsletter.render.compile import CompiledIssue
from newsletter.render.merge import Recipient, split_at_slots

CRLF = b"\r\n"
_MAX_LINE = 76
_URL_SAFE = re.compile(r"[A-Za-z0-9._~-]*")
_TEXT_MARK = b"NLTEXTBODY"
CONSTANT_SLOTS = frozenset({"archive_url", "about_url"})
"""Slots with the same value for every recipient of a campaign."""
_HTML_MARK = b"NLHTMLBODY"


def _qp(data: bytes) -> bytes:
    """Quoted-printable with CRLF line ends and no line that starts with a dot."""
    encoded = binascii.b2a_qp(data, istext=True)
    encoded = encoded.replace(b"\r\n", b"\n").replace(b"\n", CRLF)
    if encoded.startswith(b".") or b"\n." in encoded:
        encoded = CRLF.join(_no_leading_dot(line) for line in encoded.split(CRLF))
    return encoded


def _safe_cut(line: bytes, limit: int) -> int:
    """A position at most ``limit`` that does not split an ``=XX`` escape."""
    cut = limit
    while b"=" in line[max(cut - 2, 0) : cut]:
        cut -= 1
    return cut


def _no_leading_dot(line: bytes) -> bytes:
    """The line with a leading dot escaped, re-broken to stay within 76 characters."""
    out = []
    while line.startswith(b"."):
        line = b"=2E" + line[1:]
        if len(line) <= _MAX_LINE:
            break
        cut = _safe_cut(line, _MAX_LINE - 1)
        out.append(line[:cut] + b"=")
        line = line[cut:]
    out.append(line)
    return CRLF.join(out)


def _soft_break(encoded: bytes) -> bytes:
    """``encoded`` followed by a soft line break, keeping every line within 76 characters."""
    start = encoded.rfind(b"\n") + 1
    last = encoded[start:]
    if len(last) < _MAX_LINE:
        return encoded + b"=" + CRLF
    cut = _safe_cut(last, _MAX_LINE - 1)
    return encoded[:start] + last[:cut] + b"=" + CRLF + _no_leading_dot(last[cut:]) + b"=" + CRLF


class EncodedBody:
    """One body part (text or HTML) split at its slots, static pieces encoded once."""

    __slots__ = ("_escape", "_pieces", "names")

    def __init__(self, body: str, *, html_escape: bool) -> None:
        body = body.replace("\r\n", "\n")
        if not body.endswith("\n"):
            body += "\n"
        parts, names = split_at_slots(body)
        pieces: list[bytes | str] = []
        for index, part in enumerate(parts):
            if index:
                pieces.append(names[index - 1])
            if part:
                encoded = _qp(part.replace("\n", "\r\n").encode("utf-8"))
                last = index == len(parts) - 1
                pieces.append(encoded if last else _soft_break(encoded))
        self._pieces = tuple(pieces)
        self._escape = html_escape
        self.names = frozenset(p for p in pieces if isinstance(p, str))

    def fill(self, encoded_values: Mapping[str, bytes]) -> list[bytes]:
        """The encoded body for one recipient, as pieces to join."""
        return [p if isinstance(p, bytes) else encoded_values[p] for p in self._pieces]

    @property
    def html_escape(self) -> bool:
        return self._escape


_PLAIN = re.compile(r"[ !-<>-~]*")
"""Printable ASCII and spaces except ``=``: each line ends in a soft break, so as is."""


@lru_cache(maxsize=256)
def _encode_constant(value: str, html_escape: bool) -> bytes:
    return _encode(value, html_escape)


def _encode(value: str, html_escape: bool) -> bytes:
    if html_escape:
        value = html.escape(value, quote=True)
    value = value.replace("\r", "").replace("\n", " ")
    if _PLAIN.fullmatch(value):
        if len(value) < _MAX_LINE:
            if value[0] != ".":
                return value.encode("ascii") + b"=\r\n"
        else:
            step = _MAX_LINE - 1
            lines = [value[i : i + step] for i in range(0, len(value), step)]
            if "." not in [line[0] for line in lines]:
                return ("=\r\n".join(lines) + "=\r\n").encode("ascii")
    return _soft_break(_qp(value.encode("utf-8")))


def encode_value(value: str, *, html_escape: bool, constant: bool = False) -> bytes:
    """One slot value, encoded as its own soft-broken piece (empty values vanish).
    ``constant``: the same for every recipient, so encoded once."""
    if not value:
        return b""
    if constant:
        return _encode_constant(value, html_escape)
    return _encode(value, html_escape)


class MessageTemplate:
    """The campaign's message, built once; ``render`` makes one recipient's bytes."""

    def __init__(
        self,
        compiled: CompiledIssue,
        settings: Settings,
        *,
        subject_prefix: str = "",
    ) -> None:
        sender = settings.sender
        skeleton = EmailMessage(policy=SMTP)
        skeleton["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
        skeleton.set_content(_TEXT_MARK.decode() + "\n", cte="quoted-printable")
        skeleton.add_alternative(_HTML_MARK.decode() + "\n", subtype="html", cte="quoted-printable")
        skeleton.set_boundary(f"=_nl_{secrets.token_hex(16)}")
        raw = skeleton.as_bytes(policy=SMTP)
        before_text, _, rest = raw.partition(_TEXT_MARK + CRLF)
        between, _, after_html = rest.partition(_HTML_MARK + CRLF)
        if not after_html:
            raise AssertionError("the MIME skeleton lost its body markers")
        self._head = campaign_headers(settings, subject_prefix + compiled.subject) + before_text
        self._between = between
        self._tail = after_html
        self.greeting: Greeting | None = settings.greeting
        self.text = EncodedBody(compiled.text, html_escape=False)
        self.html = EncodedBody(compiled.html, html_escape=True)
        self.domain = sender.from_email.rpartition("@")[2]
        self.envelope_from = sender.from_email

    def render(
        self,
        recipient: Recipient,
        *,
        message_id: str,
        unsubscribe_mailto: str,
        date: str | None = None,
    ) -> bytes:
        """The complete message for one recipient: CRLF line ends, no leading dots.
        ``unsubscribe_mailto`` is the mailto: half of its List-Unsubscribe header."""
        headers = (
            f"{address_field('To', recipient.display_name, recipient.email)}\r\n"
            f"Date: {date or formatdate(usegmt=True)}\r\n"
            f"Message-ID: {message_id}\r\n"
            f"List-Unsubscribe: <{recipient.unsubscribe_url}>,\r\n"
            f" <{unsubscribe_mailto}>\r\n"
        ).encode("ascii")
        values = recipient.values(self.greeting)
        text_values = {
            n: encode_value(values[n], html_escape=False, constant=n in CONSTANT_SLOTS)
            for n in self.text.names
        }
        html_values = {
            n: encode_value(values[n], html_escape=True, constant=n in CONSTANT_SLOTS)
            for n in self.html.names
        }
        return b"".join(
            (
                headers,
                self._head,
                *self.text.fill(text_values),
                self._between,
                *self.html.fill(html_values),
                self._tail,
            )
        )


def campaign_headers(settings: Settings, subject: str) -> bytes:
    """``Subject``, ``From``, ``Reply-To`` and ``List-Id``: the same for every recipient."""
    sender = settings.sender
    fields = [
        unstructured_field("Subject", subject),
        address_field("From", sender.from_name, sender.from_email),
    ]
    if sender.reply_to:
        fields.append(address_field("Reply-To", "", sender.reply_to))
    fields.append(list_id_field(settings.audience.name, list_identifier(settings)))
    return "".join(f"{field}\r\n" for field in fields).encode("ascii")


def list_identifier(settings: Settings) -> str:
    """``audience-name.news.example.org``: the audience's List-Id (RFC 2919)."""
    host = urlsplit(settings.public_url).hostname or "localhost"
    return f"{slugify(settings.audience.name)}.{host}"


def unsubscribe_mailto(settings: Settings, token: str) -> str:
    """The mailto: half of List-Unsubscribe; the subject names the signed token."""
    address = settings.sender.reply_to or settings.sender.from_email
    if not _URL_SAFE.fullmatch(token):
        token = quote(token)
    return f"mailto:{address}?subject=unsubscribe%20{token}"


def message_id(run: str, subscriber_id: str, domain: str) -> str:
    return f"<{run}.{subscriber_id}@{domain}>"
