"""An IMAP folder as the bounce mailbox: ``imaps://user:password@host/INBOX``.

``imap://`` (no TLS) is allowed for this machine only. Messages are read with
``BODY.PEEK[]``, so the ones left for a person stay unread; handled ones move to the
folder named by ``?processed=`` (default ``Processed``, created when missing) with
``UID MOVE`` where the server has it, else copy, flag deleted and expunge those UIDs.
Errors name the server, never the URL: it holds the password.
"""

from __future__ import annotations

import contextlib
import imaplib
import re
import ssl
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from urllib.parse import parse_qs, unquote, urlsplit

from newsletter.errors import ConfigError, MailboxError
from newsletter.returns.mailbox import BATCH, Inbound

LOOPBACK = {"127.0.0.1", "::1", "localhost"}
DEFAULT_PROCESSED = "Processed"
TIMEOUT = 60.0
_UID = re.compile(rb"UID (\d+)")
_BYTES_REPR = re.compile(r"b'(.*)'")
_USAGE = "NEWSLETTER_INBOUND_URL must look like imaps://user:password@host/INBOX"


def _quoted(name: str) -> str:
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


@dataclass(frozen=True)
class ImapServer:
    host: str
    port: int
    tls: bool
    username: str
    password: str = field(repr=False)
    folder: str = "INBOX"
    processed: str = DEFAULT_PROCESSED

    @property
    def description(self) -> str:
        scheme = "imaps" if self.tls else "imap"
        return f"{scheme}://{self.host}:{self.port}/{self.folder}"

    @classmethod
    def from_url(cls, url: str) -> ImapServer:
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError:
            raise ConfigError(_USAGE) from None
        if parts.scheme not in ("imap", "imaps") or not parts.hostname:
            raise ConfigError(_USAGE)
        if not (parts.username and parts.password):
            raise ConfigError(f"{_USAGE}: the user name and password are missing")
        tls = parts.scheme == "imaps"
        if not tls and parts.hostname not in LOOPBACK:
            raise ConfigError("NEWSLETTER_INBOUND_URL: imap:// without TLS is for 127.0.0.1 only")
        processed = parse_qs(parts.query).get("processed", [DEFAULT_PROCESSED])[0]
        return cls(
            host=parts.hostname,
            port=port or (993 if tls else 143),
            tls=tls,
            username=unquote(parts.username),
            password=unquote(parts.password),
            folder=unquote(parts.path.lstrip("/")) or "INBOX",
            processed=processed,
        )


class ImapMailbox:
    def __init__(self, server: ImapServer) -> None:
        self.server = server
        self.description = server.description
        self._client: imaplib.IMAP4 | None = None

    @classmethod
    def from_url(cls, url: str) -> ImapMailbox:
        return cls(ImapServer.from_url(url))

    def _fail(self, doing: str, exc: BaseException) -> MailboxError:
        reason = " ".join(str(exc).split()) or type(exc).__name__
        quoted = _BYTES_REPR.fullmatch(reason)  # imaplib words some errors as bytes
        return MailboxError(
            f"{self.description}: cannot {doing}: {quoted.group(1) if quoted else reason}"
        )

    @property
    def client(self) -> imaplib.IMAP4:
        if self._client is None:
            self._client = self._connect()
        return self._client

    def _connect(self) -> imaplib.IMAP4:
        s = self.server
        try:
            if s.tls:
                context = ssl.create_default_context()
                client: imaplib.IMAP4 = imaplib.IMAP4_SSL(
                    s.host, s.port, ssl_context=context, timeout=TIMEOUT
                )
            else:
                client = imaplib.IMAP4(s.host, s.port, timeout=TIMEOUT)
        except (OSError, imaplib.IMAP4.error) as exc:
            raise self._fail("connect", exc) from None
        try:
            client.login(s.username, s.password)
            _, known = client.capability()  # the greeting's list predates the login
            client.capabilities = tuple(_text(known).upper().split())
            status, answer = client.select(_quoted(s.folder))
        except (OSError, imaplib.IMAP4.error) as exc:
            raise self._fail("log in", exc) from None
        if status != "OK":
            raise self._fail(f"open the folder {s.folder}", Exception(_text(answer)))
        return client

    def _uid(self, *args: str) -> list:
        try:
            status, data = self.client.uid(*args)
        except (OSError, imaplib.IMAP4.error) as exc:
            raise self._fail(args[0].lower(), exc) from None
        if status != "OK":
            raise self._fail(args[0].lower(), Exception(_text(data)))
        return data

    def batches(self, size: int = BATCH) -> Iterator[Sequence[Inbound]]:
        try:
            self.client.noop()  # a connection kept open since the last pass sees new mail
        except (OSError, imaplib.IMAP4.error) as exc:
            raise self._fail("reach the server", exc) from None
        found = self._uid("SEARCH", "UNDELETED")
        uids = found[0].split() if found and found[0] else []
        for start in range(0, len(uids), size):
            chunk = b",".join(uids[start : start + size]).decode("ascii")
            data = self._uid("FETCH", chunk, "(BODY.PEEK[])")
            yield [
                Inbound(match.group(1).decode("ascii"), item[1])
                for item in data
                if isinstance(item, tuple) and (match := _UID.search(item[0]))
            ]

    def handled(self, messages: Sequence[Inbound]) -> None:
        if not messages:
            return
        target = _quoted(self.server.processed)
        self._ensure_folder(target)
        uids = ",".join(message.ref for message in messages)
        if "MOVE" in self.client.capabilities:
            self._uid("MOVE", uids, target)
            return
        self._uid("COPY", uids, target)
        self._uid("STORE", uids, "+FLAGS.SILENT", r"(\Deleted)")
        if "UIDPLUS" in self.client.capabilities:
            self._uid("EXPUNGE", uids)
        else:
            self.client.expunge()

    def _ensure_folder(self, name: str) -> None:
        try:
            status, _ = self.client.status(name, "(MESSAGES)")
            if status != "OK":
                self.client.create(name)
        except (OSError, imaplib.IMAP4.error) as exc:
            raise self._fail(f"create the folder {self.server.processed}", exc) from None

    def close(self) -> None:
        if self._client is None:
            return
        with contextlib.suppress(OSError, imaplib.IMAP4.error):
            self._client.logout()
        self._client = None


def _text(answer: object) -> str:
    if isinstance(answer, list) and answer:
        answer = answer[0]
    if isinstance(answer, bytes):
        return answer.decode("utf-8", "replace")
    return str(answer)
