"""Opening the database: WAL and foreign keys on SQLite, the folder created if needed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, OperationalError

from newsletter.config import Settings
from newsletter.errors import ConfigError, StoreError


def engine_for(url: str, *, base: Path | None = None) -> Engine:
    """An engine for ``url``; a relative SQLite path is taken from ``base``."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise ConfigError("NEWSLETTER_DATABASE_URL is not a database URL") from None
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database or ""
        if database and database != ":memory:":
            path = Path(database)
            if not path.is_absolute() and base is not None:
                path = base / path
            path.parent.mkdir(parents=True, exist_ok=True)
            parsed = parsed.set(database=str(path))
        engine = create_engine(parsed, connect_args={"timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(parsed, pool_pre_ping=True)


def engine_from_settings(settings: Settings) -> Engine:
    return engine_for(settings.database_url.get_secret_value(), base=settings.root)


def _sqlite_pragmas(dbapi_connection: Any, _record: object) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def open_database(settings: Settings) -> Engine:
    """The engine with the schema upgraded and the topics of ``newsletter.yaml`` in place."""
    from newsletter.store.migrations import migrate
    from newsletter.store.topics import sync_topics

    engine = engine_from_settings(settings)
    try:
        migrate(engine)
        with engine.begin() as connection:
            sync_topics(connection, settings.topics)
    except OperationalError as exc:
        engine.dispose()
        raise StoreError(f"cannot open the database: {exc.orig}") from None
    return engine
