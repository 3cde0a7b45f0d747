"""``newsletter preview``: the rendered issue in a browser, re-rendered as files change.

The page shows the email at desktop width and at phone width (375 px) beside its
plain-text part. It polls ``/version``; the version changes whenever the campaign file,
the project file or any template changes, and then the frames reload. A file that does
not validate shows its one-line errors on the page; the server keeps running.
"""

from __future__ import annotations

import hashlib
import socket
import threading
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import jinja2
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from newsletter.campaigns import load_issue
from newsletter.config import Settings, find_project_file, load_settings
from newsletter.errors import CampaignError, ConfigError, NewsletterError
from newsletter.providers.registry import merge_tags_of
from newsletter.render.compile import compile_issue, sample_recipient
from newsletter.render.templating import forget_templates

PHONE_WIDTH = 375
POLL_MILLISECONDS = 700


@dataclass(frozen=True)
class Rendering:
    """One render of the issue, or the reasons it could not be rendered."""

    version: str
    html: str = ""
    text: str = ""
    subject: str = ""
    errors: tuple[str, ...] = ()
    html_bytes: int = 0


class PreviewSource:
    """Renders the campaign file again only when a file it depends on has changed."""

    def __init__(
        self, campaign: Path, project_file: Path | None = None, merge_tags: str | None = None
    ) -> None:
        self.campaign = campaign
        self.project_file = find_project_file(project_file)
        self.merge_tags = merge_tags
        self._lock = threading.Lock()
        self._stamp: tuple[tuple[str, int, int], ...] | None = None
        self._rendering = Rendering(version="")
        self._templates: Path | None = None

    def current(self) -> Rendering:
        with self._lock:
            stamp = self._files_stamp()
            if stamp != self._stamp:
                forget_templates()
                self._rendering = self._render(_version(stamp))
                self._stamp = stamp
            return self._rendering

    def _files_stamp(self) -> tuple[tuple[str, int, int], ...]:
        """Name, size and modification time of every file the render reads."""
        files = [self.campaign, self.project_file, self.project_file.parent / ".env"]
        templates = self._templates_dir()
        if templates.is_dir():
            files.extend(sorted(p for p in templates.rglob("*") if p.is_file()))
        stamp = []
        for path in files:
            try:
                info = path.stat()
            except OSError:
                stamp.append((str(path), -1, -1))
                continue
            stamp.append((str(path), info.st_size, info.st_mtime_ns))
        return tuple(stamp)

    def _templates_dir(self) -> Path:
        return self._templates or self.project_file.resolve().parent / "templates"

    def _render(self, version: str) -> Rendering:
        try:
            settings = load_settings(self.project_file)
            self._templates = settings.resolve(settings.templates_dir)
            return _render_issue(self.campaign, settings, self.merge_tags, version)
        except CampaignError as exc:
            return Rendering(version=version, errors=tuple(exc.lines))
        except NewsletterError as exc:
            return Rendering(version=version, errors=(str(exc),))


def _render_issue(
    campaign: Path, settings: Settings, merge_tags: str | None, version: str
) -> Rendering:
    issue = load_issue(campaign, settings)
    compiled = compile_issue(issue, settings, merge_tags_of(merge_tags))
    body, text = compiled.html, compiled.text
    if merge_tags is None:
        body, text = compiled.personalise(sample_recipient(settings, issue.slug), settings.greeting)
    return Rendering(
        version=version,
        html=body,
        text=text,
        subject=compiled.subject,
        html_bytes=compiled.html_bytes,
    )


def _version(stamp: tuple[tuple[str, int, int], ...]) -> str:
    return hashlib.sha256(repr(stamp).encode()).hexdigest()[:16]


def create_app(source: PreviewSource) -> Starlette:
    async def page(request: Request) -> Response:
        return HTMLResponse(_page(source.campaign, source.current()))

    async def email_html(request: Request) -> Response:
        rendering = source.current()
        if rendering.errors:
            return HTMLResponse(_errors_html(rendering.errors), status_code=422)
        return HTMLResponse(rendering.html)

    async def email_text(request: Request) -> Response:
        rendering = source.current()
        if rendering.errors:
            return PlainTextResponse("\n".join(rendering.errors) + "\n", status_code=422)
        return PlainTextResponse(rendering.text)

    async def version(request: Request) -> Response:
        rendering = source.current()
        return JSONResponse(
            {
                "version": rendering.version,
                "errors": list(rendering.errors),
                "subject": rendering.subject,
                "html_bytes": rendering.html_bytes,
            }
        )

    return Starlette(
        routes=[
            Route("/", page),
            Route("/email.html", email_html),
            Route("/email.txt", email_text),
            Route("/version", version),
        ]
    )


@lru_cache(maxsize=1)
def _pages() -> jinja2.Environment:
    """The preview's own pages, shipped in the package (not the project's templates)."""
    return jinja2.Environment(
        loader=jinja2.PackageLoader("newsletter", "pages"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )


def _errors_html(errors: tuple[str, ...]) -> str:
    return _pages().get_template("preview_errors.html.j2").render(errors=errors)


def _page(campaign: Path, rendering: Rendering) -> str:
    size = f"{rendering.html_bytes / 1024:.1f} KB of HTML" if rendering.html_bytes else ""
    return (
        _pages()
        .get_template("preview.html.j2")
        .render(
            title=rendering.subject or campaign.name,
            file=str(campaign),
            size=size,
            errors=rendering.errors,
            version=rendering.version,
            poll=POLL_MILLISECONDS,
            phone=PHONE_WIDTH,
        )
    )


def bind(port: int | None) -> socket.socket:
    """A listening socket on 127.0.0.1; port None or 0 picks a free one."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(("127.0.0.1", port or 0))
    except OSError as exc:
        sock.close()
        raise ConfigError(f"cannot listen on 127.0.0.1:{port}: {exc.strerror}") from None
    sock.listen(64)
    return sock


class PreviewServer:
    """A uvicorn server for one preview, on a socket that is already listening."""

    def __init__(self, source: PreviewSource, sock: socket.socket) -> None:
        self.sock = sock
        config = uvicorn.Config(create_app(source), log_level="warning", lifespan="off")
        self.server = uvicorn.Server(config)

    @property
    def url(self) -> str:
        host, port = self.sock.getsockname()[:2]
        return f"http://{host}:{port}/"

    def run(self) -> None:
        """Serve until interrupted (Ctrl-C) or ``stop()``."""
        self.server.run(sockets=[self.sock])

    def stop(self) -> None:
        self.server.should_exit = True
