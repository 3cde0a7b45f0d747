"""An issue file whose HTML lands where the test wants it around Gmail's clipping size."""

from __future__ import annotations

from pathlib import Path


def big_issue(path: Path, items: int, slug: str | None = None) -> Path:
    """About 0.33 KB of HTML per item: 270 items warn (over 90 KB), 330 are refused."""
    lines = ["subject: Big", "preview_text: A very long issue"]
    if slug:
        lines.insert(0, f"slug: {slug}")
    lines += ["sections:", "  - type: news", "    heading: Everything", "    items:"]
    for number in range(items):
        lines.append(f"      - title: Item number {number}")
        lines.append(f"        body: {'Words about the item. ' * 8}")
    path.write_text("\n".join(lines) + "\n")
    return path
