"""A resumable send: workers claim recipients one at a time, deliver, and record.

Each worker owns one channel (an SMTP connection or the outbox). Per recipient it, in one
database transaction, records the previous recipient's outcome and claims the next
(see ``store.deliveries``), so at most one message per connection is ever in flight
without a record. Recipients are read from the database a page at a time.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial

from sqlalchemy import Connection, Engine

from newsletter.delivery.dkim import DkimSigner
from newsletter.delivery.message import MessageTemplate, Recipient, message_id
from newsletter.delivery.transport import (
    ConnectionLost,
    PermanentFailure,
    TemporaryFailure,
    Transport,
)
from newsletter.errors import DeliveryError
from newsletter.store.deliveries import (
    SENT_AGAIN,
    Audience,
    AudienceRow,
    DeliveryStatus,
    Outcome,
    Recorder,
)

PAGE = 500
HEARTBEAT_SECONDS = 10.0

RecipientFactory = Callable[[AudienceRow, str], Recipient]
"""Builds the recipient's values and links, given the row and its Message-ID."""


@dataclass(frozen=True)
class SendOptions:
    connections: int = 4
    rate: float | None = None
    retries: int = 4
    retry_delay: float = 2.0
    max_failures_in_a_row: int = 50


@dataclass
class RunResult:
    sent: int = 0
    failed: int = 0
    skipped: int = 0
    interrupted: bool = False
    stopped: str | None = None
    """Why the send stopped early (too many failures, a delivery error), or None."""

    @property
    def done(self) -> int:
        return self.sent + self.failed + self.skipped


class RateLimiter:
    """At most ``rate`` messages a second across all workers."""

    def __init__(self, rate: float | None) -> None:
        self._interval = 1.0 / rate if rate else 0.0
        self._next = time.monotonic()
        self._lock = threading.Lock()

    def wait(self, stop: threading.Event) -> None:
        if not self._interval:
            return
        with self._lock:
            now = time.monotonic()
            slot = max(now, self._next)
            self._next = slot + self._interval
        if slot > now:
            stop.wait(slot - now)


def deliver_with_retries(
    deliver: Callable[[], None],
    options: SendOptions,
    stop: threading.Event,
) -> tuple[DeliveryStatus | None, int, str | None]:
    """(status, attempts, error); status None means not delivered and safe to try later."""
    delay = options.retry_delay
    attempts = 0
    while True:
        attempts += 1
        try:
            deliver()
            return DeliveryStatus.SENT, attempts, None
        except PermanentFailure as exc:
            return DeliveryStatus.FAILED, attempts, str(exc)
        except (TemporaryFailure, ConnectionLost) as exc:
            if attempts > options.retries:
                return DeliveryStatus.FAILED, attempts, f"gave up after {attempts} tries: {exc}"
            if stop.wait(delay):
                return None, attempts, str(exc)
            delay *= 2


@dataclass
class _Shared:
    result: RunResult = field(default_factory=RunResult)
    failures_in_a_row: int = 0
    fatal: BaseException | None = None


