"""``create_app``: the preference centre as a Starlette application, no module globals."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp

from newsletter.config import Settings
from newsletter.errors import ProviderError
from newsletter.links import LinkBuilder
from newsletter.providers import get_provider
from newsletter.providers.base import Provider
from newsletter.web.pages import Pages
from newsletter.web.routes import PreferenceCentre
from newsletter.web.security import SecurityHeaders

log = logging.getLogger("newsletter.web")


def create_app(settings: Settings, provider: Provider | None = None) -> Starlette:
    """The app for one project. Raises ``ConfigError`` without a usable ``NEWSLETTER_SECRET``.

    A provider passed in stays the caller's to close; one made here closes at shutdown.
    """
    links = LinkBuilder.from_settings(settings)
    pages = Pages(settings, links.about_url())
    owned = provider is None
    active = provider if provider is not None else get_provider(settings)
    centre = PreferenceCentre(settings, active, links, pages)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        try:
            yield
        finally:
            if owned:
                active.close()

    async def http_error(request: Request, exc: Exception) -> Response:
        status = exc.status_code if isinstance(exc, HTTPException) else 500
        if status == 404:
            return pages.render("not_found", status_code=404, what="page")
        return PlainTextResponse(f"{status}\n", status_code=status)

    async def provider_error(request: Request, exc: Exception) -> Response:
        page = request.url.path.strip("/").split("/", 1)[0]  # never the token
        log.error("provider error on %s /%s: %s", request.method, page, exc)
        return pages.render("unavailable", status_code=503)

    routes = [
        Route("/unsubscribe/{token}", centre.unsubscribe_page, methods=["GET"]),
        Route("/unsubscribe/{token}", centre.unsubscribe, methods=["POST"]),
        Route("/preferences/{token}", centre.preferences_page, methods=["GET"]),
        Route("/preferences/{token}", centre.save_preferences, methods=["POST"]),
        Route("/archive/{slug}", centre.archive_page, methods=["GET"]),
        Route("/about", centre.about, methods=["GET"]),
        Route("/healthz", centre.healthz, methods=["GET"]),
    ]
    app = _PreferenceCentreApp(
        routes=routes,
        exception_handlers={HTTPException: http_error, ProviderError: provider_error},
        lifespan=lifespan,
    )
    app.content_security_policy = pages.content_security_policy
    app.state.centre = centre
    return app


class _PreferenceCentreApp(Starlette):
    """Starlette with the security headers outermost, so even a 500 carries them."""

    content_security_policy = "default-src 'none'; frame-ancestors 'none'"

    def build_middleware_stack(self) -> ASGIApp:
        return SecurityHeaders(
            super().build_middleware_stack(),
            content_security_policy=self.content_security_policy,
        )
