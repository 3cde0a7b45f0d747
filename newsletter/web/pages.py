"""The preference centre's HTML pages, from ``templates/web/`` in the project.

Pages use the project's one Jinja2 environment (autoescaped) and the brand from
``newsletter.yaml``. The stylesheet is rendered once, inlined in every page and allowed
by its hash in the Content-Security-Policy: one request per page, no ``'unsafe-inline'``.
"""

from __future__ import annotations

import re
from typing import Any

import jinja2
from markupsafe import Markup
from starlette.responses import HTMLResponse

from newsletter.config import Settings
from newsletter.errors import RenderError
from newsletter.render import templating
from newsletter.web.security import NO_STORE, page_policy, style_hash

PAGES = (
    "unsubscribe",
    "unsubscribed",
    "preferences",
    "about",
    "not_found",
    "forbidden",
    "unavailable",
)
_CSS_UNSAFE = re.compile(r"[<>{};\\]")


def css_value(value: str) -> Markup:
    """A brand value (a font list) made safe to place inside a stylesheet."""
    return Markup(_CSS_UNSAFE.sub("", value))


class Pages:
    def __init__(self, settings: Settings, about_url: str) -> None:
        templates_dir = settings.resolve(settings.templates_dir).resolve()
        env = templating.environment(templates_dir)
        try:
            self._templates = {name: env.get_template(f"web/{name}.html.j2") for name in PAGES}
            css = env.get_template("web/site.css.j2").render(
                brand=settings.brand, font=css_value(settings.brand.font)
            )
        except jinja2.TemplateNotFound as exc:
            raise RenderError(f"{templates_dir / str(exc)}: template not found") from None
        except jinja2.TemplateSyntaxError as exc:
            raise RenderError(
                f"{exc.filename}:{exc.lineno}: template error: {exc.message}"
            ) from None
        self.css = css
        self.content_security_policy = page_policy(style_hash(css))
        organisation = settings.organisation
        self._common: dict[str, Any] = {
            "css": Markup(css),
            "brand": settings.brand,
            "organisation": organisation,
            "logo": organisation.logo,
            "language": settings.language,
            "direction": settings.direction,
            "audience": settings.audience,
            "topics": settings.topics,
            "about_url": about_url,
        }

    def render(self, name: str, *, status_code: int = 200, **context: Any) -> HTMLResponse:
        try:
            html = self._templates[name].render(**self._common, **context)
        except jinja2.UndefinedError as exc:
            raise RenderError(f"web/{name}.html.j2: template error: {exc.message}") from None
        return HTMLResponse(html, status_code=status_code, headers={"Cache-Control": NO_STORE})