class SendRun:
    def __init__(
        self,
        engine: Engine,
        audience: Audience,
        template: MessageTemplate,
        recipient_for: RecipientFactory,
        transport: Transport,
        options: SendOptions,
        *,
        run_id: str,
        signer: DkimSigner | None = None,
        heartbeat: Callable[[Connection], None] | None = None,
    ) -> None:
        self.engine = engine
        self.audience = audience
        self.template = template
        self.recipient_for = recipient_for
        self.transport = transport
        self.options = options
        self.run_id = run_id
        self.signer = signer
        self.heartbeat = heartbeat
        self.stop = threading.Event()
        self._db = threading.Lock()
        self._jobs = threading.Lock()
        self._counts = threading.Lock()
        self._buffer: deque[AudienceRow] = deque()
        self._after = ""
        self._exhausted = False
        self._shared = _Shared()
        self._rate = RateLimiter(options.rate)

    @property
    def result(self) -> RunResult:
        """The counts so far."""
        return self._shared.result

    def run(
        self,
        progress: Callable[[int], None] | None = None,
        stop_requested: threading.Event | None = None,
    ) -> RunResult:
        """Send until the audience is done, a stop, or ``stop_requested``; returns the counts.

        When ``stop_requested`` is set (Ctrl-C, SIGTERM: see ``newsletter.interrupts``)
        each worker finishes and records the message it has in flight, and the result
        comes back with ``interrupted`` set.
        """
        with self.engine.connect() as connection:
            self.connection = connection
            self._recorder = Recorder(self.audience, connection)
            return self._run(progress, stop_requested or threading.Event())

    def _run(
        self, progress: Callable[[int], None] | None, stop_requested: threading.Event
    ) -> RunResult:
        workers = [
            threading.Thread(target=self._work, name=f"send-{n}", daemon=True)
            for n in range(self.options.connections)
        ]
        for worker in workers:
            worker.start()
        last_beat = time.monotonic()
        while any(worker.is_alive() for worker in workers):
            if stop_requested.wait(0.1) and not self.stop.is_set():
                self.stop.set()
                self._shared.result.interrupted = True
            if progress:
                progress(self._shared.result.done)
            if self.heartbeat and time.monotonic() - last_beat > HEARTBEAT_SECONDS:
                last_beat = time.monotonic()
                with self._db, self.connection.begin():
                    self.heartbeat(self.connection)
        for worker in workers:
            worker.join()
        if progress:
            progress(self._shared.result.done)
        if self._shared.fatal is not None:
            raise self._shared.fatal
        return self._shared.result

    def _next(self) -> AudienceRow | None:
        with self._jobs:
            if not self._buffer:
                if self._exhausted:
                    return None
                with self._db, self.connection.begin():
                    rows = self.audience.page(self.connection, self._after, PAGE)
                if not rows:
                    self._exhausted = True
                    return None
                self._after = rows[-1].id
                self._buffer.extend(rows)
            return self._buffer.popleft()

    def _record(self, outcome: Outcome | None, claim: tuple[AudienceRow, str] | None) -> bool:
        """Record the last outcome and claim the next recipient in one transaction."""
        if outcome is not None and outcome.status is None:
            with self._db, self.connection.begin():
                self.audience.release(self.connection, outcome.subscriber_id)
            outcome = None
        next_claim = (claim[0].id, claim[1], claim[0].again) if claim else None
        with self._db:
            return self._recorder.step(outcome, next_claim, datetime.now(UTC))

    def _work(self) -> None:
        channel = None
        pending: Outcome | None = None
        in_flight: str | None = None
        try:
            channel = self.transport.open()
            while not self.stop.is_set():
                row = self._next()
                if row is None:
                    break
                self._rate.wait(self.stop)
                if self.stop.is_set():
                    break
                msg_id = message_id(self.run_id, row.id, self.template.domain)
                claimed = self._record(pending, (row, msg_id))
                pending = None
                if not claimed:
                    with self._counts:
                        self._shared.result.skipped += 1
                    continue
                in_flight = row.id
                data = self.template.render(self.recipient_for(row, msg_id))
                if self.signer is not None:
                    data = self.signer.sign(data)
                status, attempts, error = deliver_with_retries(
                    partial(
                        channel.deliver,
                        self.template.envelope_from,
                        row.email,
                        data,
                        dot_safe=True,
                    ),
                    self.options,
                    self.stop,
                )
                if row.again and status is DeliveryStatus.SENT:
                    error = SENT_AGAIN
                pending = Outcome(row.id, status, attempts, error)
                in_flight = None
                self._count(status)
        except BaseException as exc:
            self._shared.fatal = self._shared.fatal or exc
            self.stop.set()
            if in_flight is not None and isinstance(exc, DeliveryError):
                pending = Outcome(in_flight, None)
        finally:
            if pending is not None:
                self._record(pending, None)
            if channel is not None:
                with contextlib.suppress(DeliveryError):
                    channel.close()

    def _count(self, status: DeliveryStatus | None) -> None:
        result = self._shared.result
        with self._counts:
            if status is DeliveryStatus.SENT:
                result.sent += 1
                self._shared.failures_in_a_row = 0
            elif status is DeliveryStatus.FAILED:
                result.failed += 1
                self._shared.failures_in_a_row += 1
                if self._shared.failures_in_a_row >= self.options.max_failures_in_a_row:
                    result.stopped = (
                        f"stopped after {self._shared.failures_in_a_row} failed recipients in a row"
                    )
                    self.stop.set()
