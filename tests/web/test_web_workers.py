"""``newsletter serve --workers 2`` on PostgreSQL: the same one-click link posted many
times at once, to both worker processes, leaves one unsubscribe in the consent log."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time

import httpx
import pytest

from newsletter.config import load_settings
from newsletter.links import LinkBuilder
from newsletter.providers.base import ChangeSource
from newsletter.providers.local import LocalProvider

from .support import MEMBERS, SECRET, Server, consent_log, free_port

ONE_CLICK = {"List-Unsubscribe": "One-Click"}
AT_ONCE = 12
WORKERS = 2


def start_serve(project_dir, env: dict[str, str], port: int) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "newsletter", "serve", "--port", str(port)]
    process = subprocess.Popen(
        [*command, "--workers", str(WORKERS)],
        cwd=project_dir,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 30
    while True:
        try:
            httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).raise_for_status()
            return process
        except httpx.HTTPError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                raise AssertionError(process.communicate()[0].decode()) from None
            time.sleep(0.1)


def post_at_once(url: str) -> list[int]:
    """``AT_ONCE`` posts released together, each on a connection of its own."""
    ready = threading.Barrier(AT_ONCE)
    answers: list[int] = []

    def post() -> None:
        with httpx.Client(timeout=30) as client:
            ready.wait()
            answers.append(client.post(url, data=ONE_CLICK).status_code)

    threads = [threading.Thread(target=post) for _ in range(AT_ONCE)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return answers


@pytest.mark.slow
def test_one_click_posted_at_once_to_several_workers_is_logged_once(
    project_dir, postgres_cluster, monkeypatch
):
    url = postgres_cluster.create_database("serve_workers")
    monkeypatch.setenv("NEWSLETTER_DATABASE_URL", url)
    monkeypatch.setenv("NEWSLETTER_SECRET", SECRET)
    settings = load_settings(project_dir / "newsletter.yaml")
    local = LocalProvider(settings)
    local.import_members(MEMBERS, source=ChangeSource.IMPORT)
    port = free_port()
    process = start_serve(project_dir, dict(os.environ), port)
    server = Server(
        f"http://127.0.0.1:{port}", settings, local, LinkBuilder.from_settings(settings)
    )
    try:
        answers = {
            member.email: post_at_once(server.unsubscribe_url(member.email)) for member in MEMBERS
        }
    finally:
        process.terminate()
        output = process.communicate(timeout=30)[0].decode()

    assert output.count("Started server process") == WORKERS, output
    assert all(codes == [200] * AT_ONCE for codes in answers.values()), answers
    for member in MEMBERS:
        entries = consent_log(local, server.member(member.email).id)
        assert entries.count(("unsubscribed", ChangeSource.ONE_CLICK.value)) == 1, entries
    assert SECRET not in output and postgres_cluster.password not in output
    local.close()
