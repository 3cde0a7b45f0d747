"""The consent record for a Mailchimp audience: each subscription change written on the
member as a note (``POST /lists/{id}/members/{hash}/notes``), with its time and source.

Creating a note is not idempotent, so it is sent once. When no answer comes back (or a
server error), the member's latest notes are read to learn whether it arrived; it is
never posted a second time. A note that could not be saved does not undo the change:
a warning names the member's id and carries the whole note, so it can be added by hand.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from newsletter.errors import ProviderAPIError
from newsletter.providers.base import ChangeSource
from newsletter.providers.mailchimp.client import MailchimpClient, outcome_unknown

log = logging.getLogger("newsletter.mailchimp")

NOTE_LIMIT = 1000
"""Mailchimp keeps at most 1,000 characters per note."""

READ_BACK = 10
"""How many of the member's latest notes are read to find one whose answer was lost."""

SOURCE_WORDS: dict[ChangeSource, str] = {
    ChangeSource.ONE_CLICK: "one-click unsubscribe (newsletter preference centre)",
    ChangeSource.PAGE: "the preference page (newsletter preference centre)",
    ChangeSource.CLI: "the newsletter command line",
    ChangeSource.IMPORT: "a newsletter import",
    ChangeSource.SEND: "a newsletter send",
    ChangeSource.BOUNCE: "a bounce read from the bounce mailbox",
    ChangeSource.COMPLAINT: "a spam complaint read from the bounce mailbox",
    ChangeSource.MAILTO: "an unsubscribe email to the bounce mailbox",
}


@dataclass(frozen=True)
class ConsentNote:
    """One change as it reads in Mailchimp, for example: Unsubscribed by one-click
    unsubscribe (newsletter preference centre) at 2026-11-26T04:50:00Z (source: one-click)."""

    action: str
    source: ChangeSource
    at: datetime
    note: str = ""
    detail: str = ""

    @classmethod
    def at_time(
        cls, when: datetime, action: str, source: ChangeSource, note: str = "", detail: str = ""
    ) -> ConsentNote:
        return cls(action, source, when.replace(microsecond=0), note, detail)

    @property
    def text(self) -> str:
        when = self.at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        text = f"{self.action} by {SOURCE_WORDS[self.source]} at {when} (source: {self.source})."
        if self.detail:
            text += f" {self.detail}"
        if self.note.strip():
            text += f" Note: {' '.join(self.note.split())}"
        if len(text) > NOTE_LIMIT:
            text = text[: NOTE_LIMIT - 1] + "…"
        return text


def topics_detail(before: Iterable[str], after: Iterable[str], names: dict[str, str]) -> str:
    """What a topic change did, by topic name: the topics now, those added and removed."""
    old, new = set(before), set(after)

    def listed(ids: Iterable[str]) -> str:
        return ", ".join(names.get(topic, topic) for topic in sorted(ids)) or "none"

    parts = [f"Topics now: {listed(new)}."]
    if new - old:
        parts.append(f"Added: {listed(new - old)}.")
    if old - new:
        parts.append(f"Removed: {listed(old - new)}.")
    return " ".join(parts)


class ConsentNotes:
    def __init__(self, client: MailchimpClient, audience_id: str) -> None:
        self.client = client
        self.path = f"/lists/{audience_id}/members"

    def record(self, member_hash: str, note: ConsentNote) -> bool:
        """Writes the note once; False (and a warning) when it could not be saved."""
        path = f"{self.path}/{member_hash}/notes"
        text = note.text
        try:
            self.client.request("POST", path, json_body={"note": text}, idempotent=False)
            return True
        except ProviderAPIError as exc:
            if outcome_unknown(exc) and self._arrived(path, text):
                return True
            log.warning(
                "Mailchimp: the change to member %s stands, but its consent note was not "
                "saved (%s); add it by hand: %s",
                member_hash,
                exc,
                text,
            )
            return False

    def _arrived(self, path: str, text: str) -> bool:
        try:
            answer = self.client.get(
                path,
                count=READ_BACK,
                sort_field="created_at",
                sort_dir="DESC",
                fields="notes.note",
            )
        except ProviderAPIError:
            return False
        return any(item.get("note") == text for item in answer.get("notes") or [])
