"""Sending speed of the local provider against an SMTP sink in another process.

Measured in one run, on this machine:
  ours     100,000 generated subscribers sent by ``LocalProvider.send`` (4 connections)
  ceiling  identical pre-built message bytes pushed over the same 4 connections
  smtplib  the same pre-built bytes over 4 reused connections with smtplib.sendmail
  naive    1,000 recipients: MJML rendered per recipient, a new EmailMessage and a new
           SMTP connection per message
  plain    our send again to a smaller audience (``--dkim``), unsigned
  DKIM     the same to an audience of that size with RSA-2048 DKIM signing on

Prints messages per second for each, ours as a share of the ceiling, the speed-up over
the naive way, the DKIM-signed rate as a share of the unsigned one at the same size,
the sender's CPU time per message and its peak memory.

    python benchmarks/send.py [--subscribers 100000] [--naive 1000] [--dkim 3000]
                              [--sink auto|smtp-sink|aiosmtpd] [--postgres URL]

With ``--postgres`` it then compares one worker with two on that database
(``send_workers.py``, which also runs alone on a throwaway cluster).
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import smtplib
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from email.message import EmailMessage
from email.policy import SMTP
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from newsletter.campaigns import load_issue  # noqa: E402
from newsletter.config import load_settings  # noqa: E402
from newsletter.delivery.smtp import SmtpServer  # noqa: E402
from newsletter.providers.base import MemberInput  # noqa: E402
from newsletter.providers.local import LocalProvider  # noqa: E402
from newsletter.render.compile import compile_issue  # noqa: E402
from newsletter.render.merge import Recipient  # noqa: E402

SECRET = "benchmark-only-secret-0123456789abcdef0123"
CONNECTIONS = 4
TOPICS = ("reviews", "events", "resources")

SINK = r"""
import sys, threading
from aiosmtpd.controller import Controller

class Counter:
    count = 0
    async def handle_DATA(self, server, session, envelope):
        Counter.count += len(envelope.rcpt_tos)
        return "250 OK"

controller = Controller(Counter(), hostname="127.0.0.1", port=int(sys.argv[1]))
controller.start()
print("ready", flush=True)
for line in sys.stdin:
    print(Counter.count, flush=True)
