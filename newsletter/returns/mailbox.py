"""The bounce mailbox ``newsletter inbound`` reads, named by ``NEWSLETTER_INBOUND_URL``.

A mailbox hands out its messages a batch at a time, and moves the ones that were
handled out of the way (a processed folder over IMAP, ``cur/`` marked seen in a
Maildir). Nothing is ever deleted: a message that was not understood stays where it
is, for a person.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import urlsplit

from newsletter.errors import ConfigError

BATCH = 500


@dataclass(frozen=True)
class Inbound:
    """One message in the mailbox: where it is (a file name, an IMAP UID) and its bytes."""

    ref: str
    raw: bytes


class Mailbox(Protocol):
    description: str
    """Where it is, without credentials."""

    def batches(self, size: int = BATCH) -> Iterator[Sequence[Inbound]]:
        """The messages still to look at, ``size`` at a time."""
        ...

    def handled(self, messages: Sequence[Inbound]) -> None:
        """Move these out of the way: they were acted on (or had been before)."""
        ...

    def close(self) -> None: ...


def open_mailbox(url: str) -> Mailbox:
    """The mailbox a URL names; its message never repeats the URL (it may hold a password)."""
    try:
        scheme = urlsplit(url).scheme
    except ValueError:
        scheme = ""
    if scheme == "maildir":
        from newsletter.returns.maildir import MaildirMailbox

        return MaildirMailbox.from_url(url)
    if scheme in ("imap", "imaps"):
        from newsletter.returns.imap import ImapMailbox

        return ImapMailbox.from_url(url)
    raise ConfigError(
        "NEWSLETTER_INBOUND_URL must look like imaps://user:password@host/INBOX "
        "or maildir:///path/to/Maildir"
    )
