"""One ``newsletter send`` process against two on the same campaign, on PostgreSQL.

Each worker is a real ``newsletter send`` process with 4 SMTP connections. The rate is
recipients over the wall time from starting the workers to the last one ending.
Exactly-once is checked three ways: every recipient's delivery row is ``sent``, the
workers' own tallies add up to the audience, and (with the counting sink) the sink
received that many messages.

    python benchmarks/send_workers.py [--postgres URL] [--subscribers 20000]

Without ``--postgres`` it starts a throwaway cluster the way the tests do
(``tests/postgres.py``); with it, it uses that database and empties its deliveries and
campaigns between runs (give it a database of its own). ``benchmarks/send.py --postgres
URL`` runs this after its own figures.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from send import REPO, SECRET, PostfixSink, Sink, generate, make_project
from sqlalchemy import text

sys.path.insert(0, str(REPO / "tests"))

from newsletter.config import load_settings
from newsletter.providers.local import LocalProvider
from newsletter.store.database import open_database

ISSUE = "campaigns/winter-2026.yaml"


def worker(project_file: Path, env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "newsletter", "send", ISSUE, "--yes", "--connections", "4"],
        cwd=project_file.parent,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def fresh_campaign(project_file: Path) -> None:
    """Nothing sent yet: the same audience for every run."""
    engine = open_database(load_settings(project_file))
    with engine.begin() as connection:
        connection.execute(text("DELETE FROM deliveries"))
        connection.execute(text("DELETE FROM campaigns"))
    engine.dispose()


def sent_rows(project_file: Path) -> int:
    engine = open_database(load_settings(project_file))
    with engine.connect() as connection:
        query = text("SELECT COUNT(*) FROM deliveries WHERE status = 'sent'")
        rows = int(connection.execute(query).scalar_one())
    engine.dispose()
    return rows


def one_run(project_file: Path, sink: Sink | PostfixSink, workers: int, audience: int) -> float:
    """Messages per second with ``workers`` processes; fails unless exactly once."""
    fresh_campaign(project_file)
    env = {
        **os.environ,
        "NEWSLETTER_SECRET": SECRET,
        "NEWSLETTER_SMTP_URL": sink.url,
        "PYTHONPATH": str(REPO),  # this checkout, whatever the environment has installed
    }
    before = sink.count()
    start = time.perf_counter()
    running = [worker(project_file, env) for _ in range(workers)]
    outputs = [process.communicate(timeout=3600) for process in running]
    wall = time.perf_counter() - start
    for process, (_, err) in zip(running, outputs, strict=True):
        assert process.returncode == 0, err
    tallies = [
        int(re.search(r"sent ([\d,]+)", out).group(1).replace(",", "")) for out, _ in outputs
    ]
    assert sum(tallies) == audience, f"tallies {tallies} for {audience:,} recipients"
    assert sent_rows(project_file) == audience
    assert not sink.counts or sink.count() - before == audience
    shares = " + ".join(f"{tally:,}" for tally in tallies)
    print(
        f"{workers} worker(s)  {audience:>8,} msgs {wall:7.1f} s {audience / wall:8.0f} msg/s"
        f"  (shares {shares}; each recipient once)",
        flush=True,
    )
    return audience / wall


def compare(url: str, subscribers: int, sink: Sink | PostfixSink) -> None:
    with tempfile.TemporaryDirectory(prefix="newsletter-bench-pg-") as temporary:
        project_file = make_project(Path(temporary))
        os.environ["NEWSLETTER_DATABASE_URL"] = url
        try:
            print(f"PostgreSQL: generating {subscribers:,} subscribers ...", flush=True)
            start = time.perf_counter()
            generate(LocalProvider(load_settings(project_file)), subscribers)
            print(f"  {time.perf_counter() - start:.1f} s")
            audience = sent_or_reached(project_file)
            one = one_run(project_file, sink, 1, audience)
            two = one_run(project_file, sink, 2, audience)
            print(f"two workers / one: {two / one:.2f}x on {os.cpu_count()} CPU core(s)")
        finally:
            del os.environ["NEWSLETTER_DATABASE_URL"]


def sent_or_reached(project_file: Path) -> int:
    """How many members the issue reaches (its topics leave some out)."""
    from newsletter.campaigns import load_issue

    local = LocalProvider(load_settings(project_file))
    issue = load_issue(project_file.parent / ISSUE, local.settings)
    reach = local.reach(issue)
    local.close()
    assert reach is not None
    return reach.reached


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres", metavar="URL", help="a database of its own to use")
    parser.add_argument("--subscribers", type=int, default=20_000)
    args = parser.parse_args()
    sink = PostfixSink() if PostfixSink.PROGRAM.exists() else Sink()
    print(f"sink: {'smtp-sink (Postfix)' if isinstance(sink, PostfixSink) else 'aiosmtpd'}")
    cluster = None
    try:
        url = args.postgres
        if url is None:
            from postgres import start_cluster

            cluster = start_cluster()
            url = cluster.create_database("bench")
        compare(url, args.subscribers, sink)
    finally:
        sink.close()
        if cluster is not None:
            cluster.stop()


if __name__ == "__main__":
    main()
