"""The store on a real PostgreSQL server: both URL spellings, the password kept out of
every message, and processes opening a new database at once."""

from __future__ import annotations

import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from newsletter.cli import app
from newsletter.config import load_settings
from newsletter.errors import StoreError
from newsletter.providers.base import MemberInput
from newsletter.providers.local import LocalProvider
from newsletter.store import migrations
from newsletter.store.database import engine_for, open_database

OPENERS = 4


@pytest.mark.parametrize("driver", ["postgresql", "postgresql+psycopg"])
def test_both_url_spellings_reach_the_server_through_psycopg(postgres_cluster, driver):
    name = f"spelling_{driver.replace('+', '_')}"
    postgres_cluster.create_database(name)
    try:
        engine = engine_for(postgres_cluster.url(name, driver))
        assert engine.driver == "psycopg"
        with engine.connect() as connection:
            assert connection.execute(text("SELECT 1")).scalar_one() == 1
        engine.dispose()
    finally:
        postgres_cluster.drop_database(name)


def test_a_wrong_password_is_reported_without_either_password(
    postgres_cluster, project_dir, monkeypatch
):
    wrong = "not-the-password-" + postgres_cluster.password[:6]
    url = postgres_cluster.url("postgres").replace(postgres_cluster.password, wrong)
    monkeypatch.setenv("NEWSLETTER_DATABASE_URL", url)
    settings = load_settings(project_dir / "newsletter.yaml")
    with pytest.raises(StoreError) as caught:
        open_database(settings)
    assert "password authentication failed" in str(caught.value)
    result = CliRunner().invoke(app, ["audience", "list"])
    assert result.exit_code != 0
    shown = f"{caught.value}\n{result.output}"
    assert wrong not in shown and postgres_cluster.password not in shown
    assert "cannot open the database" in result.output


def test_processes_opening_a_new_database_at_once_make_one_schema(
    postgres_cluster, project_dir, monkeypatch
):
    """Several workers started together (send, serve --workers) all find the schema made
    once, the topics written once, and none fails on another's half-made tables."""
    url = postgres_cluster.create_database("opened_at_once")
    monkeypatch.setenv("NEWSLETTER_DATABASE_URL", url)
    opener = (
        "from newsletter.config import load_settings\n"
        "from newsletter.store.database import open_database\n"
        "open_database(load_settings()).dispose()\n"
    )
    processes = [
        subprocess.Popen([sys.executable, "-c", opener], cwd=project_dir, stderr=subprocess.PIPE)
        for _ in range(OPENERS)
    ]
    errors = [process.communicate(timeout=60)[1].decode() for process in processes]
    assert [process.returncode for process in processes] == [0] * OPENERS, errors
    settings = load_settings(project_dir / "newsletter.yaml")
    engine = open_database(settings)
    with engine.connect() as connection:
        assert migrations.schema_version(connection) == migrations.LATEST
        versions = connection.execute(text("SELECT COUNT(*) FROM schema_version")).scalar_one()
        topics = connection.execute(text("SELECT COUNT(*) FROM topics")).scalar_one()
    engine.dispose()
    assert versions == 1
    assert topics == len(settings.topics)


def test_imports_racing_on_the_same_addresses_keep_one_row_each(postgres_cluster, project_dir):
    """Two imports of one file at once: each address ends up once, both imports finish
    (the loser of a race on a new address tries its batch again and finds it there)."""
    url = postgres_cluster.create_database("imports_at_once")
    settings = load_settings(project_dir / "newsletter.yaml", database_url=url)
    members = [
        MemberInput(f"m{n:04d}@example.org", f"M{n}", "", frozenset({"events"}))
        for n in range(1500)
    ]
    providers = [LocalProvider(settings) for _ in range(2)]
    with ThreadPoolExecutor(2) as pool:
        reports = list(pool.map(lambda local: local.import_members(members), providers))
    assert sum(report.added for report in reports) == len(members)
    with providers[0].engine.connect() as connection:
        rows = connection.execute(text("SELECT COUNT(*) FROM subscribers")).scalar_one()
        logged = connection.execute(
            text("SELECT COUNT(*) FROM consent_log WHERE action = 'subscribed'")
        ).scalar_one()
    for local in providers:
        local.close()
    assert rows == logged == len(members)
