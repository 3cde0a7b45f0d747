"""Size: Gmail clips HTML past about 102 KB, hiding the footer with its unsubscribe link."""

from __future__ import annotations

from newsletter.checks.context import CheckInput
from newsletter.checks.findings import Finding, Severity
from newsletter.checks.rules import Rule
from newsletter.render.compile import GMAIL_CLIP_BYTES, SIZE_WARNING_BYTES

RULES = (
    Rule(
        "size.clipped",
        Severity.ERROR,
        f"Gmail cuts HTML over {GMAIL_CLIP_BYTES // 1024} KB behind a 'View entire message' "
        "link: the footer with the unsubscribe link and postal address disappears.",
    ),
    Rule(
        "size.near-clip",
        Severity.WARNING,
        f"Over {SIZE_WARNING_BYTES // 1024} KB a little more content, or a provider's "
        "tracking, tips the issue past Gmail's clipping point.",
    ),
)

_FIX = "shorten the issue, move sections to the website, or split it into two issues"


def _kb(size: int) -> str:
    return f"{size / 1024:.1f} KB"


def findings(check: CheckInput) -> list[Finding]:
    size = check.compiled.html_bytes
    if size > GMAIL_CLIP_BYTES:
        message = f"the HTML is {_kb(size)}, over Gmail's clipping point of {_kb(GMAIL_CLIP_BYTES)}"
        return [Finding("size.clipped", Severity.ERROR, message, _FIX)]
    if size > SIZE_WARNING_BYTES:
        message = f"the HTML is {_kb(size)}; Gmail clips messages over {_kb(GMAIL_CLIP_BYTES)}"
        return [Finding("size.near-clip", Severity.WARNING, message, _FIX)]
    return []
