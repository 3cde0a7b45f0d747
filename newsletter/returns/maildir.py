"""A Maildir as the bounce mailbox: messages in ``new/``, and those in ``cur/`` not yet
marked seen. A handled message goes to ``cur/`` with the seen flag (``:2,S``), where
mail clients show it as read and ``newsletter inbound`` no longer looks at it."""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from urllib.parse import unquote, urlsplit

from newsletter.errors import ConfigError, MailboxError
from newsletter.returns.mailbox import BATCH, Inbound

INFO = ":2,"
SEEN = "S"


def _flags(name: str) -> str:
    return name.partition(INFO)[2] if INFO in name else ""


def seen_name(name: str) -> str:
    """The file name with the seen flag added to its info (flags stay sorted)."""
    base = name.partition(INFO)[0]
    flags = "".join(sorted(set(_flags(name)) | {SEEN}))
    return f"{base}{INFO}{flags}"


class MaildirMailbox:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._root = str(path)
        self.description = f"the Maildir {path}"

    @classmethod
    def from_url(cls, url: str) -> MaildirMailbox:
        parts = urlsplit(url)
        if parts.netloc not in ("", "localhost") or not parts.path:
            raise ConfigError("NEWSLETTER_INBOUND_URL: a Maildir URL looks like maildir:///path")
        path = Path(unquote(parts.path))
        if not all((path / folder).is_dir() for folder in ("new", "cur", "tmp")):
            raise MailboxError(f"{path} is not a Maildir (it needs new/, cur/ and tmp/)")
        return cls(path)

    def _waiting(self) -> Iterator[str]:
        """``new/NAME`` and ``cur/NAME`` of every message not yet seen, oldest name first."""
        try:
            fresh = sorted(os.listdir(os.path.join(self._root, "new")))
            current = sorted(os.listdir(os.path.join(self._root, "cur")))
        except OSError as exc:
            raise MailboxError(f"{self.path}: cannot list the Maildir: {exc.strerror}") from None
        yield from (f"new/{name}" for name in fresh if not name.startswith("."))
        yield from (
            f"cur/{name}"
            for name in current
            if not name.startswith(".") and SEEN not in _flags(name)
        )

    def batches(self, size: int = BATCH) -> Iterator[Sequence[Inbound]]:
        batch: list[Inbound] = []
        for ref in self._waiting():
            path = os.path.join(self._root, ref)
            try:
                with open(path, "rb") as handle:
                    raw = handle.read()
            except FileNotFoundError:
                continue  # taken by another reader (a mail client, a second run)
            except OSError as exc:
                raise MailboxError(f"{path}: cannot read: {exc.strerror}") from None
            batch.append(Inbound(ref, raw))
            if len(batch) >= size:
                yield batch
                batch = []
        if batch:
            yield batch

    def handled(self, messages: Sequence[Inbound]) -> None:
        current = os.path.join(self._root, "cur")
        for message in messages:
            source = os.path.join(self._root, message.ref)
            try:
                os.rename(source, os.path.join(current, seen_name(message.ref[4:])))
            except FileNotFoundError:
                continue
            except OSError as exc:
                raise MailboxError(f"{source}: cannot move: {exc.strerror}") from None

    def close(self) -> None:
        pass
