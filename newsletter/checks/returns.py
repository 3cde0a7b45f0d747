"""Returns: whether what comes back after a send (bounces, complaints, mailto
unsubscribes) reaches something that acts on it."""

from __future__ import annotations

from newsletter.checks.context import CheckInput
from newsletter.checks.findings import Finding, Place, Severity, Source
from newsletter.checks.rules import Rule

RULES = (
    Rule(
        "returns.no-bounce-address",
        Severity.WARNING,
        "Without a bounce mailbox nothing reads bounces, complaints or mailto unsubscribes: "
        "dead addresses and people who complained keep being mailed, which costs the "
        "sender its reputation, and Gmail and Yahoo want unsubscribes honoured within "
        "two days.",
    ),
)


def findings(check: CheckInput) -> list[Finding]:
    if check.delivery.returns_handled:
        return []
    return [
        Finding(
            "returns.no-bounce-address",
            Severity.WARNING,
            f"the {check.delivery.provider} provider has no bounce_address, so bounces, "
            "complaints and mailto unsubscribes go unread",
            "set bounce_address (a mailbox such as bounces@your-domain) and "
            "NEWSLETTER_INBOUND_URL, and run newsletter inbound (run-due does it too)",
            Place(Source.PROJECT, ("bounce_address",)),
        )
    ]
