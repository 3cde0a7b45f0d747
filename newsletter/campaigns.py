"""Campaign files: ``campaigns/<slug>.yaml`` to a validated ``Issue``, every error located."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError

from newsletter.config import Settings
from newsletter.errors import CampaignError
from newsletter.models import MAX_SECTIONS, Issue
from newsletter.yamlfile import LoadedYaml, format_validation_error, load_yaml


@dataclass(frozen=True)
class LocatedIssue:
    """An issue with the file it came from, so a finding can name its line."""

    issue: Issue
    source: LoadedYaml


def load_issue(path: Path, settings: Settings) -> Issue:
    """Parse and validate one campaign file; ``CampaignError`` lists every problem."""
    return load_located(path, settings).issue


def load_located(path: Path, settings: Settings) -> LocatedIssue:
    """``load_issue`` keeping the position of every value in the file."""
    loaded = load_yaml(
        path, max_bytes=settings.max_file_bytes, list_limits={("sections",): MAX_SECTIONS}
    )
    if not isinstance(loaded.data, dict):
        raise CampaignError(
            [f"{path}:1:1: a campaign file must be a mapping (subject:, sections:, ...)"]
        )
    data = dict(loaded.data)
    data.setdefault("slug", path.stem)
    context = {"timezone": settings.zone, "topics": settings.topic_ids}
    try:
        issue = Issue.model_validate(data, context=context)
    except ValidationError as exc:
        raise format_validation_error(loaded, exc, Issue) from None
    return LocatedIssue(issue, loaded)


def campaign_path(settings: Settings, slug: str) -> Path:
    return settings.resolve(settings.campaigns_dir) / f"{slug}.yaml"
