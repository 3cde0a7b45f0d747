"""A Maildir outbox: each message a file in ``outbox/new``, readable by any mail client."""

from __future__ import annotations

import os
import socket
import threading
import time
from itertools import count
from pathlib import Path

from newsletter.errors import DeliveryError

_sequence = count()
_lock = threading.Lock()


class MaildirOutbox:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.description = f"the Maildir outbox {path}"

    def open(self) -> MaildirChannel:
        try:
            for folder in ("tmp", "new", "cur"):
                (self.path / folder).mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise DeliveryError(f"{self.path}: cannot create the outbox: {exc.strerror}") from None
        return MaildirChannel(self.path)


class MaildirChannel:
    """Writes into ``tmp/`` then renames into ``new/``, so a reader never sees half a file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.host = socket.gethostname().replace("/", "_").replace(":", "_")
        self.last_path: Path | None = None

    def deliver(
        self, envelope_from: str, recipient: str, message: bytes, *, dot_safe: bool = False
    ) -> None:
        with _lock:
            number = next(_sequence)
        name = f"{time.time_ns()}.P{os.getpid()}Q{number}.{self.host}"
        temporary = self.path / "tmp" / name
        final = self.path / "new" / name
        try:
            temporary.write_bytes(message.replace(b"\r\n", b"\n"))
            temporary.rename(final)
        except OSError as exc:
            raise DeliveryError(f"{final}: cannot write: {exc.strerror}") from None
        self.last_path = final

    def close(self) -> None:
        pass
