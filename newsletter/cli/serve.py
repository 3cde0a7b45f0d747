"""``newsletter serve``: the preference centre under uvicorn."""

from __future__ import annotations

from typing import Annotated

import typer

from newsletter.cli.app import app
from newsletter.cli.options import ProjectOption, ProviderOption, settings_for


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.", min=1, max=65535)] = 8000,
    project: ProjectOption = None,
    provider: ProviderOption = None,
) -> None:
    """Serve the unsubscribe, preference, archive and about pages.

    Needs NEWSLETTER_SECRET (at least 32 characters), the secret the links in sent
    emails were signed with. Put it behind a reverse proxy that terminates HTTPS.

    Example: NEWSLETTER_SECRET=... newsletter serve --host 127.0.0.1 --port 8000
    """
    import uvicorn

    from newsletter.links import LinkSigner
    from newsletter.web import create_app
    from newsletter.web.app import web_provider
    from newsletter.web.server import uvicorn_config

    settings = settings_for(project)
    LinkSigner.from_settings(settings)
    chosen = web_provider(settings, provider)
    try:
        web_app = create_app(settings, chosen)
        typer.echo(f"Preference centre for {settings.public_url} on http://{host}:{port}")
        uvicorn.Server(uvicorn_config(web_app, host, port)).run()
    finally:
        chosen.close()
