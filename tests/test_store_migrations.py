"""A database made by the first schema upgrades in place and keeps its rows."""

from __future__ import annotations

import pytest
from pydantic import SecretStr
from sqlalchemy import inspect, text

from newsletter.config import load_settings
from newsletter.errors import StoreError
from newsletter.providers.base import ChangeSource
from newsletter.providers.local import LocalProvider
from newsletter.store import migrations
from newsletter.store.database import engine_from_settings, open_database

pytestmark = pytest.mark.usefixtures("database")


def test_first_schema_upgrades_without_losing_rows(project_dir):
    settings = load_settings(project_dir / "newsletter.yaml")
    old = engine_from_settings(settings)
    migrations.create_first_schema(old)
    with old.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO subscribers VALUES ('abc', 'Ana@Example.org', 'ana@example.org',"
                " 'Ana', 'Silva', 'subscribed', '2025-01-01 10:00:00', '2025-01-01 10:00:00')"
            )
        )
        connection.execute(text("INSERT INTO topics VALUES ('events', 'Events', '')"))
        connection.execute(text("INSERT INTO subscriber_topics VALUES ('abc', 'events')"))
        connection.execute(
            text(
                "INSERT INTO consent_log (subscriber_id, at, action, source, note)"
                " VALUES ('abc', '2025-01-01 10:00:00', 'subscribed', 'import', 'line 2')"
            )
        )
        connection.execute(
            text(
                "INSERT INTO campaigns (provider, slug, state, subject, updated_at)"
                " VALUES ('local', 'old-issue', 'sent', 'Old', '2025-01-02 10:00:00')"
            )
        )
        connection.execute(
            text(
                "INSERT INTO deliveries VALUES (1, 'abc', 'sent', '<m@x>', 1, NULL,"
                " '2025-01-02 10:00:00')"
            )
        )
    old.dispose()

    engine = open_database(settings)
    with engine.connect() as connection:
        assert migrations.schema_version(connection) == migrations.LATEST >= 2
        columns = {c["name"] for c in inspect(connection).get_columns("campaigns")}
        assert {"owner", "heartbeat_at", "last_problem"} <= columns
        assert {"scheduled_zone", "scheduled_by", "approved_hash"} <= columns
        assert connection.execute(text("SELECT COUNT(*) FROM deliveries")).scalar_one() == 1
        assert connection.execute(text("SELECT COUNT(*) FROM consent_log")).scalar_one() == 1
        assert connection.execute(text("SELECT owner FROM campaigns")).scalar_one() is None
    local = LocalProvider(settings)
    ana = local.find_by_email("ana@example.org")
    assert (ana.id, ana.first_name, ana.topics) == ("abc", "Ana", frozenset({"events"}))
    local.unsubscribe("abc", source=ChangeSource.PAGE)
    assert migrations.migrate(engine) == migrations.LATEST  # a second run changes nothing


def test_a_newer_database_is_refused(project_dir):
    settings = load_settings(project_dir / "newsletter.yaml")
    engine = open_database(settings)
    with engine.begin() as connection:
        connection.execute(text("UPDATE schema_version SET version = 99"))
    with pytest.raises(StoreError, match="newer than this program knows"):
        migrations.migrate(engine)


def _shape(engine) -> dict[str, tuple[set[str], set[tuple[str, tuple[str, ...]]]]]:
    with engine.connect() as connection:
        found = inspect(connection)
        return {
            table: (
                {column["name"] for column in found.get_columns(table)},
                {
                    (index["name"], tuple(index["column_names"]))
                    for index in found.get_indexes(table)
                    if not index.get("duplicates_constraint")  # PostgreSQL's UNIQUE
                },
            )
            for table in found.get_table_names()
        }


def test_an_upgraded_database_has_the_tables_and_indexes_of_a_new_one(project_dir, tmp_path):
    settings = load_settings(project_dir / "newsletter.yaml")
    old = engine_from_settings(settings)
    migrations.create_first_schema(old)
    migrations.migrate(old)
    fresh = engine_from_settings(
        settings.model_copy(update={"database_url": SecretStr(f"sqlite:///{tmp_path}/new.db")})
    )
    migrations.migrate(fresh)
    assert _shape(old) == _shape(fresh)
    assert "returns" in _shape(fresh)
    old.dispose()
    fresh.dispose()
