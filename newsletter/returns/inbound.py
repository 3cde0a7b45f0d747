"""One pass over the bounce mailbox: classify each message, act on it, and move the
handled ones out of the way.

A batch of messages is acted on in one transaction and moved only after it commits: a
crash in between leaves them in place, and the next run finds their reports recorded
("handled before") and moves them then. ``dry_run`` acts in a transaction that is
rolled back, so it shows exactly what a run would do and changes nothing.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Engine

from newsletter.returns.addresses import ReturnAddresses
from newsletter.returns.classify import Verdict, classify
from newsletter.returns.mailbox import Inbound, Mailbox
from newsletter.returns.policy import Applied, Limits, apply, prepare
from newsletter.store.return_batch import ReturnsStore
from newsletter.store.returns import drop_expired

Shown = Callable[[Inbound, Verdict, Applied], None]
"""Called for each message with its verdict and what it did (or would do)."""

_ACTED_WORDS = {
    Verdict.HARD_BOUNCE: "hard bounce",
    Verdict.SOFT_BOUNCE: "soft bounce",
    Verdict.COMPLAINT: "complaint",
    Verdict.UNSUBSCRIBE: "unsubscribe",
}
_LEFT_WORDS = {
    Verdict.AUTO_REPLY: "auto-reply",
    Verdict.REFUSED: "refused token",
    Verdict.UNKNOWN: "not understood",
}


@dataclass
class InboundSummary:
    read: int = 0
    acted: Counter[Verdict] = field(default_factory=Counter)
    changed: int = 0
    before: int = 0
    """Handled by an earlier run (moved now, nothing changed)."""
    left: Counter[str] = field(default_factory=Counter)
    """Left for a person, by why."""
    dropped_reports: int = 0
    dry_run: bool = False

    def add(self, verdict: Verdict, applied: Applied) -> None:
        self.read += 1
        if applied.before:
            self.before += 1
        elif applied.handled:
            self.acted[verdict] += 1
            self.changed += applied.changed
        elif verdict in _ACTED_WORDS:
            self.left["not tied to a member"] += 1
        else:
            self.left[_LEFT_WORDS.get(verdict, verdict.value)] += 1

    def line(self, where: str) -> str:
        head = "would handle" if self.dry_run else "handled"
        acted = ", ".join(
            _count(self.acted[verdict], words) for verdict, words in _ACTED_WORDS.items()
        )
        text = f"{where}: {self.read:,} read; {head} {acted}; {self.changed:,} members changed"
        if self.before:
            text += f"; {self.before:,} handled before"
        left = sum(self.left.values())
        text += f"; {left:,} left for a person"
        if left:
            text += " (" + ", ".join(f"{n:,} {why}" for why, n in sorted(self.left.items())) + ")"
        return text


def _count(number: int, words: str) -> str:
    return f"{number:,} {words}{'' if number == 1 else 's'}"


def process(
    engine: Engine,
    mailbox: Mailbox,
    addresses: ReturnAddresses | None,
    limits: Limits,
    now: datetime,
    *,
    dry_run: bool = False,
    show: Shown | None = None,
) -> InboundSummary:
    """Read every waiting message once; see the module docstring."""
    summary = InboundSummary(dry_run=dry_run)
    with engine.connect() as connection:
        store = ReturnsStore(connection)
        for batch in mailbox.batches():
            decisions = [(message, classify(message.raw, addresses)) for message in batch]
            handled: list[Inbound] = []
            with connection.begin() as transaction:
                prepare(store, [(decision, message.raw) for message, decision in decisions])
                for message, decision in decisions:
                    applied = apply(store, decision, message.raw, limits, now)
                    summary.add(decision.verdict, applied)
                    if applied.handled:
                        handled.append(message)
                    if show is not None:
                        show(message, decision.verdict, applied)
                store.flush()
                if dry_run:
                    transaction.rollback()
                    continue
            mailbox.handled(handled)
        if not dry_run:
            with connection.begin():
                summary.dropped_reports = drop_expired(connection, now)
    return summary
