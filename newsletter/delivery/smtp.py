"""SMTP delivery: ``NEWSLETTER_SMTP_URL`` parsed once, one ``SmtpChannel`` per connection.

``smtp://user:password@host:587`` uses STARTTLS (required unless the host is this
machine), ``smtps://user:password@host:465`` TLS from the start. Messages arrive as
CRLF bytes without leading dots (see ``message``), so DATA sends them as they are.
"""

from __future__ import annotations

import contextlib
import re
import smtplib
import socket
import ssl
from dataclasses import dataclass, field
from urllib.parse import unquote, urlsplit

from newsletter.delivery.transport import ConnectionLost, PermanentFailure, TemporaryFailure
from newsletter.errors import ConfigError, DeliveryError

_RECV = 4096
_LOOPBACK = {"localhost", "127.0.0.1", "::1"}
_LEADING_DOT = re.compile(rb"(?m)^\.")


@dataclass(frozen=True)
class SmtpServer:
    host: str
    port: int
    implicit_tls: bool
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    timeout: float = 60.0

    @property
    def description(self) -> str:
        scheme = "smtps" if self.implicit_tls else "smtp"
        return f"{scheme}://{self.host}:{self.port}"

    @classmethod
    def from_url(cls, url: str) -> SmtpServer:
        """Parse the URL; the message never repeats it, since it may hold a password."""
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError:
            raise ConfigError("NEWSLETTER_SMTP_URL is not a valid URL") from None
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise ConfigError(
                "NEWSLETTER_SMTP_URL must look like smtp://user:password@host:587 "
                "or smtps://user:password@host:465"
            )
        implicit = parts.scheme == "smtps"
        return cls(
            host=parts.hostname,
            port=port or (465 if implicit else 587),
            implicit_tls=implicit,
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
        )

    def open(self) -> SmtpChannel:
        return SmtpChannel(self)


