"""What a schedule approved, file by file, so that ``run-due`` can name what changed.

The approval hash (``Provider.approval_hash``) decides whether an issue may go out; the
file hashes kept beside it only say which of the sources behind the email moved: the
campaign file, ``newsletter.yaml`` and the templates.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from newsletter.campaigns import campaign_path
from newsletter.config import Settings


def _sources(settings: Settings, slug: str) -> list[Path]:
    templates = settings.resolve(settings.templates_dir)
    found = sorted(p for p in templates.rglob("*") if p.is_file()) if templates.is_dir() else []
    return [campaign_path(settings, slug), settings.project_file.resolve(), *found]


def _name(path: Path, settings: Settings) -> str:
    try:
        return str(path.resolve().relative_to(settings.root))
    except ValueError:
        return str(path)


def file_hashes(settings: Settings, slug: str) -> str:
    """The sources behind the issue's email and their SHA-256, as JSON text."""
    hashes = {}
    for path in _sources(settings, slug):
        try:
            hashes[_name(path, settings)] = hashlib.sha256(path.read_bytes()).hexdigest()
        except OSError:
            hashes[_name(path, settings)] = ""
    return json.dumps(hashes, sort_keys=True)


def changed_files(approved: str | None, settings: Settings, slug: str) -> list[str]:
    """The sources that differ from what was approved (added, changed or gone)."""
    if not approved:
        return []
    before: dict[str, str] = json.loads(approved)
    now: dict[str, str] = json.loads(file_hashes(settings, slug))
    return sorted(name for name in before.keys() | now.keys() if before.get(name) != now.get(name))