controller.stop()
"""


class Sink:
    """aiosmtpd in its own process; ``count()`` asks how many messages it accepted."""

    counts = True

    def __init__(self) -> None:
        import socket

        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        self.process = subprocess.Popen(
            [sys.executable, "-c", SINK, str(self.port)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout.readline().strip() == "ready"

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    def count(self) -> int:
        self.process.stdin.write("count\n")
        self.process.stdin.flush()
        return int(self.process.stdout.readline())

    def close(self) -> None:
        self.process.stdin.close()
        self.process.wait(10)


class PostfixSink:
    """Postfix's ``smtp-sink`` (C, discards mail) in its own process, so the sender is the
    bottleneck. It keeps no count a script can read while it runs, so the figures rely
    on each sender's own tally (every refusal raises)."""

    PROGRAM = Path("/usr/sbin/smtp-sink")
    counts = False

    def __init__(self) -> None:
        import socket

        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        self.process = subprocess.Popen(
            [str(self.PROGRAM), "-u", "nobody", f"127.0.0.1:{self.port}", "256"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    def count(self) -> int:
        return 0

    def close(self) -> None:
        self.process.terminate()
        self.process.wait(10)


AnySink = Sink | PostfixSink


def make_project(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name in ("templates", "campaigns"):
        shutil.copytree(REPO / name, folder / name)
    shutil.copy(REPO / "newsletter.yaml", folder / "newsletter.yaml")
    return folder / "newsletter.yaml"


def generate(provider: LocalProvider, count: int) -> None:
    provider.import_members(
        MemberInput(
            f"reader{n:06d}@example.org",
            f"Reader{n}" if n % 7 else "",
            "Example",
            frozenset({TOPICS[n % 3], TOPICS[(n * 7) % 3]}),
        )
        for n in range(count)
    )


def ours(project_file: Path, sink: AnySink, **settings: object) -> tuple[int, float, float]:
    provider = LocalProvider(
        load_settings(
            project_file,
            secret=SECRET,
            smtp_url=sink.url,
            **{"connections": CONNECTIONS, **settings},
        )
    )
    issue = load_issue(project_file.parent / "campaigns" / "winter-2026.yaml", provider.settings)
    before = sink.count()
    cpu, wall = time.process_time(), time.perf_counter()
    report = provider.send(issue)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    received = sink.count() - before
    assert received == report.sent or not sink.counts, (report, received)
    provider.close()
    return report.sent, wall, cpu


def prebuilt_message(project_file: Path) -> bytes:
    settings = load_settings(project_file, secret=SECRET)
    issue = load_issue(project_file.parent / "campaigns" / "winter-2026.yaml", settings)
    provider = LocalProvider(settings)
    from newsletter.delivery.message import MessageTemplate

    template = MessageTemplate(provider.compile(issue), settings)
    recipient = Recipient(
        "reader@example.org",
        "Reader",
        unsubscribe_url="https://news.example.org/unsubscribe/x",
        preferences_url="x",
        archive_url="x",
        about_url="x",
    )
    return template.render(
        recipient, message_id="<a@example.org>", unsubscribe_mailto="mailto:hello@example.org"
    )


def over_connections(sink: AnySink, count: int, work: Callable[[int], None]) -> tuple[int, float]:
    """``work(n)`` sends n messages over one connection; run it on 4 at once and time it."""
    per_worker = count // CONNECTIONS
    threads = [threading.Thread(target=work, args=(per_worker,)) for _ in range(CONNECTIONS)]
    before = sink.count()
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - start
    sent = sink.count() - before
    assert sent == per_worker * CONNECTIONS or not sink.counts
    return per_worker * CONNECTIONS, elapsed


def ceiling(sink: AnySink, data: bytes, count: int) -> tuple[int, float]:
    """The same bytes over 4 reused connections with the same SMTP client code and no
    per-recipient work: what the sink and the wire allow."""
    server = SmtpServer.from_url(sink.url)

    def work(messages: int) -> None:
        channel = server.open()
        for _ in range(messages):
            channel.deliver("newsletter@example.org", "reader@example.org", data, dot_safe=True)
        channel.close()

    return over_connections(sink, count, work)


def smtplib_prebuilt(sink: AnySink, data: bytes, count: int) -> tuple[int, float]:
    """The middle case: compiled once, the same bytes over 4 reused connections, but each
    message through ``smtplib.sendmail`` instead of the project's own exchange."""

    def work(messages: int) -> None:
        with smtplib.SMTP("127.0.0.1", sink.port) as smtp:
            for _ in range(messages):
                smtp.sendmail("newsletter@example.org", ["reader@example.org"], data)

    return over_connections(sink, count, work)


def naive(project_file: Path, sink: AnySink, count: int) -> tuple[int, float, float]:
    """MJML per recipient, a new EmailMessage and a new SMTP connection per message."""
    settings = load_settings(project_file, secret=SECRET)
    issue = load_issue(project_file.parent / "campaigns" / "winter-2026.yaml", settings)
    before = sink.count()
    start, cpu = time.perf_counter(), time.process_time()
    for n in range(count):
        compiled = compile_issue(issue, settings)
        recipient = Recipient(
            email=f"reader{n:06d}@example.org",
            first_name=f"Reader{n}",
            unsubscribe_url=f"https://news.example.org/unsubscribe/{n}",
            preferences_url=f"https://news.example.org/preferences/{n}",
            archive_url="https://news.example.org/archive/winter-2026",
            about_url="https://news.example.org/about",
        )
        html, text = compiled.personalise(recipient, settings.greeting)
        message = EmailMessage(policy=SMTP)
        message["From"] = "newsletter@example.org"
        message["To"] = recipient.email
        message["Subject"] = compiled.subject
        message["List-Unsubscribe"] = f"<{recipient.unsubscribe_url}>"
        message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
        message.set_content(text)
        message.add_alternative(html, subtype="html")
        with smtplib.SMTP("127.0.0.1", sink.port) as smtp:
            smtp.send_message(message)
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
    assert sink.count() - before == count or not sink.counts
    return count, elapsed, cpu


def dkim_key(folder: Path) -> Path:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    path = folder / "dkim.pem"
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return path


def signed_against_unsigned(folder: Path, sink: AnySink, count: int) -> float:
    """Sends to ``count`` members unsigned, then to as many others with DKIM; prints
    both and returns the signed rate as a share of the unsigned one."""
    rates = []
    for label, settings in (
        ("plain", {}),
        (
            "DKIM",
            {
                "dkim_selector": "bench",
                "dkim_domain": "example.org",
                "dkim_key_file": dkim_key(folder),
            },
        ),
    ):
        project = make_project(folder / label)
        generate(LocalProvider(load_settings(project)), count)
        sent, wall, cpu = ours(project, sink, **settings)
        rates.append(sent / wall)
        print(
            f"{label:<8} {sent:>8,} msgs {wall:7.1f} s {sent / wall:8.0f} msg/s"
            f"  ({cpu / sent * 1000:.2f} ms CPU/msg{', RSA-2048' if settings else ''})",
            flush=True,
        )
    return rates[1] / rates[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subscribers", type=int, default=100_000)
    parser.add_argument("--ceiling", type=int, default=20_000)
    parser.add_argument("--naive", type=int, default=1_000)
    parser.add_argument("--dkim", type=int, default=3_000)
    parser.add_argument(
        "--sink",
        choices=("auto", "smtp-sink", "aiosmtpd"),
        default="auto",
        help="the receiving server: Postfix's smtp-sink where installed (auto), or aiosmtpd",
    )
    parser.add_argument("--postgres", metavar="URL", help="then one worker against two there")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="newsletter-bench-") as temporary:
        folder = Path(temporary)
        project_file = make_project(folder)
        os.chdir(folder)
        use_postfix = args.sink == "smtp-sink" or (
            args.sink == "auto" and PostfixSink.PROGRAM.exists()
        )
        sink = PostfixSink() if use_postfix else Sink()
        print(f"sink: {'smtp-sink (Postfix)' if use_postfix else 'aiosmtpd'}")
        try:
            print(f"generating {args.subscribers:,} subscribers ...", flush=True)
            start = time.perf_counter()
            generate(LocalProvider(load_settings(project_file)), args.subscribers)
            print(f"  {time.perf_counter() - start:.1f} s")

            sent, wall, cpu = ours(project_file, sink)
            peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            ours_rate = sent / wall
            print(f"ours     {sent:>8,} msgs {wall:7.1f} s {ours_rate:8.0f} msg/s", flush=True)

            data = prebuilt_message(project_file)
            c_sent, c_wall = ceiling(sink, data, args.ceiling)
            ceiling_rate = c_sent / c_wall
            print(
                f"ceiling  {c_sent:>8,} msgs {c_wall:7.1f} s {ceiling_rate:8.0f} msg/s", flush=True
            )

            m_sent, m_wall = smtplib_prebuilt(sink, data, args.ceiling)
            middle_rate = m_sent / m_wall
            print(
                f"smtplib  {m_sent:>8,} msgs {m_wall:7.1f} s {middle_rate:8.0f} msg/s", flush=True
            )

            n_sent, n_wall, n_cpu = naive(project_file, sink, args.naive)
            naive_rate = n_sent / n_wall
            print(f"naive    {n_sent:>8,} msgs {n_wall:7.1f} s {naive_rate:8.0f} msg/s", flush=True)

            dkim_share = signed_against_unsigned(folder, sink, args.dkim)
        finally:
            sink.close()

    cpu_ms = cpu / sent * 1000
    share = ours_rate / ceiling_rate
    speedup = ours_rate / naive_rate
    print()
    print(f"share of ceiling   {share:6.0%}   (goal >= 70%)")
    print(f"speed-up vs naive  {speedup:6.1f}x  (goal >= 10x)")
    print(
        f"  the sink caps it: ceiling / naive = {ceiling_rate / naive_rate:.1f}x; "
        f"sender CPU per message, naive / ours = {n_cpu / n_sent / (cpu / sent):.0f}x"
    )
    print(
        f"own SMTP exchange / smtplib.sendmail of the same bytes: {ceiling_rate / middle_rate:.2f}x"
    )
    verdict = "met" if dkim_share >= 0.5 else "missed"
    print(f"DKIM-signed rate   {dkim_share:6.2f} of unsigned (goal >= 0.5: {verdict})")
    print(f"sender CPU         {cpu_ms:6.3f} ms/msg (goal < 0.3)")
    print(f"peak RSS           {peak_mb:6.0f} MB   (goal < 250)")
    if args.postgres:
        print()
        compare_on(args.postgres)


def compare_on(url: str) -> None:
    from send_workers import compare

    sink = PostfixSink() if PostfixSink.PROGRAM.exists() else Sink()
    try:
        compare(url, 20_000, sink)
    finally:
        sink.close()


if __name__ == "__main__":
    main()
