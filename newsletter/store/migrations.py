"""Schema versions, upgraded in place: each step keeps every row.

A new database is created from ``tables.metadata`` and stamped with the latest version.
An existing one is upgraded step by step from the version in ``schema_version``. The
first schema is kept here as data so upgrades from it stay testable. On PostgreSQL
processes starting at once (several send workers, the preference centre's workers)
take turns through an advisory lock, so only one creates or upgrades the schema.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection, Engine, inspect, text

from newsletter.errors import StoreError
from newsletter.store import tables

FIRST_SCHEMA: Sequence[str] = (
    """CREATE TABLE subscribers (
    id VARCHAR(32) NOT NULL, email VARCHAR(320) NOT NULL, email_key VARCHAR(320) NOT NULL,
    first_name VARCHAR(200) NOT NULL, last_name VARCHAR(200) NOT NULL,
    status VARCHAR(16) NOT NULL, created_at DATETIME NOT NULL, updated_at DATETIME NOT NULL,
    PRIMARY KEY (id), UNIQUE (email_key))""",
    "CREATE INDEX ix_subscribers_status ON subscribers (status)",
    """CREATE TABLE topics (
    id VARCHAR(64) NOT NULL, name VARCHAR(200) NOT NULL, description TEXT NOT NULL,
    PRIMARY KEY (id))""",
    """CREATE TABLE subscriber_topics (
    subscriber_id VARCHAR(32) NOT NULL, topic_id VARCHAR(64) NOT NULL,
    PRIMARY KEY (subscriber_id, topic_id),
    FOREIGN KEY(subscriber_id) REFERENCES subscribers (id) ON DELETE CASCADE,
    FOREIGN KEY(topic_id) REFERENCES topics (id) ON DELETE CASCADE)""",
    "CREATE INDEX ix_subscriber_topics_topic ON subscriber_topics (topic_id, subscriber_id)",
    """CREATE TABLE consent_log (
    id INTEGER NOT NULL, subscriber_id VARCHAR(32) NOT NULL, at DATETIME NOT NULL,
    action VARCHAR(32) NOT NULL, source VARCHAR(16) NOT NULL, note TEXT NOT NULL,
    PRIMARY KEY (id), FOREIGN KEY(subscriber_id) REFERENCES subscribers (id))""",
    "CREATE INDEX ix_consent_log_subscriber_id ON consent_log (subscriber_id)",
    """CREATE TABLE campaigns (
    id INTEGER NOT NULL, provider VARCHAR(16) NOT NULL, slug VARCHAR(64) NOT NULL,
    remote_id VARCHAR(64), state VARCHAR(16) NOT NULL, content_hash VARCHAR(64),
    subject TEXT NOT NULL, scheduled_at DATETIME, started_at DATETIME, finished_at DATETIME,
    updated_at DATETIME NOT NULL, PRIMARY KEY (id), UNIQUE (provider, slug))""",
    """CREATE TABLE deliveries (
    campaign_id INTEGER NOT NULL, subscriber_id VARCHAR(32) NOT NULL,
    status VARCHAR(16) NOT NULL, message_id VARCHAR(255), attempts INTEGER NOT NULL,
    error TEXT, updated_at DATETIME NOT NULL, PRIMARY KEY (campaign_id, subscriber_id),
    FOREIGN KEY(campaign_id) REFERENCES campaigns (id),
    FOREIGN KEY(subscriber_id) REFERENCES subscribers (id))""",
    "CREATE INDEX ix_deliveries_status ON deliveries (campaign_id, status)",
    "CREATE TABLE schema_version (version INTEGER NOT NULL)",
    "INSERT INTO schema_version (version) VALUES (1)",
)
"""Version 1, as SQLite DDL."""

UPGRADES: dict[int, Sequence[str]] = {
    2: (
        # Who is sending a campaign, so a crashed send can be taken over safely.
        "ALTER TABLE campaigns ADD COLUMN owner VARCHAR(128)",
        "ALTER TABLE campaigns ADD COLUMN heartbeat_at TIMESTAMP WITH TIME ZONE",
    ),
    3: (
        # Unconfirmed messages counted, not recognised by their error text.
        "ALTER TABLE deliveries ADD COLUMN uncertain_sends INTEGER NOT NULL DEFAULT 0",
        "UPDATE deliveries SET uncertain_sends = 1"
        " WHERE error LIKE 'in flight when a send stopped%'",
        # Retries that ran out on temporary failures can be tried again (--retry-failed).
        "UPDATE deliveries SET status = 'deferred'"
        " WHERE status = 'failed' AND error LIKE 'gave up after %'",
        "ALTER TABLE campaigns ADD COLUMN last_problem TEXT",
    ),
    4: (
        # Local schedules: the zone the time was given in, who scheduled, what was approved.
        "ALTER TABLE campaigns ADD COLUMN scheduled_zone VARCHAR(64)",
        "ALTER TABLE campaigns ADD COLUMN scheduled_by VARCHAR(128)",
        "ALTER TABLE campaigns ADD COLUMN approved_hash VARCHAR(64)",
        "ALTER TABLE campaigns ADD COLUMN approved_files TEXT",
    ),
    5: (
        # The pre-send checks let through on purpose (--skip-check), kept with the campaign.
        "ALTER TABLE campaigns ADD COLUMN skipped_checks TEXT",
    ),
    6: (
        # What came back (bounces, complaints, mailto unsubscribes), found by the
        # member's sends and by the Message-ID a report quotes.
        """CREATE TABLE returns (
        id INTEGER NOT NULL, report_key VARCHAR(255) NOT NULL, received_at DATETIME NOT NULL,
        verdict VARCHAR(16) NOT NULL, subscriber_id VARCHAR(32) NOT NULL, campaign_id INTEGER,
        outcome TEXT NOT NULL, raw BLOB, keep_raw_until DATETIME,
        PRIMARY KEY (id), UNIQUE (report_key),
        FOREIGN KEY(subscriber_id) REFERENCES subscribers (id),
        FOREIGN KEY(campaign_id) REFERENCES campaigns (id))""",
        "CREATE INDEX ix_returns_subscriber ON returns (subscriber_id, verdict)",
        "CREATE INDEX ix_returns_campaign ON returns (campaign_id, verdict)",
        "CREATE INDEX ix_deliveries_subscriber ON deliveries (subscriber_id, updated_at)",
        "CREATE INDEX ix_deliveries_message_id ON deliveries (message_id)",
    ),
}
"""Version N: the statements that upgrade version N-1 to N."""

LATEST = max(UPGRADES)


def schema_version(connection: Connection) -> int | None:
    """The stored version; None for an empty database."""
    names = set(inspect(connection).get_table_names())
    if "schema_version" not in names:
        if "subscribers" in names:
            raise StoreError("the database has newsletter tables but no schema version")
        return None
    row = connection.execute(text("SELECT MAX(version) FROM schema_version")).first()
    return int(row[0]) if row and row[0] is not None else None


SCHEMA_LOCK = 0x6E6C5363  # any number; the same in every process that opens the store


def hold_schema_lock(connection: Connection) -> None:
    """On PostgreSQL, wait for other processes changing the schema until this transaction
    ends; SQLite lets one writer in at a time by itself."""
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": SCHEMA_LOCK})


def migrate(engine: Engine) -> int:
    """Create or upgrade the schema; returns the version now in place."""
    with engine.begin() as connection:
        hold_schema_lock(connection)
        version = schema_version(connection)
        if version is None:
            tables.metadata.create_all(connection)
            connection.execute(tables.schema_version.insert().values(version=LATEST))
            return LATEST
        if version > LATEST:
            raise StoreError(
                f"the database is at schema version {version}, newer than this "
                f"program knows ({LATEST}): upgrade newsletter"
            )
        for step in range(version + 1, LATEST + 1):
            for statement in UPGRADES[step]:
                connection.execute(text(in_dialect(statement, connection.dialect.name)))
            connection.execute(tables.schema_version.update().values(version=step))
        return LATEST


_POSTGRESQL_TYPES = (
    ("id INTEGER NOT NULL", "id SERIAL NOT NULL"),
    ("DATETIME", "TIMESTAMP WITH TIME ZONE"),
    ("BLOB", "BYTEA"),
)
"""What ``tables.metadata`` makes of the SQLite types the DDL here is written in."""


def in_dialect(statement: str, dialect: str) -> str:
    """The DDL here, written for SQLite, in the types the database's dialect uses."""
    if dialect == "postgresql":
        for sqlite_type, postgresql_type in _POSTGRESQL_TYPES:
            statement = statement.replace(sqlite_type, postgresql_type)
    return statement


def create_first_schema(engine: Engine) -> None:
    """A database as version 1 made it; for upgrade tests."""
    with engine.begin() as connection:
        for statement in FIRST_SCHEMA:
            connection.execute(text(in_dialect(statement, connection.dialect.name)))
