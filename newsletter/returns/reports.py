"""The machine-readable parts of a report: RFC 3464 delivery status, RFC 5965 feedback
report, and the headers of the message it is about.

Messages are parsed with the ``compat32`` policy (what flufl.bounce's detectors read):
it splits ``message/delivery-status`` into one header block per recipient and
``message/feedback-report`` into one header block.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import Message
from email.parser import HeaderParser
from email.utils import getaddresses, parseaddr

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


def _parts(message: Message, content_type: str) -> Iterator[Message]:
    for part in message.walk():
        if part.get_content_type() == content_type:
            yield part


def _blocks(part: Message) -> list[Message]:
    """The header blocks of a ``message/*`` report part, however it was parsed."""
    payload = part.get_payload()
    if isinstance(payload, list):
        return [block for block in payload if isinstance(block, Message)]
    if isinstance(payload, str):
        text = payload.replace("\r\n", "\n")
        return [HeaderParser().parsestr(chunk) for chunk in text.split("\n\n") if chunk.strip()]
    return []


def _address_of(field: str) -> str:
    """``rfc822; ann@example.org`` -> ``ann@example.org``."""
    _, _, value = field.rpartition(";")
    return parseaddr(value.strip())[1] or value.strip().strip("<>")


def status_code(text: str) -> str:
    found = _STATUS.search(text)
    return ".".join(found.groups()) if found else ""


def delivery_status(message: Message) -> list[RecipientStatus] | None:
    """The per-recipient blocks of the first delivery-status part; None without one."""
    part = next(_parts(message, "message/delivery-status"), None)
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


def feedback_report(message: Message) -> FeedbackReport | None:
    part = next(_parts(message, "message/feedback-report"), None)
    if part is None:
        return None
    blocks = _blocks(part)
    if not blocks:
        return FeedbackReport("", "", "")
    block = blocks[0]
    return FeedbackReport(
        (block.get("Feedback-Type") or "").strip().lower(),
        parseaddr(str(block.get("Original-Mail-From") or ""))[1],
        parseaddr(str(block.get("Original-Rcpt-To") or ""))[1],
    )


def original_headers(message: Message) -> Message | None:
    """The headers of the message a report is about, when it carries them."""
    for part in message.walk():
        if part is message or part.get_content_type() not in _ORIGINAL_TYPES:
            continue
        payload = part.get_payload()
        if isinstance(payload, list) and payload and isinstance(payload[0], Message):
            return payload[0]
        if isinstance(payload, str):
            return HeaderParser().parsestr(payload.replace("\r\n", "\n"))
    return None


def addresses_in(message: Message, *fields: str) -> list[str]:
    """Every address in ``fields``, in that order."""
    values = [str(value) for field in fields for value in message.get_all(field) or ()]
    return [address for _, address in getaddresses(values) if address]
