"""The units in deploy/ are valid systemd units (where ``systemd-analyze`` is installed),
harden the jobs as the README says, run ``run-due`` every minute and serve the
preference centre on the loopback address."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import REPO

DEPLOY = REPO / "deploy"


def test_the_service_is_hardened_and_the_timer_runs_every_minute():
    service = (DEPLOY / "newsletter-run-due.service").read_text()
    timer = (DEPLOY / "newsletter-run-due.timer").read_text()
    for line in ("NoNewPrivileges=true", "ProtectSystem=strict", "Type=oneshot"):
        assert line in service.splitlines()
    assert "newsletter run-due" in service and "ReadWritePaths=" in service
    assert {"OnCalendar=*-*-* *:*:00", "Persistent=true"} <= set(timer.splitlines())
    assert "newsletter run-due" in (DEPLOY / "crontab").read_text()


def test_the_worker_template_is_the_single_service_with_its_instance_named():
    single = (DEPLOY / "newsletter-run-due.service").read_text()
    template = (DEPLOY / "newsletter-run-due@.service").read_text()
    timer = (DEPLOY / "newsletter-run-due@.timer").read_text()
    settings = {line for line in single.splitlines() if line and not line.startswith("#")}
    instance = {line for line in template.splitlines() if line and not line.startswith("#")}
    assert {line for line in settings - instance if not line.startswith("Description=")} <= {
        "After=network-online.target"
    }
    assert "Unit=newsletter-run-due@%i.service" in timer.splitlines()
    assert "OnCalendar=*-*-* *:*:00" in timer.splitlines()


def test_the_preference_centre_unit_is_hardened_and_serves_on_loopback_with_workers():
    service = (DEPLOY / "newsletter-serve.service").read_text().splitlines()
    for line in ("NoNewPrivileges=true", "ProtectSystem=strict", "Restart=on-failure"):
        assert line in service
    [start] = [line for line in service if line.startswith("ExecStart=")]
    assert start.split()[1:] == ["serve", "--host", "127.0.0.1", "--port", "8000", "--workers", "4"]


INSTANCES = {
    "newsletter-serve.service": "newsletter-serve.service",
    "newsletter-run-due.service": "newsletter-run-due.service",
    "newsletter-run-due.timer": "newsletter-run-due.timer",
    "newsletter-run-due@.service": "newsletter-run-due@1.service",
    "newsletter-run-due@.timer": "newsletter-run-due@1.timer",
}
"""Each unit file and the name it is checked under (a template as its first instance)."""


def test_systemd_analyze_verify_accepts_the_units(tmp_path: Path):
    if shutil.which("systemd-analyze") is None:
        if os.environ.get("CI"):
            pytest.fail("systemd-analyze is missing: scripts/test-setup.sh installs systemd")
        pytest.skip("no systemd-analyze (Debian package systemd)")
    for name, checked_as in INSTANCES.items():
        text = (DEPLOY / name).read_text()
        # The paths and user of a real installation do not exist here.
        text = text.replace("/srv/newsletter/.venv/bin/newsletter", shutil.which("true") or "")
        text = text.replace("User=newsletter", "User=root").replace("Group=newsletter", "")
        (tmp_path / checked_as).write_text(text)
    result = subprocess.run(
        ["systemd-analyze", "verify", *(str(p) for p in sorted(tmp_path.iterdir()))],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "newsletter-run-due" not in result.stderr, result.stderr
