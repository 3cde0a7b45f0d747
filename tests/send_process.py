"""``newsletter send`` in a subprocess against the test SMTP sink, for crash and signal tests."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from conftest import TEST_SECRET
from smtp_sink import SmtpSink

CONNECTIONS = 4


def send_command(project_dir: Path, sink: SmtpSink, *extra: str) -> subprocess.Popen[str]:
    env = {**os.environ, "NEWSLETTER_SECRET": TEST_SECRET, "NEWSLETTER_SMTP_URL": sink.url}
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "newsletter",
            "send",
            "campaigns/winter-2026.yaml",
            "--yes",
            "--connections",
            str(CONNECTIONS),
            *extra,
        ],
        cwd=project_dir,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def kill_once_delivered(process: subprocess.Popen[str], sink: SmtpSink, count: int) -> int:
    """SIGKILL ``process`` once ``sink`` has taken ``count`` messages; how many it had."""
    deadline = time.monotonic() + 60
    while sum(sink.handler.counts.values()) < count:
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "the send did not get going"
        time.sleep(0.005)
    process.send_signal(signal.SIGKILL)
    process.wait()
    return sum(sink.handler.counts.values())
