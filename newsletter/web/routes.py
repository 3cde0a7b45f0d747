"""What each page does. GET only shows; POST changes, always through the provider.

A link token that is tampered with, made for another purpose, or names nobody gets the
same "link not found" page, so a link tells nothing about who is subscribed.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.formparsers import MultiPartException
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, Response

from newsletter.config import Settings
from newsletter.errors import NewsletterError, TokenError
from newsletter.links import LinkBuilder, Purpose
from newsletter.models import Subscriber, SubscriberStatus
from newsletter.providers.base import ChangeSource, Provider
from newsletter.web.archive import ArchivePages
from newsletter.web.pages import Pages
from newsletter.web.security import ARCHIVE_POLICY, PUBLIC_CACHE, CsrfTokens, cross_site

log = logging.getLogger("newsletter.web")

ONE_CLICK_FIELD = "List-Unsubscribe"
ONE_CLICK_VALUE = "One-Click"
MAX_FIELDS = 50


def mask_email(email: str) -> str:
    """``sam.jones@example.org`` -> ``s••••@example.org``: enough to recognise, no more."""
    local, _, domain = email.partition("@")
    return f"{local[:1]}••••@{domain}"


def sibling(purpose: Purpose, token: str) -> str:
    """A link from one token page to another, relative so it works behind any proxy path."""
    return f"../{purpose.value}/{token}"


@dataclass(frozen=True)
class Linked:
    """The subscriber a valid link names, with the link token it came with."""

    token: str
    subscriber: Subscriber


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

    # Looking up a link

    async def _linked(self, request: Request, purpose: Purpose) -> Linked | None:
        token = request.path_params["token"]
        try:
            subscriber_id = self.links.signer.subscriber_id(purpose, token)
        except TokenError:
            return None
        subscriber = await run_in_threadpool(self.provider.get_subscriber, subscriber_id)
        return Linked(token, subscriber) if subscriber is not None else None

    def not_found(self) -> HTMLResponse:
        return self.pages.render("not_found", status_code=404, what="link")

    async def _form(self, request: Request) -> FormData | None:
        try:
            return await request.form(max_files=0, max_fields=MAX_FIELDS)
        except (MultiPartException, HTTPException):
            return None

    def _form_allowed(self, request: Request, linked: Linked, form: FormData) -> bool:
        return not cross_site(request) and self.csrf.valid(linked.token, form.get("csrf"))

    def _forbidden(self, retry_url: str) -> HTMLResponse:
        return self.pages.render("forbidden", status_code=403, retry_url=retry_url)

    # Unsubscribe

    async def unsubscribe_page(self, request: Request) -> Response:
        linked = await self._linked(request, Purpose.UNSUBSCRIBE)
        if linked is None:
            return self.not_found()
        subscriber = linked.subscriber
        return self.pages.render(
            "unsubscribe",
            email=mask_email(subscriber.email),
            unsubscribed=subscriber.status is SubscriberStatus.UNSUBSCRIBED,
            csrf=self.csrf.issue(linked.token),
            preferences_url=sibling(
                Purpose.PREFERENCES, self.links.signer.token(Purpose.PREFERENCES, subscriber.id)
            ),
        )

    async def unsubscribe(self, request: Request) -> Response:
        """The page's form (CSRF token) or RFC 8058 one-click: 200 and a page, no redirect."""
        linked = await self._linked(request, Purpose.UNSUBSCRIBE)
        if linked is None:
            return self.not_found()
        form = await self._form(request)
        if form is None:
            return self._forbidden(request.url.path)
        if form.get(ONE_CLICK_FIELD) == ONE_CLICK_VALUE:
            source = ChangeSource.ONE_CLICK
        elif self._form_allowed(request, linked, form):
            source = ChangeSource.PAGE
        else:
            return self._forbidden(request.url.path)
        subscriber = await run_in_threadpool(
            self.provider.unsubscribe, linked.subscriber.id, source=source
        )
        preferences_token = self.links.signer.token(Purpose.PREFERENCES, subscriber.id)
        return self.pages.render(
            "unsubscribed",
            email=mask_email(subscriber.email),
            preferences_url=sibling(Purpose.PREFERENCES, preferences_token),
            csrf=self.csrf.issue(preferences_token),
        )

    # Preferences

    def _preferences(
        self, linked: Linked, subscriber: Subscriber, changes: list[str], saved: bool = False
    ) -> HTMLResponse:
        return self.pages.render(
            "preferences",
            first_name=subscriber.first_name,
            email=mask_email(subscriber.email),
            unsubscribed=subscriber.status is not SubscriberStatus.SUBSCRIBED,
            chosen=subscriber.topics,
            csrf=self.csrf.issue(linked.token),
            changes=changes,
            saved=saved,
        )

    async def preferences_page(self, request: Request) -> Response:
        linked = await self._linked(request, Purpose.PREFERENCES)
        if linked is None:
            return self.not_found()
        return self._preferences(linked, linked.subscriber, [])

    async def save_preferences(self, request: Request) -> Response:
        linked = await self._linked(request, Purpose.PREFERENCES)
        if linked is None:
            return self.not_found()
        form = await self._form(request)
        if form is None or not self._form_allowed(request, linked, form):
            return self._forbidden(request.url.path)
        before = linked.subscriber
        action = form.get("action", "save")
        if action == "unsubscribe":
            after = await run_in_threadpool(
                self.provider.unsubscribe, before.id, source=ChangeSource.PAGE
            )
        elif action == "resubscribe":
            after = await run_in_threadpool(
                self.provider.resubscribe, before.id, source=ChangeSource.PAGE
            )
        elif action == "save":
            wanted = frozenset(
                value
                for value in form.getlist("topics")
                if isinstance(value, str) and value in self.topic_names
            )
            after = before
            if wanted != before.topics:
                after = await run_in_threadpool(
                    self.provider.set_topics, before.id, wanted, source=ChangeSource.PAGE
                )
        else:
            return self.pages.render("not_found", status_code=400, what="form")
        return self._preferences(linked, after, self._changes(before, after), saved=True)

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
        slug = request.path_params["slug"]
        try:
            html = await run_in_threadpool(self.archive.page, slug)
        except NewsletterError as exc:
            log.warning("archive page for %s cannot be built: %s", slug, exc)
            html = None
        if html is None:
            return self.pages.render("not_found", status_code=404, what="issue")
        return HTMLResponse(
            html,
            headers={"Content-Security-Policy": ARCHIVE_POLICY, "Cache-Control": PUBLIC_CACHE},
        )

    async def about(self, request: Request) -> Response:
        response = self.pages.render("about")
        response.headers["Cache-Control"] = PUBLIC_CACHE
        return response

    async def healthz(self, request: Request) -> Response:
        return PlainTextResponse("ok\n")
