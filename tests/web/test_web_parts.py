"""The parts of the preference centre that need no server: cache, tokens, colours, CLI."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy import create_engine
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from typer.testing import CliRunner

from newsletter.cli import app
from newsletter.config import Settings
from newsletter.providers import get_provider
from newsletter.providers.base import Provider
from newsletter.store.database import LOCK_TIMEOUT as STORE_LOCK_TIMEOUT
from newsletter.store.database import is_locked, with_lock_timeout
from newsletter.web.app import LOCK_TIMEOUT, web_provider
from newsletter.web.archive import ArchivePages
from newsletter.web.pages import css_value
from newsletter.web.routes import mask_email
from newsletter.web.security import CsrfTokens

from .support import SECRET, free_port


def test_archive_page_is_compiled_once_per_file_version(web_settings, example_file):
    archive = ArchivePages(web_settings, web_settings.public_url)
    first = archive.page("winter-2026")
    assert first is not None
    assert archive.page("winter-2026") is first
    example_file.write_text(example_file.read_text().replace("Safer sleep", "Safest sleep"))
    stat = example_file.stat()
    os.utime(example_file, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    second = archive.page("winter-2026")
    assert second is not None and second is not first
    assert "Safest sleep" in second


@pytest.mark.parametrize("slug", ["missing", "../newsletter", "UPPER", "", "a" * 65])
def test_archive_has_no_page_for_unknown_or_unsafe_slugs(web_settings, slug):
    assert ArchivePages(web_settings, web_settings.public_url).page(slug) is None


def test_csrf_token_is_bound_to_its_link_and_secret():
    tokens = CsrfTokens([SECRET])
    issued = tokens.issue("link-a")
    assert tokens.valid("link-a", issued)
    assert not tokens.valid("link-b", issued)
    assert not tokens.valid("link-a", issued[:-1] + ("A" if issued[-1] != "A" else "B"))
    assert not tokens.valid("link-a", None)
    assert not CsrfTokens(["another-secret-that-is-long-enough-0123"]).valid("link-a", issued)
    assert SECRET not in repr(tokens)


def test_mask_email():
    assert mask_email("sam.jones@example.org") == "s••••@example.org"


def test_css_values_cannot_break_out_of_the_stylesheet():
    assert css_value('"Segoe UI", Arial</style><script>') == '"Segoe UI", Arial/stylescript'


def _luminance(colour: str) -> float:
    channels = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(one: str, two: str) -> float:
    light, dark = sorted((_luminance(one), _luminance(two)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def test_contrast_of_the_example_brand_on_every_pairing_the_pages_use(web_settings: Settings):
    brand = web_settings.brand
    white = "#ffffff"
    pairs = {
        "body text": (brand.text, brand.surface),
        "muted text": (brand.muted, brand.surface),
        "footer": (brand.muted, brand.background),
        "links": (brand.primary, brand.surface),
        "heading": (brand.primary, brand.surface),
        "masthead": (white, brand.primary),
        "button": (white, brand.primary),
        "unsubscribe button": (white, brand.accent),
        "notice": (brand.text, brand.background),
    }
    low = {name: round(contrast(*pair), 2) for name, pair in pairs.items() if contrast(*pair) < 4.5}
    assert low == {}
    assert round(contrast("#777777", white), 2) < 4.5  # the check can fail


runner = CliRunner()


@pytest.mark.parametrize("secret", [None, "short"])
def test_serve_refuses_to_start_without_a_secret(project_dir, monkeypatch, secret):
    if secret:
        monkeypatch.setenv("NEWSLETTER_SECRET", secret)
    result = runner.invoke(app, ["serve", "--provider", "memory", "--port", str(free_port())])
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("error: NEWSLETTER_SECRET")
    assert "Traceback" not in result.output


def test_serve_help_has_an_example():
    result = runner.invoke(app, ["serve", "--help"])
    assert result.exit_code == 0
    assert "Example: NEWSLETTER_SECRET=" in result.output


def test_serve_runs_uvicorn_and_answers(project_dir):
    port = free_port()
    env = {**os.environ, "NEWSLETTER_SECRET": SECRET}
    command = [
        sys.executable,
        "-c",
        "from newsletter.cli import main; main()",
        "serve",
        "--provider",
        "memory",
        "--port",
        str(port),
    ]
    process = subprocess.Popen(
        command, cwd=project_dir, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                response = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
                break
            except httpx.TransportError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(process.communicate()[0].decode()) from None
                time.sleep(0.1)
        assert response.status_code == 200
        assert response.headers["referrer-policy"] == "no-referrer"
        assert "server" not in response.headers
        about = httpx.get(f"http://127.0.0.1:{port}/about", timeout=5)
        assert "Why you get our emails" in about.text
    finally:
        process.terminate()
        output = process.communicate(timeout=10)[0].decode()
    assert SECRET not in output


def _busy_timeout_ms(provider: Provider) -> int:
    with provider.engine.connect() as connection:  # type: ignore[attr-defined]
        return int(connection.exec_driver_sql("PRAGMA busy_timeout").scalar_one())


def test_the_web_waits_briefly_for_a_lock_and_the_cli_keeps_its_patience(web_settings):
    with web_provider(web_settings, "local") as web, get_provider(web_settings, "local") as cli:
        assert _busy_timeout_ms(web) == LOCK_TIMEOUT * 1000
        assert _busy_timeout_ms(cli) == STORE_LOCK_TIMEOUT * 1000


def _with_url(settings, url: str):
    return settings.model_copy(update={"database_url": SecretStr(url)})


def test_lock_timeout_on_postgresql_joins_the_options_the_url_has(web_settings):
    plain = with_lock_timeout(_with_url(web_settings, "postgresql://news:pw@db/news"), 1.0)
    assert make_url(plain.database_url.get_secret_value()).query == {
        "options": "-c lock_timeout=1000"
    }
    given = "postgresql+psycopg://news:pw@db/news?options=-c%20search_path%3Dnl&sslmode=require"
    joined = with_lock_timeout(_with_url(web_settings, given), 0.5)
    url = make_url(joined.database_url.get_secret_value())
    assert url.password == "pw"
    assert url.query == {
        "options": "-c search_path=nl -c lock_timeout=500",
        "sslmode": "require",
    }


def test_lock_timeout_leaves_other_databases_alone(web_settings):
    other = _with_url(web_settings, "mysql://news:pw@db.example.org/news")
    assert with_lock_timeout(other, 1.0) is other


def test_only_a_lock_counts_as_locked(tmp_path):
    engine = create_engine(f"sqlite:///{tmp_path / 'x.db'}")
    with pytest.raises(OperationalError) as raised, engine.connect() as connection:
        connection.exec_driver_sql("SELECT * FROM no_such_table")
    engine.dispose()
    assert not is_locked(raised.value)
    assert not is_locked(ValueError("database is locked"))
