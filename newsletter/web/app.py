"""``create_app``: the preference centre as a Starlette application, no module globals."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager

from sqlalchemy.exc import OperationalError
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp

from newsletter.config import Settings
from newsletter.errors import ProviderError
from newsletter.links import LinkBuilder
from newsletter.providers import get_provider
from newsletter.providers.base import Provider
from newsletter.store.database import is_locked, with_lock_timeout
from newsletter.web.limits import DEFAULT_BODY_LIMITS, BodyLimits, RequestBodyLimits
from newsletter.web.pages import Pages
from newsletter.web.routes import PreferenceCentre
from newsletter.web.security import SecurityHeaders

log = logging.getLogger("newsletter.web")

Endpoint = Callable[[Request], Awaitable[Response]]

LOCK_TIMEOUT = 1.0
"""Seconds a change waits for a database another process is writing (a send, an import)
before the page says "try again later": a request must not hold a worker for long."""
RETRY_AFTER = 60
"""Seconds a "try again later" answer asks the client to wait (``Retry-After``)."""


def web_provider(settings: Settings, name: str | None = None) -> Provider:
    """The provider as the preference centre uses it: an SQLite audience waits at most
    ``LOCK_TIMEOUT`` for a lock (the CLI keeps the store's longer default)."""
    return get_provider(with_lock_timeout(settings, LOCK_TIMEOUT), name)


def from_environment() -> Starlette:
    """The app of the project ``NEWSLETTER_PROJECT_FILE`` names (or the current
    folder's), with the provider of ``NEWSLETTER_PROVIDER``: for ``serve --workers``,
    whose worker processes start with nothing but the environment."""
    from newsletter.config import load_settings

    return create_app(load_settings())


def page_name(request: Request) -> str:
    """The first segment of the path, for logs: never the token after it."""
    return request.url.path.strip("/").split("/", 1)[0]


def create_app(
    settings: Settings,
    provider: Provider | None = None,
    *,
    body_limits: BodyLimits = DEFAULT_BODY_LIMITS,
) -> Starlette:
    """The app for one project. Raises ``ConfigError`` without a usable ``NEWSLETTER_SECRET``.

    A provider passed in stays the caller's to close (make it with ``web_provider``);
    one made here closes at shutdown. ``body_limits`` bounds reading request bodies.
    """
    links = LinkBuilder.from_settings(settings)
    pages = Pages(settings, links.about_url())
    owned = provider is None
    active = provider if provider is not None else web_provider(settings)
    centre = PreferenceCentre(settings, active, links, pages)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        try:
            yield
        finally:
            if owned:
                active.close()

    errors = _ErrorPages(pages)

    routes = [
        route("/unsubscribe/{token}", {"GET": centre.unsubscribe_page, "POST": centre.unsubscribe}),
        route(
            "/preferences/{token}",
            {"GET": centre.preferences_page, "POST": centre.save_preferences},
        ),
        route("/archive/{slug}", {"GET": centre.archive_page}),
        route("/about", {"GET": centre.about}),
        route("/healthz", {"GET": centre.healthz}),
    ]
    app = _PreferenceCentreApp(
        routes=routes,
        middleware=[Middleware(RequestBodyLimits, limits=body_limits)],
        exception_handlers={
            HTTPException: errors.http_error,
            ProviderError: errors.provider_error,
            OperationalError: errors.database_error,
        },
        lifespan=lifespan,
    )
    app.content_security_policy = pages.content_security_policy
    app.state.centre = centre
    return app


class _ErrorPages:
    """What the centre answers when a request cannot be served."""

    def __init__(self, pages: Pages) -> None:
        self.pages = pages

    async def http_error(self, request: Request, exc: Exception) -> Response:
        status = exc.status_code if isinstance(exc, HTTPException) else 500
        if status == 404:
            return self.pages.render("not_found", status_code=404, what="page")
        headers = exc.headers if isinstance(exc, HTTPException) else None
        return PlainTextResponse(f"{status}\n", status_code=status, headers=headers)

    def try_later(self) -> Response:
        response = self.pages.render("unavailable", status_code=503)
        response.headers["Retry-After"] = str(RETRY_AFTER)
        return response

    async def provider_error(self, request: Request, exc: Exception) -> Response:
        log.error("provider error on %s /%s: %s", request.method, page_name(request), exc)
        return self.try_later()

    async def database_error(self, request: Request, exc: Exception) -> Response:
        if not is_locked(exc):
            raise exc
        log.warning(
            "database locked on %s /%s: answered 503, nothing changed",
            request.method,
            page_name(request),
        )
        return self.try_later()


def route(path: str, handlers: Mapping[str, Endpoint]) -> Route:
    """One route per path, its handler chosen by method (HEAD as GET).

    A wrong method gets 405 with ``Allow`` naming every method of the path; with a route
    per method, the first route with the path would answer and name only its own.
    """

    async def endpoint(request: Request) -> Response:
        method = "GET" if request.method == "HEAD" else request.method
        return await handlers[method](request)

    return Route(path, endpoint, methods=list(handlers))


class _PreferenceCentreApp(Starlette):
    """Starlette with the security headers outermost, so even a 500 carries them."""

    content_security_policy = "default-src 'none'; frame-ancestors 'none'"

    def build_middleware_stack(self) -> ASGIApp:
        return SecurityHeaders(
            super().build_middleware_stack(),
            content_security_policy=self.content_security_policy,
        )
