"""A real SMTP server (aiosmtpd) on 127.0.0.1 that keeps what it receives and can
answer chosen recipients with errors or drop the connection; and the line-length check
every message the tests send goes through."""

from __future__ import annotations

import socket
import threading
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from aiosmtpd.controller import Controller

FOLD_AT = 78
LINE_LIMIT = 998


def line_problems(data: bytes) -> list[str]:
    """Lines of one message that break RFC 5322 2.1.1: any line over 998 characters, and
    header lines over 78 that could have been folded (more than one token on the line)."""
    lines = data.replace(b"\r\n", b"\n").split(b"\n")
    end_of_head = lines.index(b"") if b"" in lines else len(lines)
    problems = []
    for number, line in enumerate(lines, 1):
        if len(line) > LINE_LIMIT:
            problems.append(f"line {number} has {len(line)} characters: {line[:60]!r}...")
        elif number <= end_of_head and len(line) > FOLD_AT and _foldable(line):
            problems.append(f"header line {number} has {len(line)} characters: {line!r}")
    return problems


def _foldable(line: bytes) -> bool:
    """A field's first line may hold its name and one long token; other lines one token."""
    if not line[:1].isspace():
        line = line.partition(b":")[2]
    return len(line.split()) > 1


def assert_lines_fit(messages: list[bytes], where: str) -> None:
    problems = [
        f"{where} message {n}: {p}" for n, m in enumerate(messages) for p in line_problems(m)
    ]
    assert not problems, "\n".join(problems)


def maildir_messages(root: Path) -> list[bytes]:
    """Every message in every Maildir below ``root`` (folders with cur, new and tmp)."""
    return [
        path.read_bytes()
        for folder in root.rglob("new")
        if (folder.parent / "cur").is_dir() and (folder.parent / "tmp").is_dir()
        for path in sorted(folder.iterdir())
        if path.is_file()
    ]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Received:
    recipients: list[str]
    data: bytes
    sender: str = ""
    """The envelope sender (MAIL FROM)."""


@dataclass
class Faults:
    """Answers per recipient address: a list consumed one per attempt, then accepted."""

    at_rcpt: dict[str, list[str]] = field(default_factory=dict)
    drop_at_data: dict[str, int] = field(default_factory=dict)


class SinkHandler:
    def __init__(self, keep_data: bool = True) -> None:
        self.keep_data = keep_data
        self.messages: list[Received] = []
        self.counts: Counter[str] = Counter()
        self.faults = Faults()
        self.attempts: Counter[str] = Counter()
        self.on_message = None
        self.lock = threading.Lock()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        self.attempts[address] += 1
        answers = self.faults.at_rcpt.get(address)
        if answers:
            return answers.pop(0)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        for address in envelope.rcpt_tos:
            if self.faults.drop_at_data.get(address, 0) > 0:
                self.faults.drop_at_data[address] -= 1
                server.transport.close()
                return "421 closing"
        with self.lock:
            for address in envelope.rcpt_tos:
                self.counts[address] += 1
            if self.keep_data:
                self.messages.append(
                    Received(list(envelope.rcpt_tos), envelope.original_content, envelope.mail_from)
                )
        if self.on_message is not None:
            self.on_message(envelope)
        return "250 Message accepted"


class SmtpSink:
    def __init__(self, keep_data: bool = True) -> None:
        self.handler = SinkHandler(keep_data)
        self.port = free_port()
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port)

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    def start(self) -> SmtpSink:
        self.controller.start()
        return self

    def stop(self) -> None:
        self.controller.stop()
