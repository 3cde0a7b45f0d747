"""What faults cost a send, against an SMTP server on 127.0.0.1 that misbehaves on purpose.

Measured in one run, on this machine:
  clean    N recipients sent to a well-behaved server (the baseline)
  faulty   the same N to the same server answering 2% of recipients with a 451 once,
           dropping the connection before the final dot for 1% and after it for 0.2%;
           then the resume that finishes the issue. Prints messages a second as a share
           of the clean run, and copies received per recipient (1.000 is exactly once;
           only the uncertain ones may hold two)
  down     a relay where nothing listens, for a small and a large audience: seconds
           until the send stops (bounded by smtp_give_up_after, not by the audience)

    python benchmarks/faults.py [--recipients 3000] [--give-up-after 3]
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))

from fault_smtp import DROP_AFTER_DOT, DROP_BEFORE_DOT, FaultServer  # noqa: E402
from smtp_sink import free_port  # noqa: E402

from newsletter.campaigns import load_issue  # noqa: E402
from newsletter.config import load_settings  # noqa: E402
from newsletter.models import CampaignState  # noqa: E402
from newsletter.providers.base import MemberInput  # noqa: E402
from newsletter.providers.local import LocalProvider  # noqa: E402

SECRET = "benchmark-only-secret-0123456789abcdef0123"
EXAMPLE = REPO / "campaigns" / "winter-2026.yaml"


def provider_for(folder: Path, url: str, **overrides: object) -> LocalProvider:
    values = {
        "secret": SECRET,
        "smtp_url": url,
        "database_url": f"sqlite:///{folder / 'bench.db'}",
        "smtp_retry_delay": 0.05,
        "smtp_give_up_after": 3.0,
        "connections": 4,
        **overrides,
    }
    return LocalProvider(load_settings(REPO / "newsletter.yaml", **values))


def audience(provider: LocalProvider, count: int) -> list[str]:
    people = [f"r{n:06d}@example.org" for n in range(count)]
    provider.import_members(MemberInput(a, "Pat", "", frozenset({"events"})) for a in people)
    return people


def timed_send(provider: LocalProvider) -> tuple[float, object]:
    issue = load_issue(EXAMPLE, provider.settings)
    started = time.perf_counter()
    report = provider.send(issue)
    return time.perf_counter() - started, report


def clean(count: int) -> float:
    with tempfile.TemporaryDirectory() as folder:
        server = FaultServer().start()
        try:
            provider = provider_for(Path(folder), server.url)
            audience(provider, count)
            seconds, report = timed_send(provider)
            assert report.state is CampaignState.SENT, report
        finally:
            server.stop()
    rate = count / seconds
    print(f"clean    {count:,} messages in {seconds:.2f} s: {rate:,.0f} msg/s")
    return rate


def faulty(count: int, baseline: float) -> None:
    rng = random.Random(8)
    with tempfile.TemporaryDirectory() as folder:
        server = FaultServer().start()
        try:
            provider = provider_for(Path(folder), server.url)
            people = audience(provider, count)
            for address in people:
                roll = rng.random()
                if roll < 0.02:
                    server.behaviour.at_rcpt[address] = ["451 4.7.1 Greylisted, try again"]
                elif roll < 0.03:
                    server.behaviour.after_dot[address] = [DROP_BEFORE_DOT]
                elif roll < 0.032:
                    server.behaviour.after_dot[address] = [DROP_AFTER_DOT]
            seconds, first = timed_send(provider)
            resumed_seconds, second = timed_send(provider)
        finally:
            server.stop()
    rate = count / seconds
    copies = sum(server.received.values()) / count
    twice = sum(1 for n in server.received.values() if n == 2)
    print(
        f"faulty   {count:,} messages in {seconds:.2f} s: {rate:,.0f} msg/s, "
        f"{rate / baseline:.2f} of clean; first run left {first.pending} to send "
        f"({first.uncertain} uncertain); the resume took {resumed_seconds:.2f} s"
    )
    print(
        f"         copies received per recipient: {copies:.4f} "
        f"(missing {sum(1 for a in people if not server.received[a])}, "
        f"two copies {twice}, state {second.state})"
    )


def down(count: int, give_up_after: float) -> float:
    with tempfile.TemporaryDirectory() as folder:
        provider = provider_for(
            Path(folder),
            f"smtp://127.0.0.1:{free_port()}",
            smtp_give_up_after=give_up_after,
            smtp_retry_delay=0.25,
        )
        audience(provider, count)
        seconds, report = timed_send(provider)
    print(
        f"down     {count:,} recipients: stopped after {seconds:.2f} s "
        f"(give up after {give_up_after:g} s), {report.pending:,} still to send, "
        f"{report.failed} failed"
    )
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipients", type=int, default=3_000)
    parser.add_argument("--give-up-after", type=float, default=3.0)
    args = parser.parse_args()
    baseline = clean(args.recipients)
    faulty(args.recipients, baseline)
    small = down(100, args.give_up_after)
    large = down(args.recipients * 3, args.give_up_after)
    print(f"down     stop time, large audience / small: {large / small:.2f}")


if __name__ == "__main__":
    main()
