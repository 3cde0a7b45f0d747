"""Where each issue stands, for ``newsletter status``: from the campaign store, plus the
campaign files nothing has been recorded for yet (drafts)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, Engine

from newsletter.config import Settings
from newsletter.models import CampaignState
from newsletter.store import campaigns, deliveries
from newsletter.store.deliveries import DeliveryStatus


@dataclass(frozen=True)
class IssueStatus:
    slug: str
    state: str
    provider: str
    scheduled_local: str | None
    scheduled_utc: str | None
    scheduled_by: str | None
    sent: int = 0
    failed: int = 0
    deferred: int = 0
    uncertain: int = 0
    last_problem: str | None = None
    skipped_checks: list[str] = field(default_factory=list)
    """Pre-send checks let through with --skip-check when it was last sent or scheduled."""

    def as_json(self) -> dict[str, object]:
        return asdict(self)


def issue_statuses(
    settings: Settings, engine: Engine, slug: str | None = None
) -> list[IssueStatus]:
    """One line per campaign row (every provider), and a draft for each campaign file
    with none; only ``slug``'s when given."""
    zone = settings.zone
    with engine.connect() as connection:
        found = [
            _status(connection, campaign, provider, zone)
            for provider, campaign in campaigns.every(connection)
            if slug is None or campaign.slug == slug
        ]
    known = {status.slug for status in found}
    folder = settings.resolve(settings.campaigns_dir)
    files = sorted(path.stem for path in folder.glob("*.yaml")) if folder.is_dir() else []
    for stem in files:
        if stem not in known and (slug is None or stem == slug):
            found.append(IssueStatus(stem, CampaignState.DRAFT.value, "-", None, None, None))
    if slug is not None and not found:
        found.append(IssueStatus(slug, CampaignState.DRAFT.value, "-", None, None, None))
    return sorted(found, key=lambda status: (status.slug, status.provider))


def _status(
    connection: Connection, campaign: campaigns.Campaign, provider: str, zone: ZoneInfo
) -> IssueStatus:
    counts = deliveries.counts(connection, campaign.id)
    at: datetime | None = campaign.scheduled_utc
    return IssueStatus(
        slug=campaign.slug,
        state=campaign.state.value,
        provider=provider,
        scheduled_local=at.astimezone(zone).strftime("%Y-%m-%d %H:%M %Z") if at else None,
        scheduled_utc=at.astimezone(UTC).strftime("%Y-%m-%dT%H:%MZ") if at else None,
        scheduled_by=campaign.scheduled_by,
        sent=counts.get(DeliveryStatus.SENT, 0),
        failed=counts.get(DeliveryStatus.FAILED, 0),
        deferred=counts.get(DeliveryStatus.DEFERRED, 0),
        uncertain=deliveries.unconfirmed_count(connection, campaign.id),
        last_problem=campaign.last_problem,
        skipped_checks=sorted(campaign.skipped_checks),
    )
