"""Importing an audience into Mailchimp: batch-subscribe calls against one PUT per member.

Both run in this process against the same fake Mailchimp (every call takes a fixed
50 ms) through the same client, so both get the same 10 calls in flight. The baseline
runs on a 2,000-member sample and is scaled to the full size.

    python benchmarks/mailchimp_import.py [--members 20000] [--sample 2000]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from pydantic import SecretStr

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from newsletter.config import load_settings  # noqa: E402
from newsletter.providers.base import MemberInput  # noqa: E402
from newsletter.providers.mailchimp import MailchimpProvider  # noqa: E402
from newsletter.providers.mailchimp.audience import subscriber_hash  # noqa: E402
from newsletter.providers.mailchimp.client import MailchimpClient  # noqa: E402
from newsletter.providers.mailchimp.fake import FakeMailchimp  # noqa: E402

LATENCY = 0.050
KEY = "benchmark0000000000000000000000-us1"
AUDIENCE = "bench"


def members(count: int, offset: int = 0) -> list[MemberInput]:
    return [
        MemberInput(f"reader{n}@example.org", f"First{n}", f"Last{n}", source_line=n + 2)
        for n in range(offset, offset + count)
    ]


def batched(count: int) -> tuple[int, float, FakeMailchimp]:
    fake = FakeMailchimp(latency=LATENCY)
    root = "https://batched.bench/3.0"
    client = MailchimpClient(SecretStr(KEY), root, transport=fake)
    provider = MailchimpProvider(load_settings(ROOT / "newsletter.yaml"), client=client)
    people = members(count)
    started = time.perf_counter()
    report = provider.import_members(people)
    elapsed = time.perf_counter() - started
    assert report.added == count and not report.rejected, report
    return len(fake.calls), elapsed, fake


def one_put_per_member(count: int) -> tuple[int, float]:
    fake = FakeMailchimp(latency=LATENCY)
    client = MailchimpClient(SecretStr(KEY), "https://baseline.bench/3.0", transport=fake)

    def put(member: MemberInput) -> None:
        client.request(
            "PUT",
            f"/lists/{AUDIENCE}/members/{subscriber_hash(member.email)}",
            json_body={
                "email_address": member.email,
                "status_if_new": "subscribed",
                "merge_fields": {"FNAME": member.first_name, "LNAME": member.last_name},
            },
        )

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=10) as pool:
        list(pool.map(put, members(count)))
    elapsed = time.perf_counter() - started
    assert len(fake.members) == count
    return len(fake.calls), elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=20_000)
    parser.add_argument("--sample", type=int, default=2_000)
    args = parser.parse_args()
    os.environ.setdefault("MAILCHIMP_AUDIENCE_ID", AUDIENCE)
    os.environ.setdefault("MAILCHIMP_API_KEY", KEY)

    calls, wall, fake = batched(args.members)
    base_calls, base_wall = one_put_per_member(args.sample)
    scale = args.members / args.sample
    base_calls_full, base_wall_full = base_calls * scale, base_wall * scale

    def per_thousand(value: float) -> float:
        return value * 1000 / args.members

    print(f"Mailchimp import of {args.members:,} members, {LATENCY * 1000:.0f} ms per call")
    print(f"{'':28}{'API calls':>12}{'wall time':>12}{'calls/1,000':>14}")
    print(
        f"{'batch subscribe (500/call)':28}{calls:>12,}{wall:>11.2f}s{per_thousand(calls):>14.1f}"
    )
    print(
        f"{'one PUT per member *':28}{base_calls_full:>12,.0f}{base_wall_full:>11.2f}s"
        f"{per_thousand(base_calls_full):>14.1f}"
    )
    print(
        f"* measured on {args.sample:,} members ({base_calls:,} calls, {base_wall:.2f} s) "
        f"and scaled x{scale:g}; both with at most 10 calls in flight "
        f"(batched peak: {fake.max_in_flight})"
    )
    call_ratio = base_calls_full / calls
    time_ratio = base_wall_full / wall
    print(f"{call_ratio:.0f}x fewer calls, {time_ratio:.0f}x less wall time")
    goals = [
        (f"at most 41 calls for 20,000 members ({calls})", calls <= 41 * args.members / 20_000),
        (f"at least 100x fewer calls ({call_ratio:.0f}x)", call_ratio >= 100),
        (f"at least 20x less wall time ({time_ratio:.0f}x)", time_ratio >= 20),
    ]
    for text, met in goals:
        print(f"{'met ' if met else 'MISSED'}  {text}")
    return 0 if all(met for _, met in goals) else 1


if __name__ == "__main__":
    raise SystemExit(main())
