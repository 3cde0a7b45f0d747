"""``newsletter new``: a starting campaign file that validates as written."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from pathlib import Path

from newsletter.clock import utc_now
from newsletter.config import Settings
from newsletter.errors import ConfigError

_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")

TEMPLATE = """\
# {slug}: one newsletter issue. Check it with: newsletter validate {path}
subject: "Subject line people see in their inbox"
preview_text: One sentence shown after the subject in most inboxes.
title: {title}
topics: [{topics}]
# send_at: {send_at}   # when it is meant to go out ({zone})

intro: |
  A short welcome. **Markdown** works here: lists, links, emphasis.

sections:
  - type: article
    kicker: Spotlight
    heading: The main story
    body: |
      Write the story in Markdown. [Links](https://www.example.org) must use https.
    button:
      text: Read more
      url: https://www.example.org/

  - type: news
    heading: News in brief
    items:
      - title: A short item
        body: One or two sentences.
        url: https://www.example.org/news

  - type: event
    heading: Coming up
    title: Name of the event
    starts_at: {starts_at}
    ends_at: {ends_at}
    location: Online
    body: What it is and who it is for.
    button:
      text: Register
      url: https://www.example.org/events

  - type: cta
    heading: Have your say
    body: Tell us what you think.
    buttons:
      - text: Take the survey
        url: https://www.example.org/survey
"""


def scaffold_issue(
    path: Path,
    slug: str,
    settings: Settings,
    *,
    overwrite: bool = False,
    now: datetime | None = None,
) -> Path:
    """Write a new issue with one section of each type; its dates count from ``now``."""
    if not _SLUG.match(slug):
        raise ConfigError(
            f"'{slug}' is not a valid issue name: use lower-case letters, digits and hyphens"
        )
    if path.exists() and not overwrite:
        raise ConfigError(f"{path} already exists; choose another name or pass --force")
    today = (now or utc_now()).astimezone(settings.zone)
    start = (today + timedelta(days=28)).replace(hour=10, minute=0, second=0, microsecond=0)
    text = TEMPLATE.format(
        slug=slug,
        path=path,
        title=slug.replace("-", " ").capitalize(),
        topics=", ".join(topic.id for topic in settings.topics),
        send_at=(start - timedelta(days=14)).strftime("%Y-%m-%dT09:00:00"),
        zone=settings.timezone,
        starts_at=start.strftime("%Y-%m-%dT%H:%M:%S"),
        ends_at=(start + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%S"),
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        with path.open("w" if overwrite else "x", encoding="utf-8") as handle:
            handle.write(text)
    except FileExistsError:
        raise ConfigError(f"{path} already exists; choose another name or pass --force") from None
    return path
