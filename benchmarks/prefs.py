"""One-click unsubscribes per second through the preference centre, under uvicorn.

Starts the server in its own process (uvicorn, configured as ``newsletter serve`` runs
it) on 127.0.0.1 with an audience of 10,000, then 50 concurrent clients send each
subscriber's RFC 8058 one-click POST once. Prints requests per second and p50/p99
latency beside a baseline from the same run and server (GET /healthz: what the
framework does with no work), then checks that every subscriber is unsubscribed.

    .venv/bin/python benchmarks/prefs.py [--count 10000] [--concurrency 50]

Goal on 2 cores: at least 1,000 unsubscribes per second with p99 under 100 ms. The
clients run on the same machine and take a large share of the CPU; "server CPU" is what
the server process itself spent per request.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import shutil
import socket
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, TypeVar

import httpx

REPO = Path(__file__).resolve().parent.parent
SECRET = "benchmark-secret-0123456789abcdefghijklmnop"
GOAL_RATE = 1000
GOAL_P99_MS = 100
T = TypeVar("T")
WARM_UP = 1000
ONE_CLICK_BODY = b"List-Unsubscribe=One-Click"
ONE_CLICK_HEADERS = {"Content-Type": "application/x-www-form-urlencoded"}


def _project(root: Path) -> Path:
    for name in ("templates", "campaigns"):
        shutil.copytree(REPO / name, root / name)
    shutil.copy(REPO / "newsletter.yaml", root / "newsletter.yaml")
    return root / "newsletter.yaml"


def _audience(provider: object, count: int) -> list[str]:
    """The audience, and each subscriber's public unsubscribe URL."""
    from newsletter.links import LinkBuilder
    from newsletter.models import Subscriber
    from newsletter.providers.base import ChangeSource, MemberInput
    from newsletter.providers.memory import MemoryProvider

    emails = [f"reader{n:05d}@example.org" for n in range(count)]
    if isinstance(provider, MemoryProvider):
        # The in-process fake looks members up by scanning; fill its dict directly.
        for n, email in enumerate(emails):
            provider.subscribers[f"b{n:06d}"] = Subscriber(id=f"b{n:06d}", email=email)
    else:
        provider.import_members(  # type: ignore[attr-defined]
            (MemberInput(email) for email in emails), source=ChangeSource.IMPORT
        )
    links = LinkBuilder.from_settings(provider.settings)  # type: ignore[attr-defined]
    return [
        links.unsubscribe_url(subscriber.id)
        for subscriber in provider.members()  # type: ignore[attr-defined]
    ]


def serve(project_file: str, provider_name: str, count: int, port: int, pipe: object) -> None:
    """The server process: audience, app, uvicorn; on SIGTERM, reports who is unsubscribed."""
    os.chdir(Path(project_file).parent)
    os.environ["NEWSLETTER_SECRET"] = SECRET
    import uvicorn

    from newsletter.config import load_settings
    from newsletter.models import SubscriberStatus
    from newsletter.providers import get_provider
    from newsletter.web import create_app
    from newsletter.web.server import uvicorn_config

    settings = load_settings(Path(project_file))
    provider = get_provider(settings, provider_name)
    urls = _audience(provider, count)
    pipe.send(urls)  # type: ignore[attr-defined]
    server = uvicorn.Server(
        uvicorn_config(create_app(settings, provider), "127.0.0.1", port, log_level="warning")
    )

    def stop_when_asked() -> None:
        pipe.recv()  # type: ignore[attr-defined]
        server.should_exit = True

    threading.Thread(target=stop_when_asked, daemon=True).start()
    cpu_at_start = time.process_time()
    server.run()
    unsubscribed = sum(1 for _ in provider.members(status=SubscriberStatus.UNSUBSCRIBED))
    pipe.send((unsubscribed, time.process_time() - cpu_at_start))  # type: ignore[attr-defined]
    provider.close()


Phase = tuple[float, list[float], int]
"""Seconds taken, the latency of each request, failed requests."""


async def _load(clients: list[httpx.AsyncClient], make_request: object, count: int) -> Phase:
    """``count`` requests spread over the clients, each with one request in flight."""
    latencies: list[float] = []
    failures = 0
    next_index = iter(range(count))

    async def worker(client: httpx.AsyncClient) -> None:
        nonlocal failures
        for index in next_index:
            started = time.perf_counter()
            response = await make_request(client, index)  # type: ignore[operator]
            latencies.append(time.perf_counter() - started)
            if response.status_code != 200:
                failures += 1

    started = time.perf_counter()
    await asyncio.gather(*(worker(client) for client in clients))
    return time.perf_counter() - started, latencies, failures


