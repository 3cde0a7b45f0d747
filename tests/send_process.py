"""``newsletter send`` in a subprocess against the test SMTP sink, for crash and signal tests."""

from __future__ import annotations

import os
import subprocess
import sys
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
