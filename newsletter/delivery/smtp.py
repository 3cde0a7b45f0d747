"""SMTP delivery: ``NEWSLETTER_SMTP_URL`` parsed once, one ``SmtpChannel`` per connection.

``smtp://user:password@host:587`` uses STARTTLS (required unless the host is this
machine), ``smtps://user:password@host:465`` TLS from the start. Messages arrive as
CRLF bytes without leading dots (see ``message``), so DATA sends them as they are.
"""

from __future__ import annotations

import contextlib
import re
import smtplib
import ssl
from dataclasses import dataclass, field
from urllib.parse import unquote, urlsplit

from newsletter.delivery.transport import ConnectionLost, PermanentFailure, TemporaryFailure
from newsletter.errors import ConfigError, DeliveryError

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

    def deliver(self, envelope_from: str, recipient: str, message: bytes) -> None:
        """Raises ``TemporaryFailure``, ``PermanentFailure`` or ``ConnectionLost``."""
        if self._smtp is None:
            self._smtp = self._connect()
        smtp = self._smtp
        try:
            code, answer = smtp.mail(envelope_from)
            if code == 250:
                code, answer = smtp.rcpt(recipient)
                if code in (250, 251):
                    code, answer = smtp.docmd("data")
                    if code == 354:
                        if message.startswith(b".") or b"\n." in message:
                            message = _LEADING_DOT.sub(b"..", message)
                        if not message.endswith(b"\r\n"):
                            message += b"\r\n"
                        smtp.send(message)
                        smtp.send(b".\r\n")
                        code, answer = smtp.getreply()
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


def _text(answer: bytes | str) -> str:
    if isinstance(answer, bytes):
        answer = answer.decode("utf-8", "replace")
    return " ".join(answer.split())
