"""The machine-readable parts of a report: RFC 3464 delivery status, RFC 5965 feedback
report, and the headers of the message it is about.

Messages are parsed with the ``compat32`` policy (what flufl.bounce's detectors read):
it splits ``message/delivery-status`` into one header block per recipient and
``message/feedback-report`` into one header block.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from email.message import Message
from email.parser import HeaderParser

_STATUS = re.compile(r"\b([245])\.(\d{1,3})\.(\d{1,3})\b")
_ORIGINAL_TYPES = ("message/rfc822", "text/rfc822-headers", "message/rfc822-headers")
_ONE_LINE = re.compile(r"\s+")


@dataclass(frozen=True)
class RecipientStatus:
    """One per-recipient block of a delivery-status report."""

    action: str
    status: str
    recipient: str
    diagnostic: str = ""


@dataclass(frozen=True)
class FeedbackReport:
    feedback_type: str
    original_mail_from: str
    original_rcpt_to: str
    """May be redacted (RFC 6590): never trusted to name the member."""


def one_line(text: str, limit: int = 200) -> str:
    return _ONE_LINE.sub(" ", text).strip()[:limit]


REPORT_TYPES = (
    "message/delivery-status",
    "message/feedback-report",
    *_ORIGINAL_TYPES,
)


def report_parts(message: Message) -> dict[str, Message]:
    """The first part of each type a report is read from. Only multipart containers
    are entered: the blocks of a delivery-status part and the parts of an attached
    message are never report parts themselves."""
    found: dict[str, Message] = {}
    waiting = [message] if message.is_multipart() else []
    while waiting:
        payload = waiting.pop().get_payload()
        for part in payload if isinstance(payload, list) else ():
            kind = part.get_content_type()
            if kind in REPORT_TYPES:
                found.setdefault(kind, part)
            elif kind.startswith("multipart/"):
                waiting.append(part)
    return found


def _blocks(part: Message) -> list[Message]:
    """The header blocks of a ``message/*`` report part, however it was parsed."""
    payload = part.get_payload()
    if isinstance(payload, list):
        return [block for block in payload if isinstance(block, Message)]
    if isinstance(payload, str):
        text = payload.replace("\r\n", "\n")
        return [HeaderParser().parsestr(chunk) for chunk in text.split("\n\n") if chunk.strip()]
    return []


def _bare(value: str) -> str:
    """``<ann@example.org>`` -> ``ann@example.org``: report fields hold one address."""
    return value.strip().strip("<>").strip()


def _address_of(field: str) -> str:
    """``rfc822; ann@example.org`` -> ``ann@example.org``."""
    return _bare(field.rpartition(";")[2])


def status_code(text: str) -> str:
    found = _STATUS.search(text)
    return ".".join(found.groups()) if found else ""


def delivery_status(parts: dict[str, Message]) -> list[RecipientStatus] | None:
    """The per-recipient blocks of the first delivery-status part; None without one."""
    part = parts.get("message/delivery-status")
    if part is None:
        return None
    found = []
    for block in _blocks(part):
        action = (block.get("Action") or "").strip().lower()
        if not action:
            continue  # the per-message block (Reporting-MTA, Arrival-Date)
        diagnostic = one_line(str(block.get("Diagnostic-Code") or ""))
        status = status_code(str(block.get("Status") or "")) or status_code(diagnostic)
        recipient = block.get("Original-Recipient") or block.get("Final-Recipient") or ""
        found.append(RecipientStatus(action, status, _address_of(str(recipient)), diagnostic))
    return found


def feedback_report(parts: dict[str, Message]) -> FeedbackReport | None:
    part = parts.get("message/feedback-report")
    if part is None:
        return None
    blocks = _blocks(part)
    if not blocks:
        return FeedbackReport("", "", "")
    block = blocks[0]
    return FeedbackReport(
        (block.get("Feedback-Type") or "").strip().lower(),
        _bare(str(block.get("Original-Mail-From") or "")),
        _bare(str(block.get("Original-Rcpt-To") or "")),
    )


def original_headers(parts: dict[str, Message]) -> Message | None:
    """The headers of the message a report is about, when it carries them."""
    part = next((parts[kind] for kind in _ORIGINAL_TYPES if kind in parts), None)
    if part is None:
        return None
    payload = part.get_payload()
    if isinstance(payload, list) and payload and isinstance(payload[0], Message):
        return payload[0]
    if isinstance(payload, str):
        return HeaderParser().parsestr(payload.replace("\r\n", "\n"))
    return None


class Headers:
    """A message's header fields, read once: ``Message.get`` scans and lower-cases
    every field on each call, and a report is asked about a dozen of them."""

    def __init__(self, message: Message) -> None:
        self._fields: dict[str, list[str]] = {}
        for name, value in message.raw_items():
            self._fields.setdefault(name.lower(), []).append(str(value))

    def get(self, name: str) -> str:
        values = self._fields.get(name.lower())
        return values[0] if values else ""

    def has(self, name: str) -> bool:
        return name.lower() in self._fields

    def text(self, *names: str) -> str:
        """The values of ``names``, one a line, for a pattern to search."""
        return "\n".join(v for name in names for v in self._fields.get(name.lower(), ()))


def header_text(message: Message, *fields: str) -> str:
    """The values of ``fields``, one a line, for a pattern to search."""
    return "\n".join(str(value) for field in fields for value in message.get_all(field) or ())
