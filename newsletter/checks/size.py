"""Size: Gmail clips HTML past about 102 KB, hiding the footer with its unsubscribe link."""

from __future__ import annotations

from newsletter.checks.findings import Finding, Severity
from newsletter.render.compile import GMAIL_CLIP_BYTES, SIZE_WARNING_BYTES, CompiledIssue


def _kb(size: int) -> str:
    return f"{size / 1024:.1f} KB"


def findings(compiled: CompiledIssue) -> list[Finding]:
    size = compiled.html_bytes
    if size > GMAIL_CLIP_BYTES:
        return [
            Finding(
                "size",
                Severity.ERROR,
                f"the HTML is {_kb(size)}, over Gmail's clipping point of "
                f"{_kb(GMAIL_CLIP_BYTES)}: shorten the issue or split it",
            )
        ]
    if size > SIZE_WARNING_BYTES:
        return [
            Finding(
                "size",
                Severity.WARNING,
                f"the HTML is {_kb(size)}; Gmail clips messages over {_kb(GMAIL_CLIP_BYTES)}",
            )
        ]
    return []
