"""The campaigns Mailchimp holds for us: one row per issue slug in the store's
``campaigns`` table (provider ``mailchimp``), so ``push`` updates the same draft."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Engine, select, update
from sqlalchemy.exc import SQLAlchemyError

from newsletter.errors import StoreError
from newsletter.models import CampaignState
from newsletter.store.migrations import migrate
from newsletter.store.tables import campaigns

PROVIDER = "mailchimp"


@dataclass(frozen=True)
class CampaignRecord:
    slug: str
    remote_id: str | None
    state: CampaignState
    content_hash: str | None
    scheduled_at: datetime | None = None


class CampaignRecords:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._ready = False

    def _ensure_tables(self) -> None:
        if not self._ready:
            migrate(self.engine)
            self._ready = True

    def get(self, slug: str) -> CampaignRecord | None:
        try:
            self._ensure_tables()
            with self.engine.connect() as connection:
                row = connection.execute(
                    select(
                        campaigns.c.slug,
                        campaigns.c.remote_id,
                        campaigns.c.state,
                        campaigns.c.content_hash,
                        campaigns.c.scheduled_at,
                    ).where(campaigns.c.provider == PROVIDER, campaigns.c.slug == slug)
                ).first()
        except SQLAlchemyError as exc:
            raise StoreError(f"cannot read the campaign store: {type(exc).__name__}") from None
        if row is None:
            return None
        return CampaignRecord(
            row.slug, row.remote_id, CampaignState(row.state), row.content_hash, row.scheduled_at
        )

    def save(
        self,
        slug: str,
        *,
        remote_id: str,
        state: CampaignState,
        subject: str = "",
        content_hash: str | None = None,
        scheduled_at: datetime | None = None,
    ) -> None:
        """Insert or update the slug's row in one transaction."""
        now = datetime.now(UTC)
        values: dict[str, object] = {
            "remote_id": remote_id,
            "state": state.value,
            "updated_at": now,
            "scheduled_at": scheduled_at,
        }
        if subject:
            values["subject"] = subject
        if content_hash is not None:
            values["content_hash"] = content_hash
        if state is CampaignState.SENDING:
            values["started_at"] = now
        if state is CampaignState.SENT:
            values["finished_at"] = now
        try:
            self._ensure_tables()
            with self.engine.begin() as connection:
                changed = connection.execute(
                    update(campaigns)
                    .where(campaigns.c.provider == PROVIDER, campaigns.c.slug == slug)
                    .values(**values)
                ).rowcount
                if not changed:
                    connection.execute(
                        campaigns.insert().values(provider=PROVIDER, slug=slug, **values)
                    )
        except SQLAlchemyError as exc:
            raise StoreError(f"cannot write the campaign store: {type(exc).__name__}") from None
