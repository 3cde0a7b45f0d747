"""What a delivery channel answers: delivered, try again later, or refused for good."""

from __future__ import annotations

from typing import Protocol


class DeliveryFailure(Exception):
    """One message was not delivered; ``str()`` is the server's answer."""

    def __init__(self, code: int, answer: str) -> None:
        self.code = code
        self.answer = answer
        super().__init__(f"{code} {answer}".strip())


class TemporaryFailure(DeliveryFailure):
    """A 4xx answer: the same message may be tried again later."""


class PermanentFailure(DeliveryFailure):
    """A 5xx answer: this recipient will not get the message."""


class ConnectionLost(DeliveryFailure):
    """The connection dropped before the server answered; open a new one and retry."""

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
