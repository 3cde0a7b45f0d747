"""Stoplight Prism serving Mailchimp's OpenAPI description, as a contract mock."""

from __future__ import annotations

import os
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

REPO = Path(__file__).resolve().parent.parent
PRISM = REPO / "node_modules" / ".bin" / "prism"
SPEC_NAME = "mailchimp-marketing.mock.json"
SPEC_FROM_ENV = os.environ.get("MAILCHIMP_OPENAPI")
"""Read at import: the test fixtures clear MAILCHIMP_* variables."""


def spec_path() -> Path:
    if SPEC_FROM_ENV:
        return Path(SPEC_FROM_ENV)
    return REPO.parent / "shared" / "specs" / SPEC_NAME


def unavailable(reason: str) -> None:
    """Skip, except in CI, where a contract test that cannot run is a failure."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"contract mock unavailable in CI: {reason}", pytrace=False)
    pytest.skip(reason)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def run_prism(log_path: Path) -> Iterator[str]:
    spec = spec_path()
    if not spec.is_file():
        unavailable(f"no OpenAPI description at {spec} (set MAILCHIMP_OPENAPI)")
    if not PRISM.exists():
        unavailable("Prism is not installed: run scripts/test-setup.sh (npm ci)")
    port = free_port()
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [str(PRISM), "mock", "-h", "127.0.0.1", "-p", str(port), str(spec)],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                unavailable(f"Prism exited: {log_path.read_text()[-500:]}")
            try:
                if httpx.get(f"{base}/ping", auth=("any", "key"), timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"Prism did not answer within 60 s: {log_path.read_text()[-500:]}")
            time.sleep(0.1)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
