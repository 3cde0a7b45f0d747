"""Options shared by several commands, and the settings they load."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from newsletter.config import Settings, load_settings
from newsletter.providers.registry import provider_help

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
