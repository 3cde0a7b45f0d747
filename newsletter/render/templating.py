"""The Jinja2 environment: one per templates folder, autoescaped, undefined is an error."""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo

import jinja2

from newsletter.errors import RenderError
from newsletter.render.markdown import TEXT_WIDTH, markdown_html, markdown_text, wrap_words

TEXT_SUFFIX = ".txt.j2"


def _autoescape(name: str | None) -> bool:
    return not (name or "").endswith(TEXT_SUFFIX)


@lru_cache(maxsize=8)
def environment(templates_dir: Path) -> jinja2.Environment:
    """Templates are compiled once; ``forget_templates`` drops them after an edit (preview)."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(templates_dir)),
        autoescape=_autoescape,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        auto_reload=False,
    )
    env.filters["markdown"] = markdown_html
    env.filters["markdown_text"] = markdown_text
    env.filters["underline"] = underline
    env.filters["when"] = when
    env.filters["wrap"] = wrap
    env.globals["TEXT_WIDTH"] = TEXT_WIDTH
    return env


def forget_templates() -> None:
    """Read every template again on next use: ``preview`` calls this when a file changes."""
    environment.cache_clear()


def render(templates_dir: Path, name: str, **context: object) -> str:
    try:
        return environment(templates_dir.resolve()).get_template(name).render(**context)
    except jinja2.TemplateNotFound as exc:
        raise RenderError(f"{templates_dir / str(exc)}: template not found") from None
    except jinja2.TemplateSyntaxError as exc:
        raise RenderError(f"{exc.filename}:{exc.lineno}: template error: {exc.message}") from None
    except jinja2.TemplateError as exc:
        raise RenderError(f"{templates_dir / name}: template error: {exc.message}") from None


def wrap(text: str, indent: str = "  ", width: int = TEXT_WIDTH) -> str:
    """Wrap plain text; continuation lines take ``indent``; URLs are never broken."""
    return "\n".join(wrap_words(text, width, "", indent))


def underline(text: str, char: str = "=") -> str:
    return f"{text}\n{char * min(len(text), TEXT_WIDTH)}"


def when(start: datetime, end: datetime | None, zone: ZoneInfo) -> str:
    """``Tuesday 4 August 2026, 10:00–12:30 BST``; a multi-day event names both days."""
    start = start.astimezone(zone)
    day = f"{start:%A} {start.day} {start:%B %Y}"
    if end is None:
        return f"{day}, {start:%H:%M} {start:%Z}"
    end = end.astimezone(zone)
    if end.date() == start.date():
        return f"{day}, {start:%H:%M}–{end:%H:%M} {end:%Z}"
    return f"{day}, {start:%H:%M} – {end:%A} {end.day} {end:%B %Y}, {end:%H:%M} {end:%Z}"
