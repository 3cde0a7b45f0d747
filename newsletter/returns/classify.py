"""What one message in the bounce mailbox means: a pure function of its bytes and the
signing secrets; the store is not asked (``policy`` finds the member).

In order: a feedback report (RFC 5965) is a complaint; a delivery-status report
(RFC 3464) is a hard or soft bounce; mail to a signed unsubscribe address is an
unsubscribe; an automatic reply (RFC 3834, out-of-office) changes nothing; anything
else that looks like a bounce goes through flufl.bounce's detectors (GNU Mailman's,
for qmail, old Sendmail, Exchange and the other formats that predate RFC 3464). What
is left changes nothing and stays for a person.
"""

from __future__ import annotations

import email
import re
from dataclasses import dataclass, replace
from email.message import Message
from email.policy import compat32
from enum import StrEnum

from flufl.bounce import all_failures

from newsletter.errors import TokenError
from newsletter.returns.addresses import AddressKind, AddressToken, ReturnAddresses
from newsletter.returns.reports import (
    Headers,
    RecipientStatus,
    delivery_status,
    feedback_report,
    header_text,
    one_line,
    original_headers,
    report_parts,
)


class Verdict(StrEnum):
    HARD_BOUNCE = "hard-bounce"
    SOFT_BOUNCE = "soft-bounce"
    COMPLAINT = "complaint"
    UNSUBSCRIBE = "unsubscribe"
    AUTO_REPLY = "auto-reply"
    REFUSED = "refused"
    """A signed address whose signature does not hold: forged, or mangled on the way."""
    UNKNOWN = "unknown"


ACTIONS = frozenset(
    {Verdict.HARD_BOUNCE, Verdict.SOFT_BOUNCE, Verdict.COMPLAINT, Verdict.UNSUBSCRIBE}
)
"""Verdicts that change a member once the member is found."""

DELIVERED_TO = ("Delivered-To", "X-Original-To", "Envelope-To", "X-Envelope-To", "To", "Cc")
"""Where the address a message came to is written, most trustworthy first."""

NOT_THE_ADDRESS = ("5.2.2", "5.7.")
"""Permanent failures that say nothing about the address (a full mailbox, the sender or
the content blocked by policy): counted as soft, so one blocklisting of the sending
server does not mark every member of that mailbox provider bounced."""

_BOUNCE_SENDER = re.compile(r"(^|[\s<])(mailer-daemon|postmaster|mail-daemon|mailerdaemon)@", re.I)
_BOUNCE_SUBJECT = re.compile(
    r"undeliver|delivery (status|fail|notification)|mail delivery|returned mail|"
    r"failure notice|could not be delivered|delivery has failed|nondeliverable",
    re.I,
)
_AUTO_SUBJECT = re.compile(
    r"^(auto(matic)?[ -]?(reply|response|antwort)|out of (the )?office|abwesenheit|"
    r"absence|r[ée]ponse automatique|vacation|on leave)|^auto:",
    re.I,
)
_AUTO_HEADERS = ("X-Autoreply", "X-Autorespond", "X-Auto-Response-Suppress")


@dataclass(frozen=True)
class Decision:
    verdict: Verdict
    reason: str
    """One line: the status and diagnostic, or why nothing is done."""
    report_id: str = ""
    """The report's own Message-ID, for the consent log."""
    token: AddressToken | None = None
    """From the address the report came to, or the return path in the attached headers."""
    original_id: str = ""
    """The Message-ID of our message, from the attached headers."""
    recipient: str = ""
    """The address the report names; a complaint's may be redacted."""
    heuristic: bool = False
    """Found by a detector for a non-standard format rather than a standard report."""

    @property
    def acts(self) -> bool:
        return self.verdict in ACTIONS


def parse(raw: bytes) -> Message:
    return email.message_from_bytes(raw, policy=compat32)


def classify(raw: bytes, addresses: ReturnAddresses | None) -> Decision:
    return classify_message(parse(raw), addresses)


def classify_message(message: Message, addresses: ReturnAddresses | None) -> Decision:
    headers = Headers(message)
    report_id = one_line(headers.get("Message-ID"))
    try:
        token = _token(addresses, headers.text(*DELIVERED_TO))
    except TokenError as exc:
        return Decision(Verdict.REFUSED, str(exc), report_id)
    parts = report_parts(message)
    # The attached headers are read only when the address the report came to did not
    # already name our message.
    named = token is not None and token.kind is AddressKind.RETURN_PATH
    lookup = None if named else addresses
    decision = (
        _complaint(parts, lookup)
        or _bounce(parts, lookup)
        or _unsubscribe(headers, token)
        or _auto_reply(headers)
        or _detected(message, headers)
        or Decision(Verdict.UNKNOWN, "not a report this program understands")
    )
    changes: dict[str, object] = {"report_id": report_id}
    if token is not None and (decision.token is None or named):
        changes["token"] = token
    if decision.token is None and not named and decision.verdict in ACTIONS:
        original = original_headers(parts)
        if original is not None:
            changes["original_id"] = one_line(str(original.get("Message-ID") or ""))
    return replace(decision, **changes)  # type: ignore[arg-type]


