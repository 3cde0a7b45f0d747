"""Response headers for every page, and the CSRF tokens of the preference forms.

The forms work without cookies (people open them from a mail app, often in a private
view): the CSRF token is a signature bound to the link token of the page it was shown
on, and a browser's ``Sec-Fetch-Site: cross-site`` is refused outright. The RFC 8058
one-click POST is exempt, as the RFC requires; the signed link is its protection.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Sequence

from itsdangerous import BadSignature, URLSafeSerializer
from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

NO_STORE = "no-store"
PUBLIC_CACHE = "public, max-age=300"


def style_hash(css: str) -> str:
    """The CSP source that allows exactly this inline stylesheet."""
    digest = hashlib.sha256(css.encode("utf-8")).digest()
    return f"'sha256-{base64.b64encode(digest).decode('ascii')}'"


def page_policy(style_source: str) -> str:
    """No scripts, nothing framed, forms post only to us, styles only the hashed sheet."""
    return (
        "default-src 'none'; "
        f"style-src {style_source}; "
        "img-src https: data:; "
        "form-action 'self'; "
        "frame-ancestors 'none'; "
        "base-uri 'none'"
    )


ARCHIVE_POLICY = (
    "default-src 'none'; "
    "style-src 'unsafe-inline'; "
    "img-src https: data:; "
    "form-action 'none'; "
    "frame-ancestors 'none'; "
    "base-uri 'none'"
)
"""The web version of an email keeps the email's inline styles; still no scripts."""


class SecurityHeaders:
    """Adds the security headers to every response, keeping any a route set itself."""

    def __init__(self, app: ASGIApp, *, content_security_policy: str) -> None:
        self.app = app
        self.defaults = (
            ("Content-Security-Policy", content_security_policy),
            ("Referrer-Policy", "no-referrer"),
            ("X-Robots-Tag", "noindex, nofollow"),
            ("X-Content-Type-Options", "nosniff"),
            ("X-Frame-Options", "DENY"),
            ("Cross-Origin-Opener-Policy", "same-origin"),
            ("Cache-Control", NO_STORE),
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in self.defaults:
                    headers.setdefault(name, value)
            await send(message)

        await self.app(scope, receive, send_with_headers)


class CsrfTokens:
    """Cookieless CSRF tokens: a signature over the link token of the page."""

    def __init__(self, secrets: Sequence[str]) -> None:
        self._serializer = URLSafeSerializer(list(reversed(secrets)), salt="newsletter.csrf")

    @staticmethod
    def _binding(link_token: str) -> str:
        return hashlib.sha256(link_token.encode("utf-8")).hexdigest()[:32]

    def issue(self, link_token: str) -> str:
        return str(self._serializer.dumps(self._binding(link_token)))

    def valid(self, link_token: str, csrf_token: object) -> bool:
        if not isinstance(csrf_token, str) or not csrf_token:
            return False
        try:
            bound = self._serializer.loads(csrf_token)
        except BadSignature:
            return False
        return isinstance(bound, str) and hmac.compare_digest(bound, self._binding(link_token))

    def __repr__(self) -> str:
        return "CsrfTokens(<secrets hidden>)"


def cross_site(request: Request) -> bool:
    """True when the browser says the form was posted from another site."""
    return request.headers.get("sec-fetch-site", "").lower() in {"cross-site", "same-site"}