async def _phases(base: str, urls: list[str], count: int, concurrency: int) -> tuple[Phase, Phase]:
    """Warm-up, then the baseline, then the one-click POSTs, on the same connections.

    Each client has its own connection, as separate mail servers would; one shared
    httpx pool of 50 connections costs the client more CPU than the server spends.
    """

    async def healthz(client: httpx.AsyncClient, index: int) -> httpx.Response:
        return await client.get(f"{base}/healthz")

    async def one_click(client: httpx.AsyncClient, index: int) -> httpx.Response:
        return await client.post(urls[index], content=ONE_CLICK_BODY, headers=ONE_CLICK_HEADERS)

    clients = [
        httpx.AsyncClient(
            limits=httpx.Limits(max_connections=1), timeout=30, follow_redirects=False
        )
        for _ in range(concurrency)
    ]
    try:
        await _load(clients, healthz, WARM_UP)
        baseline = await _load(clients, healthz, count)
        unsubscribes = await _load(clients, one_click, count)
    finally:
        await asyncio.gather(*(client.aclose() for client in clients))
    return baseline, unsubscribes


def _report(label: str, count: int, elapsed: float, latencies: list[float]) -> tuple[float, float]:
    ordered = sorted(latencies)
    p50 = statistics.median(ordered) * 1000
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000
    rate = count / elapsed
    print(f"{label:<28} {rate:>8.0f} req/s   p50 {p50:6.1f} ms   p99 {p99:6.1f} ms")
    return rate, p99


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument(
        "--provider",
        default="local",
        choices=["local", "memory"],
        help="local: the SQLite audience, as in production; memory: the in-process fake",
    )
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as folder:
        project_file = _project(Path(folder))
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        base = f"http://127.0.0.1:{port}"
        context = multiprocessing.get_context("spawn")
        ours, theirs = context.Pipe()
        process = context.Process(
            target=serve, args=(str(project_file), args.provider, args.count, port, theirs)
        )
        process.start()
        public_urls: list[str] = ours.recv()
        public = public_urls[0].split("/unsubscribe/")[0]
        urls = [base + url[len(public) :] for url in public_urls]
        _wait_until_up(base, process)

        print(
            f"preference centre benchmark: {args.count} subscribers, {args.concurrency} "
            f"concurrent clients, provider {args.provider}, uvicorn on 127.0.0.1, "
            f"{os.cpu_count()} CPUs, Python {sys.version.split()[0]}"
        )
        baseline, unsubscribes = run(_phases(base, urls, args.count, args.concurrency))
        base_elapsed, base_latencies, base_failed = baseline
        elapsed, latencies, failed = unsubscribes
        base_rate, _ = _report("baseline GET /healthz", args.count, base_elapsed, base_latencies)
        rate, p99 = _report("one-click unsubscribe POST", args.count, elapsed, latencies)
        print(f"unsubscribe rate is {rate / base_rate:.0%} of the baseline")

        ours.send("stop")
        unsubscribed, server_cpu = ours.recv() if ours.poll(60) else (-1, 0.0)
        process.join(30)
    served = args.count * 2 + WARM_UP
    print(f"server CPU: {server_cpu * 1000 / served:.2f} ms per request over the whole run")

    print(f"failed requests: {failed + base_failed}; unsubscribed: {unsubscribed} of {args.count}")
    ok = failed == 0 and base_failed == 0 and unsubscribed == args.count
    print(
        f"goal: >= {GOAL_RATE} req/s and p99 < {GOAL_P99_MS} ms: "
        f"{'met' if rate >= GOAL_RATE and p99 < GOAL_P99_MS else 'NOT met'}"
    )
    print("nothing lost" if ok else "LOST OR FAILED UNSUBSCRIBES")
    return 0 if ok else 1


def run(coroutine: Coroutine[Any, Any, T]) -> T:
    """The client's event loop: uvloop when installed, as the server uses."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coroutine)
    return uvloop.run(coroutine)


def _wait_until_up(base: str, process: multiprocessing.process.BaseProcess) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if not process.is_alive():
            raise SystemExit("the server process exited")
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.05)
    raise SystemExit("the server did not start")


if __name__ == "__main__":
    sys.exit(main())
