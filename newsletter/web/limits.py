"""How long reading a request body may take and how big it may be.

A client that stops sending part-way gets ``408 Request Timeout`` once the time is up,
and its connection is closed; a body over the size limit gets ``413 Content Too Large``.
A client that goes away before sending the whole body is one log line, no traceback:
mail servers and phones on bad networks do it all the time.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import anyio
from starlette.datastructures import Headers
from starlette.requests import ClientDisconnect
from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger("newsletter.web")

BODY_TIMEOUT = 10.0
MAX_BODY_BYTES = 64 * 1024


@dataclass(frozen=True)
class BodyLimits:
    seconds: float = BODY_TIMEOUT
    """From the end of the headers to the last byte of the body."""
    max_bytes: int = MAX_BODY_BYTES


DEFAULT_BODY_LIMITS = BodyLimits()


class _TooSlow(Exception):
    pass


class _TooLarge(Exception):
    pass


class _Body:
    """A request's ``receive``, bounded in time and size until the body is complete."""

    def __init__(self, receive: Receive, limits: BodyLimits) -> None:
        self._receive = receive
        self._deadline = anyio.current_time() + limits.seconds
        self._max_bytes = limits.max_bytes
        self._read = 0
        self._complete = False

    async def receive(self) -> Message:
        if self._complete:  # after the body: waiting for a disconnect is not bounded
            return await self._receive()
        with anyio.CancelScope(deadline=self._deadline) as waiting:
            message = await self._receive()
        if waiting.cancelled_caught:
            raise _TooSlow
        self._count(message)
        return message

    def _count(self, message: Message) -> None:
        if message["type"] != "http.request":
            return
        self._read += len(message.get("body", b""))
        if self._read > self._max_bytes:
            raise _TooLarge
        self._complete = not message.get("more_body", False)


def declared_length(scope: Scope) -> int | None:
    value = Headers(scope=scope).get("content-length", "")
    return int(value) if value.isdigit() else None


async def refuse(status: int, scope: Scope, receive: Receive, send: Send) -> None:
    """A short answer that closes the connection, leaving the rest of the body unread."""
    response = PlainTextResponse(f"{status}\n", status_code=status, headers={"Connection": "close"})
    await response(scope, receive, send)


class RequestBodyLimits:
    """Applies ``BodyLimits`` to every request the app reads a body from."""

    def __init__(self, app: ASGIApp, *, limits: BodyLimits) -> None:
        self.app = app
        self.limits = limits

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = declared_length(scope)
        if length is not None and length > self.limits.max_bytes:
            log.warning("request body of %d bytes refused: answered 413", length)
            await refuse(413, scope, receive, send)
            return
        try:
            await self.app(scope, _Body(receive, self.limits).receive, send)
        except ClientDisconnect:
            log.warning("client went away before sending the whole request")
        except _TooSlow:
            log.warning("request body not complete after %g s: answered 408", self.limits.seconds)
            await refuse(408, scope, receive, send)
        except _TooLarge:
            log.warning("request body over %d bytes: answered 413", self.limits.max_bytes)
            await refuse(413, scope, receive, send)