def _token(addresses: ReturnAddresses | None, text: str) -> AddressToken | None:
    """The first signed address written in ``text``; ``TokenError`` when one is forged
    and none holds."""
    if addresses is None or not text:
        return None
    forged: TokenError | None = None
    for candidate in addresses.find(text):
        try:
            found = addresses.read(candidate)
        except TokenError as exc:
            forged = forged or exc
            continue
        if found is not None:
            return found
    if forged is not None:
        raise forged
    return None


def _original_token(
    parts: dict[str, Message], addresses: ReturnAddresses | None, *extra: str
) -> AddressToken | None:
    """The return path of our message, from its attached headers or the report's fields;
    a forged one here is ignored (the Message-ID may still name the member)."""
    if addresses is None:
        return None
    text = "\n".join(extra)
    original = original_headers(parts)
    if original is not None:
        text += "\n" + header_text(original, "Return-Path", "Sender", "From")
    try:
        found = _token(addresses, text)
    except TokenError:
        return None
    return found if found is not None and found.kind is AddressKind.RETURN_PATH else None


def _complaint(parts: dict[str, Message], addresses: ReturnAddresses | None) -> Decision | None:
    report = feedback_report(parts)
    if report is None:
        return None
    kind = report.feedback_type or "unspecified"
    if kind == "not-spam":
        return Decision(Verdict.UNKNOWN, "a feedback report saying the message is not spam")
    token = _original_token(parts, addresses, report.original_mail_from)
    return Decision(
        Verdict.COMPLAINT,
        f"feedback report, type {kind}",
        token=token,
        recipient=report.original_rcpt_to,
    )


def _bounce(parts: dict[str, Message], addresses: ReturnAddresses | None) -> Decision | None:
    statuses = delivery_status(parts)
    if statuses is None:
        return None
    token = _original_token(parts, addresses)
    worst: tuple[Verdict, RecipientStatus] | None = None
    for status in statuses:
        verdict = _verdict(status)
        if verdict is Verdict.HARD_BOUNCE or (verdict is not None and worst is None):
            worst = (verdict, status)
        if verdict is Verdict.HARD_BOUNCE:
            break
    if worst is None:
        actions = ", ".join(sorted({s.action for s in statuses})) or "none"
        return Decision(Verdict.UNKNOWN, f"a delivery-status report without a failure ({actions})")
    verdict, status = worst
    reason = f"Action: {status.action}, Status: {status.status or 'none'}"
    if status.diagnostic:
        reason += f" ({status.diagnostic})"
    return Decision(verdict, reason, token=token, recipient=status.recipient)


def _verdict(status: RecipientStatus) -> Verdict | None:
    if status.action.startswith("delayed"):
        return Verdict.SOFT_BOUNCE
    if not status.action.startswith(("failed", "error")):
        return None
    if status.status.startswith("4") or status.status.startswith(NOT_THE_ADDRESS):
        return Verdict.SOFT_BOUNCE
    return Verdict.HARD_BOUNCE


def _unsubscribe(headers: Headers, token: AddressToken | None) -> Decision | None:
    if token is None or token.kind is not AddressKind.UNSUBSCRIBE:
        return None
    if _is_auto_reply(headers, replies_only=True):
        return Decision(Verdict.AUTO_REPLY, "an automatic reply to the unsubscribe address")
    return Decision(Verdict.UNSUBSCRIBE, "mail to the signed unsubscribe address")


def _is_auto_reply(headers: Headers, *, replies_only: bool = False) -> bool:
    """RFC 3834's ``Auto-Submitted`` and the markers mail programs add to out-of-office
    replies. ``replies_only``: a mailbox provider may mark the unsubscribe mail it sends
    for a person ``auto-generated``, which must still count."""
    submitted = (headers.get("Auto-Submitted") or "no").strip().lower()
    if submitted.startswith("auto-replied"):
        return True
    if not replies_only and submitted != "no":
        return True
    if any(headers.has(name) for name in _AUTO_HEADERS):
        return True
    if headers.get("Precedence").strip().lower() == "auto_reply":
        return True
    return bool(_AUTO_SUBJECT.search(headers.get("Subject").strip()))


def _looks_like_bounce(headers: Headers) -> bool:
    return bool(_BOUNCE_SENDER.search(headers.get("From"))) or bool(
        _BOUNCE_SUBJECT.search(headers.get("Subject"))
    )


def _auto_reply(headers: Headers) -> Decision | None:
    if _looks_like_bounce(headers) or not _is_auto_reply(headers):
        return None
    return Decision(Verdict.AUTO_REPLY, "an automatic reply (out of office or similar)")


def _detected(message: Message, headers: Headers) -> Decision | None:
    try:
        temporary, permanent = all_failures(message)
    except Exception:  # a detector tripping over odd input: leave it for a person
        return Decision(Verdict.UNKNOWN, "the bounce detectors could not read it")
    if not (temporary or permanent):
        if _looks_like_bounce(headers):
            return Decision(Verdict.UNKNOWN, "looks like a bounce, but names no recipient")
        return None
    verdict = Verdict.HARD_BOUNCE if permanent else Verdict.SOFT_BOUNCE
    named = sorted(permanent or temporary)[0].decode("ascii", "replace")
    return Decision(
        verdict,
        f"a non-standard bounce naming {named}",
        recipient=named,
        heuristic=True,
    )
