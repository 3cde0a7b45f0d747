"""Shared fixtures: a throw-away copy of the example project and its settings."""

from __future__ import annotations

import itertools
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from postgres import Cluster, PostgresMissing, start_cluster
from smtp_sink import SmtpSink, assert_lines_fit, maildir_messages

from newsletter.config import Settings, load_settings

REPO = Path(__file__).resolve().parent.parent
EXAMPLE_SLUG = "winter-2026"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-golden",
        action="store_true",
        default=False,
        help="Rewrite tests/golden/ from the current templates instead of comparing.",
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests marked ``sqlite_only`` run on SQLite alone (they test its files or locks)."""
    dropped = [
        item
        for item in items
        if item.get_closest_marker("sqlite_only") and "[postgresql" in item.nodeid
    ]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = [item for item in items if item not in dropped]


@pytest.fixture
def update_golden(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("--update-golden"))


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests see only the settings they set: no developer's NEWSLETTER_* or MAILCHIMP_*."""
    for name in list(os.environ):
        if name.startswith(("NEWSLETTER_", "MAILCHIMP_")):
            monkeypatch.delenv(name)


@pytest.fixture
def project_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A copy of the example project (newsletter.yaml, templates, campaigns) as the cwd.

    Every message a test leaves in a Maildir outbox inside it must keep to the line
    lengths of RFC 5322."""
    root = tmp_path / "project"
    root.mkdir()
    shutil.copy(REPO / "newsletter.yaml", root / "newsletter.yaml")
    shutil.copytree(REPO / "templates", root / "templates")
    shutil.copytree(REPO / "campaigns", root / "campaigns")
    monkeypatch.chdir(root)
    yield root
    assert_lines_fit(maildir_messages(root), "outbox")


@pytest.fixture
def settings(project_dir: Path) -> Settings:
    return load_settings(project_dir / "newsletter.yaml")


@pytest.fixture
def example_file(project_dir: Path) -> Path:
    return project_dir / "campaigns" / f"{EXAMPLE_SLUG}.yaml"


TEST_SECRET = "test-secret-for-signed-links-0123456789abcdef"


@pytest.fixture
def smtp_sink() -> Iterator[SmtpSink]:
    """A real SMTP server on 127.0.0.1 keeping every message it accepts; each must keep
    to the line lengths of RFC 5322."""
    sink = SmtpSink().start()
    yield sink
    sink.stop()
    assert_lines_fit([received.data for received in sink.handler.messages], "SMTP")


def without_bounce_address(project_dir: Path) -> None:
    """The example project as it was before it had a bounce mailbox."""
    project = project_dir / "newsletter.yaml"
    lines = project.read_text().splitlines(keepends=True)
    project.write_text("".join(line for line in lines if not line.startswith("bounce_address:")))


@pytest.fixture(scope="session")
def postgres_cluster() -> Iterator[Cluster]:
    """One PostgreSQL server for the whole run. Missing, it skips the PostgreSQL tests
    on a developer's machine; under CI it fails them."""
    try:
        cluster = start_cluster()
    except PostgresMissing as exc:
        if os.environ.get("CI"):
            pytest.fail(f"{exc}; scripts/test-setup.sh installs it")
        pytest.skip(str(exc))
    yield cluster
    cluster.stop()


_database_names = itertools.count(1)


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The store a test runs on: the project's SQLite file, or a new PostgreSQL database
    named in NEWSLETTER_DATABASE_URL, which the commands a test starts inherit."""
    if request.param == "sqlite":
        yield "sqlite"
        return
    cluster: Cluster = request.getfixturevalue("postgres_cluster")
    name = f"test_{os.getpid()}_{next(_database_names)}"
    monkeypatch.setenv("NEWSLETTER_DATABASE_URL", cluster.create_database(name))
    yield "postgresql"
    cluster.drop_database(name)
