"""``newsletter serve``: the preference centre under uvicorn."""

from __future__ import annotations

import os
from typing import Annotated

import typer

from newsletter.cli.app import app
from newsletter.cli.options import ProjectOption, ProviderOption, settings_for
from newsletter.config import ENV_PREFIX


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.", min=1, max=65535)] = 8000,
    workers: Annotated[
        int,
        typer.Option(
            help="Worker processes sharing the port; more than one wants PostgreSQL "
            "(NEWSLETTER_DATABASE_URL) or a provider that keeps the audience itself.",
            min=1,
            max=64,
        ),
    ] = 1,
    project: ProjectOption = None,
    provider: ProviderOption = None,
) -> None:
    """Serve the unsubscribe, preference, archive and about pages.

    Needs NEWSLETTER_SECRET (at least 32 characters), the secret the links in sent
    emails were signed with. Put it behind a reverse proxy that terminates HTTPS.

    Example: NEWSLETTER_SECRET=... newsletter serve --host 127.0.0.1 --port 8000 --workers 4
    """
    import uvicorn

    from newsletter.links import LinkSigner
    from newsletter.web import create_app
    from newsletter.web.app import web_provider
    from newsletter.web.server import run_workers, uvicorn_config

    settings = settings_for(project)
    LinkSigner.from_settings(settings)
    chosen = web_provider(settings, provider)
    if workers > 1:
        create_app(settings, chosen)  # a bad setting fails here, once, not in every worker
        chosen.close()
        os.environ[f"{ENV_PREFIX}PROJECT_FILE"] = str(settings.project_file.resolve())
        if provider is not None:
            os.environ[f"{ENV_PREFIX}PROVIDER"] = provider
        typer.echo(f"Preference centre for {settings.public_url} on http://{host}:{port}")
        run_workers(workers, host, port)
        return
    try:
        web_app = create_app(settings, chosen)
        typer.echo(f"Preference centre for {settings.public_url} on http://{host}:{port}")
        uvicorn.Server(uvicorn_config(web_app, host, port)).run()
    finally:
        chosen.close()
