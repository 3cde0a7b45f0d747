"""The schema. Emails are unique case-insensitively through ``email_key`` (lower-cased)."""

from __future__ import annotations

from sqlalchemy import (
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
)

metadata = MetaData()

subscribers = Table(
    "subscribers",
    metadata,
    Column("id", String(32), primary_key=True, comment="opaque, random; safe to put in links"),
    Column("email", String(320), nullable=False),
    Column("email_key", String(320), nullable=False, unique=True, comment="lower(email)"),
    Column("first_name", String(200), nullable=False, default=""),
    Column("last_name", String(200), nullable=False, default=""),
    Column("status", String(16), nullable=False, index=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

topics = Table(
    "topics",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("description", Text, nullable=False, default=""),
)

subscriber_topics = Table(
    "subscriber_topics",
    metadata,
    Column(
        "subscriber_id",
        String(32),
        ForeignKey("subscribers.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("topic_id", String(64), ForeignKey("topics.id", ondelete="CASCADE"), nullable=False),
    PrimaryKeyConstraint("subscriber_id", "topic_id"),
    Index("ix_subscriber_topics_topic", "topic_id", "subscriber_id"),
)

consent_log = Table(
    "consent_log",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("subscriber_id", String(32), ForeignKey("subscribers.id"), nullable=False, index=True),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("action", String(32), nullable=False, comment="subscribed, unsubscribed, topics, ..."),
    Column("source", String(16), nullable=False, comment="one-click, page, cli, import, send"),
    Column("note", Text, nullable=False, default=""),
)

campaigns = Table(
    "campaigns",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("provider", String(16), nullable=False),
    Column("slug", String(64), nullable=False),
    Column("remote_id", String(64), nullable=True, comment="the provider's campaign id"),
    Column("state", String(16), nullable=False, comment="models.CampaignState"),
    Column("content_hash", String(64), nullable=True),
    Column("subject", Text, nullable=False, default=""),
    Column("scheduled_at", DateTime(timezone=True), nullable=True),
    Column("started_at", DateTime(timezone=True), nullable=True),
    Column("finished_at", DateTime(timezone=True), nullable=True),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("owner", String(128), nullable=True, comment="host:pid of the process sending it"),
    Column("heartbeat_at", DateTime(timezone=True), nullable=True),
    Column("last_problem", Text, nullable=True, comment="why the last send stopped short"),
    Column("scheduled_zone", String(64), nullable=True, comment="the zone the time was given in"),
    Column("scheduled_by", String(128), nullable=True, comment="the OS user who scheduled it"),
    Column("approved_hash", String(64), nullable=True, comment="content hash when scheduled"),
    Column("approved_files", Text, nullable=True, comment="source file hashes when scheduled"),
    Column("skipped_checks", Text, nullable=True, comment="--skip-check rules, comma-separated"),
    UniqueConstraint("provider", "slug"),
)

deliveries = Table(
    "deliveries",
    metadata,
    Column("campaign_id", Integer, ForeignKey("campaigns.id"), nullable=False),
    Column("subscriber_id", String(32), ForeignKey("subscribers.id"), nullable=False),
    Column(
        "status",
        String(16),
        nullable=False,
        comment="sending, sent, failed, deferred, uncertain",
    ),
    Column("message_id", String(255), nullable=True),
    Column("attempts", Integer, nullable=False, default=0),
    Column(
        "uncertain_sends",
        Integer,
        nullable=False,
        default=0,
        server_default="0",
        comment="messages sent to this recipient that the server never confirmed",
    ),
    Column("error", Text, nullable=True),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    PrimaryKeyConstraint("campaign_id", "subscriber_id"),
    Index("ix_deliveries_status", "campaign_id", "status"),
    Index("ix_deliveries_subscriber", "subscriber_id", "updated_at"),
    Index("ix_deliveries_message_id", "message_id"),
)

returns = Table(
    "returns",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("report_key", String(255), nullable=False, unique=True, comment="its Message-ID"),
    Column("received_at", DateTime(timezone=True), nullable=False),
    Column("verdict", String(16), nullable=False, comment="hard-bounce, soft-bounce, ..."),
    Column("subscriber_id", String(32), ForeignKey("subscribers.id"), nullable=False),
    Column("campaign_id", Integer, ForeignKey("campaigns.id"), nullable=True),
    Column("outcome", Text, nullable=False, comment="what it did to the member"),
    Column("raw", LargeBinary, nullable=True, comment="the report, zlib; dropped when due"),
    Column("keep_raw_until", DateTime(timezone=True), nullable=True),
    Index("ix_returns_subscriber", "subscriber_id", "verdict"),
    Index("ix_returns_campaign", "campaign_id", "verdict"),
)

schema_version = Table(
    "schema_version",
    metadata,
    Column("version", Integer, nullable=False),
)
