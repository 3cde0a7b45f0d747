"""A resumable send: workers claim recipients one at a time, deliver, and record.

Each worker owns one channel (an SMTP connection or the outbox). Per recipient it, in one
database transaction, records the previous recipient's outcome and claims the next
(see ``store.deliveries``), so at most one message per connection is ever in flight
without a record. Recipients are read from the database a page at a time.

What a failure does depends on whose it is (see ``transport``):

- the recipient's: a 5xx fails them for good; a 4xx is tried again a few times, then
  the recipient is *deferred* (``send --retry-failed`` tries again later);
- the relay's, before it had the message (refused connection, timeout, drop, 421): the
  recipient stays pending and the worker reconnects, at once and then with growing
  pauses; once no message has gone through for ``give_up_after`` seconds the whole run
  stops, leaving everyone not yet sent to pending for the next run;
- the relay's, after the final ``.``: the message may have arrived, so it is recorded
  *uncertain* and never sent again in this run.

The retries are written here rather than with a retry library (tenacity, stamina): one
recipient's retries count three kinds of failure differently, every pause ends the
moment a stop is requested, and the decision to give up on the relay is shared by all
connections of the run (``RelayHealth``), not taken per call.
"""

from __future__ import annotations

import contextlib
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError

from newsletter.clock import Clock, utc_now
from newsletter.delivery.dkim import DkimSigner
from newsletter.delivery.message import MessageTemplate, message_id
from newsletter.delivery.transport import (
    Channel,
    ConnectionLost,
    PermanentFailure,
    ReplyLost,
    TemporaryFailure,
    Transport,
)
from newsletter.errors import DeliveryError
from newsletter.render.merge import Recipient
from newsletter.store.deliveries import (
    Audience,
    AudienceRow,
    DeliveryStatus,
    Outcome,
    Recorder,
    mark_in_flight_uncertain,
    release_reserved,
)
from newsletter.store.workers import Lease, reserve

PAGE = 500
SHARED_BATCH = 100
"""Recipients a worker beside others takes at once: small, so the work spreads evenly and
an unsubscribe waits for one batch at most (see ``store.workers``)."""
MAX_ROUNDS = 4
"""Times a last worker goes back for what dead workers left, before leaving it to the
next send."""
HEARTBEAT_SECONDS = 10.0
TICK = 0.1
"""How often the coordinating thread reports progress and looks for a stop request."""
MAX_RECONNECT_PAUSE = 10.0

RecipientFactory = Callable[[AudienceRow], tuple[Recipient, str, str]]
"""The row's recipient with its links, the mailto: half of its List-Unsubscribe, and
the envelope sender (return path) of its message."""


@dataclass(frozen=True)
class SendOptions:
    connections: int = 4
    rate: float | None = None
    retries: int = 4
    """Tries after a 4xx about the recipient, before it is deferred."""
    retry_delay: float = 2.0
    give_up_after: float = 60.0
    """Seconds without a message going through, while the relay fails, before stopping."""
    max_failures_in_a_row: int = 50


@dataclass
class RunResult:
    sent: int = 0
    failed: int = 0
    deferred: int = 0
    uncertain: int = 0
    skipped: int = 0
    sent_again: int = 0
    """Recipients sent once more after an earlier message got no answer."""
    interrupted: bool = False
    relay_down: str | None = None
    """Why the relay was given up on, or None."""
    stopped: str | None = None
    """Why the send stopped on the recipients' failures, or None."""

    @property
    def done(self) -> int:
        return self.sent + self.failed + self.deferred + self.uncertain + self.skipped


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


class RelayHealth:
    """Shared by the workers: since when the relay has been failing, if it is.

    Any answer from the relay (a delivery, or a refusal about a recipient) shows it is
    up. A worker whose connection failed pauses and retries until the relay has been
    failing for ``give_up_after`` seconds, then the run gives up on it.
    """

    def __init__(self, give_up_after: float, first_pause: float) -> None:
        self.give_up_after = give_up_after
        self.first_pause = first_pause
        self._failing_since: float | None = None
        self._lock = threading.Lock()
        self.gave_up: str | None = None

    def answered(self) -> None:
        if self._failing_since is not None:
            with self._lock:
                self._failing_since = None

    def retry_after_failure(
        self, failure: ConnectionLost, tries: int, stop: threading.Event
    ) -> bool:
        """Pause before reconnecting; False when the run should give up (or stop)."""
        now = time.monotonic()
        with self._lock:
            if self._failing_since is None:
                self._failing_since = now
            failing_for = now - self._failing_since
            if self.gave_up is not None:
                return False
            if failing_for >= self.give_up_after:
                self.gave_up = f"no message went through for {failing_for:.0f} s: {failure.answer}"
                return False
        if tries <= 1:
            return not stop.is_set()
        pause = min(
            self.first_pause * 2 ** (tries - 2),
            MAX_RECONNECT_PAUSE,
            self.give_up_after - failing_for,
        )
        return not stop.wait(max(pause, 0.0))


