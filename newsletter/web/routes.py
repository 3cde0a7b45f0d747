"""What each page does. GET only shows; POST changes, always through the provider.

A link token that is tampered with, made for another purpose, or names nobody gets the
same "link not found" page, so a link tells nothing about who is subscribed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, TypeVar

import anyio
import anyio.to_thread
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.formparsers import MultiPartException
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, Response

from newsletter.config import Settings
from newsletter.errors import NewsletterError, ProviderError, TokenError
from newsletter.links import LinkBuilder, Purpose
from newsletter.models import Subscriber, SubscriberStatus
from newsletter.providers.base import ChangeSource, Provider
from newsletter.web.archive import SLUG, ArchivePages
from newsletter.web.pages import Pages
from newsletter.web.security import ARCHIVE_POLICY, PUBLIC_CACHE, CsrfTokens, cross_site

log = logging.getLogger("newsletter.web")

ONE_CLICK_FIELD = "List-Unsubscribe"
ONE_CLICK_VALUE = "One-Click"
MAX_FIELDS = 50
PROVIDER_THREADS = 4
"""Provider calls at once. SQLite takes one writer at a time (more threads only wait on
its lock and raise latency); Mailchimp allows ten connections per account."""


T = TypeVar("T")


def mask_email(email: str) -> str:
    """``sam.jones@example.org`` -> ``s••••@example.org``: enough to recognise, no more."""
    local, _, domain = email.partition("@")
    return f"{local[:1]}••••@{domain}"


def sibling(purpose: Purpose, token: str) -> str:
    """A link from one token page to another, relative so it works behind any proxy path."""
    return f"../{purpose.value}/{token}"


@dataclass(frozen=True)
class Link:
    """A link token whose signature checked out, and the subscriber id it carries."""

    token: str
    subscriber_id: str


class Action(StrEnum):
    UNSUBSCRIBE = "unsubscribe"
    RESUBSCRIBE = "resubscribe"
    SAVE = "save"


class PreferenceCentre:
    def __init__(
        self, settings: Settings, provider: Provider, links: LinkBuilder, pages: Pages
    ) -> None:
        self.settings = settings
        self.provider = provider
        self.links = links
        self.pages = pages
        self.csrf = CsrfTokens(settings.secrets)
        self.archive = ArchivePages(settings, links.public_url)
        self.topic_names = {topic.id: topic.name for topic in settings.topics}
        self._limiter = anyio.CapacityLimiter(PROVIDER_THREADS)

    async def _blocking(self, function: Callable[..., T], *args: Any) -> T:
        """Runs a provider call in a worker thread, at most PROVIDER_THREADS at a time."""
        return await anyio.to_thread.run_sync(function, *args, limiter=self._limiter)

    # Links, forms and the provider

    def _link(self, request: Request, purpose: Purpose) -> Link | None:
        token = request.path_params["token"]
        try:
            return Link(token, self.links.signer.subscriber_id(purpose, token))
        except TokenError:
            return None

    async def _subscriber(self, link: Link) -> Subscriber | None:
        return await self._blocking(self.provider.get_subscriber, link.subscriber_id)

    def _change(
        self,
        subscriber_id: str,
        action: Action,
        source: ChangeSource,
        topics: frozenset[str] = frozenset(),
    ) -> tuple[Subscriber, Subscriber] | None:
        """Looks up and changes in one call, so a request costs one trip to a worker thread.

        Blocking: run it with ``_blocking``. Returns (before, after), or None for nobody.
        """
        before = self.provider.get_subscriber(subscriber_id)
        if before is None:
            return None
        if action is Action.UNSUBSCRIBE:
            after = self.provider.unsubscribe(subscriber_id, source=source)
        elif action is Action.RESUBSCRIBE:
            after = self.provider.resubscribe(subscriber_id, source=source)
        elif topics != before.topics:
            after = self.provider.set_topics(subscriber_id, topics, source=source)
        else:
            after = before
        return before, after

    def _unsubscribe(self, subscriber_id: str, source: ChangeSource) -> Subscriber | None:
        """Unsubscribes in one provider call (the busiest path); None when nobody has the id.

        Blocking: run it with ``_blocking``. A provider error for someone who exists is
        raised again, and shown as "try again later".
        """
        try:
            return self.provider.unsubscribe(subscriber_id, source=source)
        except ProviderError:
            if self.provider.get_subscriber(subscriber_id) is None:
                return None
            raise

    def not_found(self) -> HTMLResponse:
        return self.pages.render("not_found", status_code=404, what="link")

    async def _form(self, request: Request) -> FormData | None:
        """The posted form, or None when it cannot be read (``RequestBodyLimits`` bounds it)."""
        try:
            return await request.form(max_files=0, max_fields=MAX_FIELDS)
        except (MultiPartException, HTTPException):
            return None

    def _form_allowed(self, request: Request, link: Link, form: FormData) -> bool:
        return not cross_site(request) and self.csrf.valid(link.token, form.get("csrf"))

    def _forbidden(self, request: Request) -> HTMLResponse:
        return self.pages.render("forbidden", status_code=403, retry_url=request.url.path)

    def _preferences_link(self, subscriber_id: str) -> tuple[str, str]:
        """The relative link to a subscriber's preferences page, and its token."""
        token = self.links.signer.token(Purpose.PREFERENCES, subscriber_id)
        return sibling(Purpose.PREFERENCES, token), token

    # Unsubscribe

    async def unsubscribe_page(self, request: Request) -> Response:
        link = self._link(request, Purpose.UNSUBSCRIBE)
        subscriber = await self._subscriber(link) if link else None
        if link is None or subscriber is None:
            return self.not_found()
        preferences_url, _ = self._preferences_link(subscriber.id)
        return self.pages.render(
            "unsubscribe",
            email=mask_email(subscriber.email),
            unsubscribed=subscriber.status is SubscriberStatus.UNSUBSCRIBED,
            csrf=self.csrf.issue(link.token),
            preferences_url=preferences_url,
        )

    async def unsubscribe(self, request: Request) -> Response:
        """The page's form (CSRF token) or RFC 8058 one-click: 200 and a page, no redirect."""
        link = self._link(request, Purpose.UNSUBSCRIBE)
        if link is None:
            return self.not_found()
        form = await self._form(request)
        if form is None:
            return self._forbidden(request)
        if form.get(ONE_CLICK_FIELD) == ONE_CLICK_VALUE:
            source = ChangeSource.ONE_CLICK
        elif self._form_allowed(request, link, form):
            source = ChangeSource.PAGE
        else:
            return self._forbidden(request)
        subscriber = await self._blocking(self._unsubscribe, link.subscriber_id, source)
        if subscriber is None:
            return self.not_found()
        if source is ChangeSource.ONE_CLICK:
            # A mailbox provider posts this and shows nobody the answer: no resubscribe form.
            return self.pages.render(
                "unsubscribed", email=mask_email(subscriber.email), preferences_url="", csrf=""
            )
        preferences_url, preferences_token = self._preferences_link(subscriber.id)
        return self.pages.render(
            "unsubscribed",
            email=mask_email(subscriber.email),
            preferences_url=preferences_url,
            csrf=self.csrf.issue(preferences_token),
        )

    # Preferences

    def _preferences(
        self,
        link: Link,
        subscriber: Subscriber,
        changes: list[str],
        saved: bool = False,
        just_left: bool = False,
    ) -> HTMLResponse:
        return self.pages.render(
            "preferences",
            first_name=subscriber.first_name,
            email=mask_email(subscriber.email),
            unsubscribed=subscriber.status is not SubscriberStatus.SUBSCRIBED,
            chosen=subscriber.topics,
            csrf=self.csrf.issue(link.token),
            changes=changes,
            saved=saved,
            just_left=just_left,
        )

    async def preferences_page(self, request: Request) -> Response:
        link = self._link(request, Purpose.PREFERENCES)
        subscriber = await self._subscriber(link) if link else None
        if link is None or subscriber is None:
            return self.not_found()
        return self._preferences(link, subscriber, [])

    async def save_preferences(self, request: Request) -> Response:
        link = self._link(request, Purpose.PREFERENCES)
        if link is None:
            return self.not_found()
        form = await self._form(request)
        if form is None or not self._form_allowed(request, link, form):
            return self._forbidden(request)
        try:
            action = Action(form.get("action", Action.SAVE))
        except ValueError:
            return self.pages.render("not_found", status_code=400, what="form")
        wanted = frozenset(
            value
            for value in form.getlist("topics")
            if isinstance(value, str) and value in self.topic_names
        )
        changed = await self._blocking(
            self._change, link.subscriber_id, action, ChangeSource.PAGE, wanted
        )
        if changed is None:
            return self.not_found()
        before, after = changed
        just_left = (
            before.status is SubscriberStatus.SUBSCRIBED
            and after.status is not SubscriberStatus.SUBSCRIBED
        )
        if just_left:
            # the "you are unsubscribed" box is the confirmation; no second notice
            return self._preferences(link, after, [], just_left=True)
        return self._preferences(link, after, self._changes(before, after), saved=True)

    def _changes(self, before: Subscriber, after: Subscriber) -> list[str]:
        changes: list[str] = []
        if before.status is not after.status:
            if after.status is SubscriberStatus.SUBSCRIBED:
                changes.append("You are subscribed again.")
            else:
                changes.append("You are unsubscribed from everything.")
        for topic in self.settings.topics:
            if topic.id in after.topics and topic.id not in before.topics:
                changes.append(f"Added: {topic.name}")
            elif topic.id in before.topics and topic.id not in after.topics:
                changes.append(f"Removed: {topic.name}")
        return changes

    # Public pages

    async def archive_page(self, request: Request) -> Response:
        """Only issues that have gone out (or are going out) have a web version."""
        slug = request.path_params["slug"]
        html = None
        try:
            if await self._published(slug):
                html = await anyio.to_thread.run_sync(self.archive.page, slug)
        except NewsletterError as exc:
            log.warning("archive page for %s cannot be built: %s", slug, exc)
        if html is None:
            return self.pages.render("not_found", status_code=404, what="issue")
        return HTMLResponse(
            html,
            headers={"Content-Security-Policy": ARCHIVE_POLICY, "Cache-Control": PUBLIC_CACHE},
        )

    async def _published(self, slug: str) -> bool:
        if not SLUG.fullmatch(slug):
            return False
        return await self._blocking(self.provider.has_gone_out, slug)

    async def about(self, request: Request) -> Response:
        response = self.pages.render("about")
        response.headers["Cache-Control"] = PUBLIC_CACHE
        return response

    async def healthz(self, request: Request) -> Response:
        return PlainTextResponse("ok\n")
