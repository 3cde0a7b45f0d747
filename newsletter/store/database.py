"""Opening the database: WAL and foreign keys on SQLite, the folder created if needed.

An SQLite connection waits up to ``LOCK_TIMEOUT`` seconds for another writer's lock,
or the ``timeout`` in the URL (``sqlite:///audience.db?timeout=1``); a PostgreSQL one
waits as long as the server's ``lock_timeout`` says (by default, for ever).
``with_lock_timeout`` sets either for a caller that must answer sooner.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import SecretStr
from sqlalchemy import URL, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, OperationalError

from newsletter.config import Settings
from newsletter.errors import ConfigError, StoreError

LOCK_TIMEOUT = 30.0
_SQLITE_BUSY = 5
_SQLITE_LOCKED = 6
_LOCKED_MESSAGES = ("database is locked", "database table is locked", "database is busy")
_LOCK_NOT_AVAILABLE = "55P03"  # PostgreSQL's SQLSTATE when lock_timeout runs out


def _parse(url: str) -> URL:
    """The URL, a plain ``postgresql://`` one taken to mean psycopg 3 (the driver this
    package installs; SQLAlchemy would look for psycopg2)."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise ConfigError("NEWSLETTER_DATABASE_URL is not a database URL") from None
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


def is_postgresql(engine: Engine) -> bool:
    return engine.dialect.name == "postgresql"


def engine_for(url: str, *, base: Path | None = None) -> Engine:
    """An engine for ``url``; a relative SQLite path is taken from ``base``."""
    parsed = _parse(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database or ""
        if database and database != ":memory:":
            path = Path(database)
            if not path.is_absolute() and base is not None:
                path = base / path
            path.parent.mkdir(parents=True, exist_ok=True)
            parsed = parsed.set(database=str(path))
        connect_args = {} if "timeout" in parsed.query else {"timeout": LOCK_TIMEOUT}
        engine = create_engine(parsed, connect_args=connect_args)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(parsed, pool_pre_ping=True)


def engine_from_settings(settings: Settings) -> Engine:
    return engine_for(settings.database_url.get_secret_value(), base=settings.root)


def with_lock_timeout(settings: Settings, seconds: float) -> Settings:
    """The same settings, with a database that waits at most ``seconds`` for a lock.

    For a caller that would rather answer "try again" at once than wait for a long
    write (the preference centre): SQLite's ``timeout``, PostgreSQL's ``lock_timeout``
    (added to any ``options`` the URL already has); other databases are kept as they are.
    """
    url = _parse(settings.database_url.get_secret_value())
    backend = url.get_backend_name()
    if backend == "sqlite":
        waiting = url.update_query_dict({"timeout": str(seconds)})
    elif backend == "postgresql":
        options = url.query.get("options", "")
        given = options if isinstance(options, str) else " ".join(options)
        limit = f"-c lock_timeout={round(seconds * 1000)}"
        waiting = url.update_query_dict({"options": f"{given} {limit}".strip()})
    else:
        return settings
    rendered = waiting.render_as_string(hide_password=False)
    return settings.model_copy(update={"database_url": SecretStr(rendered)})


def is_locked(exc: BaseException) -> bool:
    """True when ``exc`` says another connection holds the lock: worth trying again later."""
    if not isinstance(exc, OperationalError):
        return False
    if getattr(exc.orig, "sqlstate", None) == _LOCK_NOT_AVAILABLE:
        return True
    code = getattr(exc.orig, "sqlite_errorcode", None)
    if isinstance(code, int):
        return code & 0xFF in (_SQLITE_BUSY, _SQLITE_LOCKED)  # extended codes keep the low byte
    return any(message in str(exc.orig).lower() for message in _LOCKED_MESSAGES)


def _sqlite_pragmas(dbapi_connection: Any, _record: object) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def open_database(settings: Settings) -> Engine:
    """The engine with the schema upgraded and the topics of ``newsletter.yaml`` in place."""
    from newsletter.store.migrations import hold_schema_lock, migrate
    from newsletter.store.topics import sync_topics

    engine = engine_from_settings(settings)
    try:
        migrate(engine)
        with engine.begin() as connection:
            hold_schema_lock(connection)
            sync_topics(connection, settings.topics)
    except OperationalError as exc:
        engine.dispose()
        raise StoreError(f"cannot open the database: {exc.orig}") from None
    return engine