class MessageSender:
    """One recipient's message: rendered, signed, delivered and retried as its failures
    allow (see the module docstring). Shared by the workers of a run and by test sends."""

    def __init__(
        self,
        template: MessageTemplate,
        recipient_for: RecipientFactory,
        options: SendOptions,
        signer: DkimSigner | None = None,
        stop: threading.Event | None = None,
    ) -> None:
        self.template = template
        self.recipient_for = recipient_for
        self.options = options
        self.signer = signer
        self.stop = stop or threading.Event()
        self.relay = RelayHealth(options.give_up_after, options.retry_delay)

    def deliver(self, channel: Channel, row: AudienceRow, msg_id: str) -> Outcome:
        """The outcome to record. A status of None releases the claim: the message did
        not go out and the recipient stays as it was for the next run."""
        recipient, mailto, envelope_from = self.recipient_for(row)
        data = self.template.render(recipient, message_id=msg_id, unsubscribe_mailto=mailto)
        if self.signer is not None:
            data = self.signer.sign(data)
        attempts = refusals = connection_failures = 0
        delay = self.options.retry_delay
        while True:
            attempts += 1
            try:
                channel.deliver(envelope_from, row.email, data, dot_safe=True)
            except PermanentFailure as exc:
                self.relay.answered()
                return Outcome(row.id, DeliveryStatus.FAILED, attempts, str(exc))
            except TemporaryFailure as exc:
                self.relay.answered()
                refusals += 1
                if refusals > self.options.retries:
                    error = f"deferred after {refusals} tries: {exc}"
                    return Outcome(row.id, DeliveryStatus.DEFERRED, attempts, error)
                if self.stop.wait(delay):
                    return Outcome(row.id, None, attempts, str(exc), previous=row.previous)
                delay *= 2
            except ReplyLost as exc:
                return Outcome(row.id, DeliveryStatus.UNCERTAIN, attempts, str(exc))
            except ConnectionLost as exc:
                connection_failures += 1
                if not self.relay.retry_after_failure(exc, connection_failures, self.stop):
                    if self.relay.gave_up is not None:
                        self.stop.set()
                    error = self.relay.gave_up or str(exc)
                    return Outcome(row.id, None, attempts, error, previous=row.previous)
            else:
                self.relay.answered()
                return Outcome(row.id, DeliveryStatus.SENT, attempts, row.note_when_sent)