class SmtpChannel:
    """One SMTP connection, reused for many messages; reconnects after a drop."""

    def __init__(self, server: SmtpServer) -> None:
        self.server = server
        self._smtp: smtplib.SMTP | None = None

    def _connect(self) -> smtplib.SMTP:
        server = self.server
        context = ssl.create_default_context()
        try:
            smtp: smtplib.SMTP
            if server.implicit_tls:
                smtp = smtplib.SMTP_SSL(
                    server.host, server.port, timeout=server.timeout, context=context
                )
            else:
                smtp = smtplib.SMTP(server.host, server.port, timeout=server.timeout)
            smtp.ehlo()
            if not server.implicit_tls:
                if smtp.has_extn("starttls"):
                    smtp.starttls(context=context)
                    smtp.ehlo()
                elif server.host not in _LOOPBACK:
                    smtp.close()
                    raise DeliveryError(
                        f"{server.description} does not offer STARTTLS; use smtps:// "
                        "or a server that encrypts"
                    )
            if server.username:
                smtp.login(server.username, server.password or "")
            if smtp.sock is not None:
                smtp.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except smtplib.SMTPAuthenticationError as exc:
            raise DeliveryError(
                f"{server.description} refused the user name or password ({exc.smtp_code})"
            ) from None
        except smtplib.SMTPResponseException as exc:
            if 400 <= exc.smtp_code < 500:
                raise ConnectionLost(f"{exc.smtp_code} {_text(exc.smtp_error)}") from None
            raise DeliveryError(
                f"{server.description} refused the connection: {exc.smtp_code}"
            ) from None
        except (smtplib.SMTPException, OSError) as exc:
            raise ConnectionLost(f"cannot connect to {server.description}: {exc}") from None
        return smtp

    def deliver(
        self, envelope_from: str, recipient: str, message: bytes, *, dot_safe: bool = False
    ) -> None:
        """Raises ``TemporaryFailure``, ``PermanentFailure`` or ``ConnectionLost``.

        Addresses were checked on the way in (ASCII, no angle brackets), so the commands
        are written directly rather than through smtplib's address parsing. ``dot_safe``:
        no line starts with a dot (``message`` guarantees it), so the scan is skipped.
        """
        for address in (envelope_from, recipient):
            if not address.isascii() or any(ch in address for ch in "\r\n<>"):
                raise PermanentFailure(501, f"unusable address {address!r}")
        if self._smtp is None:
            self._smtp = self._connect()
        smtp = self._smtp
        try:
            code, answer = self._command(smtp, f"MAIL FROM:<{envelope_from}>\r\n")
            if code == 250:
                code, answer = self._command(smtp, f"RCPT TO:<{recipient}>\r\n")
                if code in (250, 251):
                    code, answer = self._command(smtp, "DATA\r\n")
                    if code == 354:
                        if not dot_safe and (message.startswith(b".") or b"\n." in message):
                            message = _LEADING_DOT.sub(b"..", message)
                        end = b".\r\n" if message.endswith(b"\r\n") else b"\r\n.\r\n"
                        smtp.sock.sendall(message + end)
                        code, answer = _reply(smtp)
                        if code == 250:
                            return
                        self._fail(code, answer)
            self._reset()
            self._fail(code, answer)
        except smtplib.SMTPServerDisconnected as exc:
            self._drop()
            raise ConnectionLost(str(exc) or "the server closed the connection") from None
        except (OSError, smtplib.SMTPResponseException) as exc:
            self._drop()
            raise ConnectionLost(str(exc)) from None

    @staticmethod
    def _command(smtp: smtplib.SMTP, line: str) -> tuple[int, bytes]:
        if smtp.sock is None:
            raise smtplib.SMTPServerDisconnected("not connected")
        smtp.sock.sendall(line.encode("ascii"))
        return _reply(smtp)

    def _reset(self) -> None:
        try:
            if self._smtp is not None:
                self._smtp.rset()
        except (smtplib.SMTPException, OSError):
            self._drop()

    def _fail(self, code: int, answer: bytes) -> None:
        text = _text(answer)
        if code == 421 or code < 0:
            self._drop()
            raise ConnectionLost(f"{code} {text}")
        if 400 <= code < 500:
            raise TemporaryFailure(code, text)
        raise PermanentFailure(code, text)

    def _drop(self) -> None:
        smtp, self._smtp = self._smtp, None
        if smtp is not None:
            with contextlib.suppress(OSError):
                smtp.close()

    def close(self) -> None:
        smtp, self._smtp = self._smtp, None
        if smtp is not None:
            try:
                smtp.quit()
            except (TimeoutError, smtplib.SMTPException, OSError):
                smtp.close()


def _reply(smtp: smtplib.SMTP) -> tuple[int, bytes]:
    """One (possibly multi-line) reply, read straight from the socket: its code and text.

    Without pipelining the server sends nothing past the reply, so nothing is left over
    for smtplib's own reader, which the connection set-up and RSET still use.
    """
    sock = smtp.sock
    if sock is None:
        raise smtplib.SMTPServerDisconnected("not connected")
    data = sock.recv(_RECV)
    while True:
        if not data:
            raise smtplib.SMTPServerDisconnected("the server closed the connection")
        if data.endswith(b"\r\n") or data.endswith(b"\n"):
            last = data.rstrip(b"\r\n").rpartition(b"\n")[2]
            if last[3:4] != b"-":
                break
        if len(data) > smtplib._MAXLINE * 10:
            raise smtplib.SMTPServerDisconnected("the server's reply is too long")
        more = sock.recv(_RECV)
        if not more:
            raise smtplib.SMTPServerDisconnected("the server closed the connection")
        data += more
    lines = data.rstrip(b"\r\n").split(b"\n")
    try:
        code = int(lines[-1][:3])
    except ValueError:
        code = -1
    return code, b"\n".join(line[4:].strip() for line in lines)


def _text(answer: bytes | str) -> str:
    if isinstance(answer, bytes):
        answer = answer.decode("utf-8", "replace")
    return " ".join(answer.split())
