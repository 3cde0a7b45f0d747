"""The web version of an issue: compiled from its campaign file, with no personal data.

The slots a recipient's copy would carry (address, name, personal links) are filled
with neutral values: no address ("sent to our subscribers"), the anonymous greeting,
and links to the about page.
A compiled page is kept until its campaign file changes (by modification time).
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass

from newsletter.campaigns import campaign_path, load_issue
from newsletter.config import Settings
from newsletter.render.compile import compile_issue
from newsletter.render.merge import LOCAL_TAGS, Recipient, SlotTemplate

SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")


@dataclass(frozen=True)
class _Entry:
    mtime_ns: int
    html: str


class ArchivePages:
    def __init__(self, settings: Settings, public_url: str) -> None:
        self._settings = settings
        self._public_url = public_url
        self._cache: dict[str, _Entry] = {}
        self._lock = threading.Lock()

    def neutral_recipient(self, slug: str) -> Recipient:
        about = f"{self._public_url}/about"
        return Recipient(
            email="our subscribers",
            unsubscribe_url=about,
            preferences_url=about,
            archive_url=f"{self._public_url}/archive/{slug}",
            about_url=about,
        )

    def page(self, slug: str) -> str | None:
        """The issue's web page, or None when there is no such campaign file.

        Blocking (file system, MJML): call it from a worker thread.
        """
        if not SLUG.fullmatch(slug):
            return None
        path = campaign_path(self._settings, slug)
        try:
            mtime_ns = path.stat().st_mtime_ns
        except OSError:
            return None
        cached = self._cache.get(slug)
        if cached is not None and cached.mtime_ns == mtime_ns:
            return cached.html
        with self._lock:
            cached = self._cache.get(slug)
            if cached is not None and cached.mtime_ns == mtime_ns:
                return cached.html
            issue = load_issue(path, self._settings)
            compiled = compile_issue(issue, self._settings, LOCAL_TAGS)
            values = self.neutral_recipient(slug).values(self._settings.greeting)
            html = SlotTemplate(compiled.html, html_escape=True).fill(values)
            self._cache[slug] = _Entry(mtime_ns, html)
            return html