@dataclass(frozen=True)
class PreparedRun:
    """Everything a run needs, built before its campaign is claimed, so that a bad
    setting or template fails before anything is recorded."""

    slug: str
    content_hash: str
    template: MessageTemplate
    recipient: RecipientFactory
    transport: Transport
    signer: DkimSigner | None
    options: SendOptions
    clock: Clock = utc_now

    @property
    def description(self) -> str:
        return self.transport.description

    def start(
        self,
        engine: Engine,
        audience: Audience,
        heartbeat: Callable[[Connection], None] | None = None,
        lease: Lease | None = None,
    ) -> SendRun:
        """``lease``: this run is one of several workers on the campaign (PostgreSQL)."""
        return SendRun(
            engine,
            audience,
            self.template,
            self.recipient,
            self.transport,
            self.options,
            run_id=f"{self.slug}.{secrets.token_hex(4)}",
            signer=self.signer,
            heartbeat=heartbeat,
            clock=self.clock,
            lease=lease,
        )


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
        clock: Clock = utc_now,
        lease: Lease | None = None,
    ) -> None:
        self.clock = clock
        self.lease = lease
        self.recovered = 0
        """Messages dead workers left in flight, found by this run as the last worker."""
        self._reserving = lease is not None
        self._again_later: set[str] = set()
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
        self.sender = MessageSender(template, recipient_for, options, signer, self.stop)
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
        comes back with ``interrupted`` set. A stalled connection holds a worker for at
        most the transport's timeout.
        """
        stop = stop_requested or threading.Event()
        with self.engine.connect() as connection:
            self.connection = connection
            self._recorder = Recorder(self.audience, connection)
            try:
                result = self._run(progress, stop)
                rounds = 1
                while self.lease and rounds < MAX_ROUNDS and self._left_by_the_dead():
                    self._exhausted, self._after, self._reserving = False, "", True
                    rounds += 1
                    result = self._run(progress, stop)
                return result
            finally:
                self._release_unsent()

    def _release_unsent(self) -> None:
        """Reservations a stopped run did not get to go back to pending; should that
        fail, the last worker or the next send releases them."""
        unsent = [row.id for row in self._buffer if row.reserved]
        self._buffer.clear()
        if unsent:
            with contextlib.suppress(SQLAlchemyError), self._db, self.connection.begin():
                release_reserved(self.connection, self.audience.campaign_id, unsent)

    def _left_by_the_dead(self) -> bool:
        """After a shared run: True when this was the last worker and workers that died
        left work. Their messages in flight become uncertain (each gets its one more
        try), and what they held but never claimed is free again."""
        assert self.lease is not None
        if not self.lease.leave() or self.stop.is_set():
            return False
        with self._db, self.connection.begin():
            campaign = self.audience.campaign_id
            release_reserved(self.connection, campaign)
            self.recovered += mark_in_flight_uncertain(self.connection, campaign, self.clock())
            left = self.audience.count(self.connection)
        if left:
            self.lease.rejoin()
        return bool(left)

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
        for worker in workers:
            while worker.is_alive():
                worker.join(TICK)
                if stop_requested.is_set() and not self.stop.is_set():
                    self._shared.result.interrupted = True
                    self.stop.set()
                if progress:
                    progress(self._shared.result.done)
                if self.heartbeat and time.monotonic() - last_beat > HEARTBEAT_SECONDS:
                    last_beat = time.monotonic()
                    with self._db, self.connection.begin():
                        self.heartbeat(self.connection)
        if progress:
            progress(self._shared.result.done)
        self._shared.result.relay_down = self.sender.relay.gave_up
        if self._shared.fatal is not None:
            raise self._shared.fatal
        return self._shared.result

    def _next(self) -> AudienceRow | None:
        """The next recipient to claim; never one this run already tried and left to try
        again (uncertain, deferred): that is for the next run."""
        with self._jobs:
            while True:
                if not self._buffer and not self._refill():
                    return None
                row = self._buffer.popleft()
                if row.id not in self._again_later:
                    return row

    def _refill(self) -> bool:
        if self._exhausted:
            return False
        rows = self._page()
        if not rows and self._reserving:
            # Every new recipient is reserved: once through the rest (uncertain ones due
            # one more try, any skipped while another worker was reserving them).
            self._reserving, self._after = False, ""
            rows = self._page()
        if not rows:
            self._exhausted = True
            return False
        self._after = rows[-1].id
        self._buffer.extend(rows)
        return True

    def _page(self) -> list[AudienceRow]:
        if self._reserving:
            with self._db:
                return reserve(
                    self.connection, self.audience, self._after, SHARED_BATCH, self.clock()
                )
        with self._db, self.connection.begin():
            return self.audience.page(self.connection, self._after, PAGE)

    def _record(self, outcome: Outcome | None, claim: tuple[AudienceRow, str] | None) -> bool:
        """Record the last outcome and claim the next recipient in one transaction."""
        with self._db:
            return self._recorder.step(outcome, claim, self.clock())

    def _work(self) -> None:
        channel: Channel | None = None
        pending: Outcome | None = None
        in_flight: AudienceRow | None = None
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
                in_flight = row
                pending = self.sender.deliver(channel, row, msg_id)
                in_flight = None
                if pending.status in (DeliveryStatus.UNCERTAIN, DeliveryStatus.DEFERRED):
                    self._again_later.add(row.id)
                self._count(pending.status, again=row.previous is DeliveryStatus.UNCERTAIN)
        except BaseException as exc:
            self._shared.fatal = self._shared.fatal or exc
            self.stop.set()
            if in_flight is not None and isinstance(exc, DeliveryError):
                pending = Outcome(in_flight.id, None, previous=in_flight.previous)
        finally:
            if pending is not None:
                try:
                    self._record(pending, None)
                except BaseException as exc:
                    self._shared.fatal = self._shared.fatal or exc
            if channel is not None:
                with contextlib.suppress(DeliveryError):
                    channel.close()

    def _count(self, status: DeliveryStatus | None, *, again: bool = False) -> None:
        result = self._shared.result
        with self._counts:
            if status is DeliveryStatus.SENT:
                result.sent += 1
                result.sent_again += again
                self._shared.failures_in_a_row = 0
                return
            if status is DeliveryStatus.FAILED:
                result.failed += 1
            elif status is DeliveryStatus.DEFERRED:
                result.deferred += 1
            elif status is DeliveryStatus.UNCERTAIN:
                result.uncertain += 1
            else:
                return
            self._shared.failures_in_a_row += 1
            if self._shared.failures_in_a_row >= self.options.max_failures_in_a_row:
                result.stopped = (
                    f"stopped after {self._shared.failures_in_a_row} recipients in a row "
                    "did not get the message"
                )
                self.stop.set()
