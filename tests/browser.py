"""Headless Chromium (the Debian package) driven by Playwright, for the browser checks."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
LAUNCH_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--hide-scrollbars",
]


def chromium_path() -> Path:
    """Chromium, or a skip outside CI; in CI a missing browser is a failure."""
    found = CHROMIUM if CHROMIUM.exists() else None
    if found is None and shutil.which("chromium"):
        found = Path(str(shutil.which("chromium")))
    if found is not None:
        return found
    message = "Chromium is not installed; `make test-setup` installs the Debian package"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message)
    pytest.skip(message)


@contextmanager
def browser() -> Iterator[object]:
    """A Chromium browser that loads nothing from the network."""
    from playwright.sync_api import sync_playwright

    executable = chromium_path()
    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=str(executable), args=LAUNCH_FLAGS)
        try:
            yield instance
        finally:
            instance.close()
