"""What a delivery channel answers, and whose problem a failure is.

A failure is either the recipient's (``TemporaryFailure``, ``PermanentFailure``: the
server answered about this address or this message) or the channel's
(``ConnectionLost``, ``ReplyLost``: the connection or the relay failed, whoever the
recipient). The send loop treats them differently: only the recipient's failures are
recorded against the recipient; a channel failure leaves the recipient to be sent to
later, except after the final ``.``, where the message may already have been accepted.
"""

from __future__ import annotations

from typing import Protocol


class DeliveryFailure(Exception):
    """One message was not delivered; ``str()`` is the server's answer."""

    def __init__(self, code: int, answer: str) -> None:
        self.code = code
        self.answer = answer
        super().__init__(f"{code} {answer}".strip())


class TemporaryFailure(DeliveryFailure):
    """A 4xx answer about this recipient or message: it may be tried again later."""


class PermanentFailure(DeliveryFailure):
    """A 5xx answer: this recipient will not get the message."""


class ConnectionLost(DeliveryFailure):
    """The relay could not be reached, went away, stalled or refused service (421, a
    4xx to ``MAIL FROM``) before it had the message: nothing was delivered, and the same
    message may be sent on a new connection."""

    def __init__(self, answer: str, code: int = 0) -> None:
        super().__init__(code, answer)


class ReplyLost(DeliveryFailure):
    """The whole message and its final ``.`` were sent, then no reply came: the server
    may have accepted it, so sending it again may deliver a second copy."""

    def __init__(self, answer: str) -> None:
        super().__init__(0, answer)


class Channel(Protocol):
    """One open connection; used by one thread at a time."""

    def deliver(
        self, envelope_from: str, recipient: str, message: bytes, *, dot_safe: bool = False
    ) -> None:
        """``dot_safe``: no line of ``message`` starts with a dot, so none needs doubling."""

    def close(self) -> None: ...


class Transport(Protocol):
    description: str
    """Where messages go, for the command's output (no credentials)."""

    def open(self) -> Channel: ...
