"""Options shared by several commands, and the settings they load."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from newsletter.config import Settings, load_settings
from newsletter.providers.registry import merge_tag_names, provider_help

ProjectOption = Annotated[
    Path | None,
    typer.Option(
        "--project",
        help="The project file (default: newsletter.yaml, or NEWSLETTER_PROJECT_FILE).",
        show_default=False,
    ),
]


def settings_for(project: Path | None) -> Settings:
    return load_settings(project)


ProviderOption = Annotated[
    str | None,
    typer.Option(
        "--provider",
        help=f"{provider_help()}. Default: provider: in newsletter.yaml.",
        show_default=False,
    ),
]


def _merge_tags_name(value: str) -> str:
    """Checked against the registry when the command runs, so every provider counts."""
    names = merge_tag_names()
    if value not in names:
        raise typer.BadParameter(f"{value!r} is not one of {', '.join(map(repr, names))}.")
    return value


MergeTagsOption = Annotated[
    str | None,
    typer.Option(
        "--merge-tags",
        parser=_merge_tags_name,
        metavar=f"<{'|'.join(merge_tag_names())}>",
        help="Keep the provider's merge tags instead of filling a sample recipient.",
    ),
]


SkipCheckOption = Annotated[
    list[str] | None,
    typer.Option(
        "--skip-check",
        metavar="RULE",
        help="Let this pre-send check's errors through (a rule such as links.insecure, "
        "or a whole family such as links); recorded with the campaign. Repeat for more.",
        show_default=False,
    ),
]


def skipped(values: list[str] | None) -> frozenset[str]:
    """``--skip-check`` values, each checked against the known rules."""
    from newsletter import checks

    return checks.waivers(values or ())
