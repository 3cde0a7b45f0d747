"""``newsletter inbound`` over a Maildir of 10,000 reports, beside parsing alone.

Builds a project with an audience of 10,000 and one sent campaign, then a Maildir
holding one report per member, cycling through the real-shaped samples of
tests/returns_samples/ (Postfix, Exim, Exchange and Gmail DSNs, a Postfix delay notice,
qmail and old Sendmail bounces, an ARF complaint, a mailto unsubscribe, an
out-of-office reply). Times, in the same run and over the same files:

- baseline: ``email.message_from_binary_file`` of every file, nothing else;
- inbound: the whole of ``newsletter inbound`` (read, classify, act on the store,
  keep the report compressed, mark the handled files seen), each round from the same
  Maildir and database.

    .venv/bin/python benchmarks/inbound.py [--count 10000] [--rounds 3]

Goal: inbound at least half the baseline's messages per second (wall clock, the
median round). The CPU-time share is printed too: it holds steady when other work
shares the machine.
"""

from __future__ import annotations

import argparse
import email
import os
import re
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
SAMPLES = REPO / "tests" / "returns_samples"
SECRET = "benchmark-secret-0123456789abcdefghijklmnop"
MAILBOX = "bounces@news.example.org"
GOAL = 0.5
_MESSAGE_ID = re.compile(r"^(Message-I[Dd]: <)", re.M)


def _project(root: Path) -> Path:
    for name in ("templates", "campaigns"):
        shutil.copytree(REPO / name, root / name)
    shutil.copy(REPO / "newsletter.yaml", root / "newsletter.yaml")
    return root / "newsletter.yaml"


def _sent_campaign(provider: object, count: int) -> tuple[int, list[tuple[str, str, str]]]:
    """An audience of ``count`` and a campaign sent to all: (campaign id, members as
    (id, email, message id))."""
    from newsletter.providers.base import MemberInput
    from newsletter.store import campaigns
    from newsletter.store.tables import deliveries

    provider.import_members(  # type: ignore[attr-defined]
        MemberInput(f"reader{n:05d}@example.net", topics=frozenset({"events"}))
        for n in range(count)
    )
    now = datetime.now(UTC)
    people = [
        (m.id, m.email, f"<winter-2026.bench.{m.id}@example.org>")
        for m in provider.members()  # type: ignore[attr-defined]
    ]
    with provider.engine.begin() as connection:  # type: ignore[attr-defined]
        campaign = campaigns.get_or_create(connection, "local", "winter-2026", "Winter", now)
        connection.execute(
            deliveries.insert(),
            [
                {
                    "campaign_id": campaign.id,
                    "subscriber_id": member_id,
                    "status": "sent",
                    "message_id": message_id,
                    "attempts": 1,
                    "uncertain_sends": 0,
                    "updated_at": now,
                }
                for member_id, _, message_id in people
            ],
        )
    return campaign.id, people


def _fill(maildir: Path, campaign_id: int, people: list[tuple[str, str, str]]) -> int:
    """One report per member, each with a Message-ID of its own; the bytes written."""
    from newsletter.returns.addresses import ReturnAddresses

    addresses = ReturnAddresses(MAILBOX, [SECRET])
    templates = [p.read_text(encoding="utf-8") for p in sorted(SAMPLES.glob("*.eml"))]
    for folder in ("new", "cur", "tmp"):
        (maildir / folder).mkdir(parents=True)
    total = 0
    for n, (member_id, address, message_id) in enumerate(people):
        values = {
            "return_path": addresses.return_path(member_id, campaign_id),
            "unsubscribe": addresses.unsubscribe_address(member_id, campaign_id),
            "message_id": message_id,
            "recipient": address,
            "mailbox": MAILBOX,
        }
        text = templates[n % len(templates)]
        for key, value in values.items():
            text = text.replace("{{" + key + "}}", value)
        text = _MESSAGE_ID.sub(rf"\g<1>r{n}.", text, count=1)
        data = text.encode("utf-8")
        (maildir / "new" / f"{1768000000 + n}.M{n}P1.bench").write_bytes(data)
        total += len(data)
    return total


@dataclass(frozen=True)
class Timing:
    wall: float
    cpu: float


def _timed(work: Callable[[], object]) -> tuple[Timing, object]:
    wall, cpu = time.perf_counter(), time.process_time()
    result = work()
    return Timing(time.perf_counter() - wall, time.process_time() - cpu), result


def _baseline(maildir: Path) -> None:
    for name in os.listdir(maildir / "new"):
        with open(maildir / "new" / name, "rb") as handle:
            email.message_from_binary_file(handle)


def _inbound_once(settings: object, pristine: Path, maildir: Path, database: Path) -> tuple:
    """One timed ``newsletter inbound`` from the same starting point: the Maildir and
    the database as they were before any run."""
    from newsletter.providers.local import LocalProvider
    from newsletter.returns.maildir import MaildirMailbox

    shutil.rmtree(maildir, ignore_errors=True)
    shutil.copytree(pristine / "bounces", maildir)
    for suffix in ("-wal", "-shm"):
        Path(f"{database}{suffix}").unlink(missing_ok=True)
    shutil.copy(pristine / "newsletter.db", database)
    with LocalProvider(settings) as provider:  # type: ignore[arg-type]
        return _timed(lambda: provider.read_returns(MaildirMailbox(maildir)))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=3, help="baseline and inbound, in turn")
    args = parser.parse_args()
    from newsletter.config import load_settings
    from newsletter.providers.local import LocalProvider

    with tempfile.TemporaryDirectory(prefix="nl-inbound-bench-") as folder:
        root = Path(folder)
        settings = load_settings(_project(root), secret=SECRET, bounce_address=MAILBOX)
        pristine = root / "pristine"
        with LocalProvider(settings) as provider:
            campaign_id, people = _sent_campaign(provider, args.count)
        size = _fill(pristine / "bounces", campaign_id, people)
        database = root / ".newsletter" / "newsletter.db"
        shutil.copy(database, pristine / "newsletter.db")
        _baseline(pristine / "bounces")  # the page cache warm for every timing
        rounds = []
        for _ in range(args.rounds):
            base, _ = _timed(lambda: _baseline(pristine / "bounces"))
            ours, summary = _inbound_once(settings, pristine, root / "bounces", database)
            rounds.append((base, ours))
    return _report(args.count, size, rounds, summary)


def _report(count: int, size: int, rounds: list, summary: Any) -> int:
    """Each round's rates, and the median round's share of the baseline: the rounds
    alternate, so a machine busy with other work slows both sides of a round."""
    print(f"{count:,} reports, {size / count / 1024:.1f} KB each on average")
    print(summary.line("inbound"))
    print("round  baseline msg/s  inbound msg/s  share (wall)  share (CPU)")
    for number, (base, ours) in enumerate(rounds, 1):
        print(
            f"{number:>5}  {count / base.wall:>14,.0f}  {count / ours.wall:>13,.0f}"
            f"  {base.wall / ours.wall:>12.0%}  {base.cpu / ours.cpu:>11.0%}"
        )
    share = statistics.median(base.wall / ours.wall for base, ours in rounds)
    print(f"median share of the baseline: {share:.0%}; goal >= {GOAL:.0%}: "
          f"{'met' if share >= GOAL else 'NOT met'}")  # fmt: skip
    if summary.read != count:
        print(f"error: read {summary.read:,} of {count:,}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
