"""Writing an issue: ``new``, ``validate``, ``render`` and ``preview``."""

from __future__ import annotations

import contextlib
import webbrowser
from pathlib import Path
from typing import Annotated

import typer

from newsletter import checks
from newsletter.campaigns import campaign_path, load_issue
from newsletter.checks import Finding, Severity
from newsletter.cli.app import app
from newsletter.cli.options import MergeTagsOption, ProjectOption, settings_for
from newsletter.config import Settings
from newsletter.errors import CampaignError, ConfigError, RenderError
from newsletter.models import Issue
from newsletter.preview import PreviewServer, PreviewSource, bind
from newsletter.providers.registry import merge_tags_of
from newsletter.render.compile import CompiledIssue, compile_issue, sample_recipient
from newsletter.scaffold import scaffold_issue


@app.command()
def new(
    slug: Annotated[str, typer.Argument(help="Short name of the issue, e.g. 2027-01-briefing.")],
    project: ProjectOption = None,
    force: Annotated[bool, typer.Option(help="Overwrite an existing file.")] = False,
) -> None:
    """Start a new issue: writes campaigns/SLUG.yaml with one section of each type.

    Example: newsletter new 2027-01-briefing
    """
    settings = settings_for(project)
    path = campaign_path(settings, slug)
    written = scaffold_issue(path, slug, settings, overwrite=force)
    typer.echo(f"Wrote {written}. Edit it, then run: newsletter validate {written}")


@app.command()
def validate(
    files: Annotated[list[Path], typer.Argument(help="Campaign files to check.")],
    project: ProjectOption = None,
) -> None:
    """Check campaign files; prints every problem as FILE:LINE:COL: field: message.

    Example: newsletter validate campaigns/*.yaml
    """
    settings = settings_for(project)
    problems: list[str] = []
    for path in files:
        try:
            issue = load_issue(path, settings)
            compiled = compile_issue(issue, settings)
        except CampaignError as exc:
            problems.extend(exc.lines)
            continue
        except RenderError as exc:
            problems.append(f"{path}: {exc}")
            continue
        found = _size_findings(issue, compiled, settings)
        errors = [f for f in found if f.severity is Severity.ERROR]
        if errors:
            problems.extend(f"{path}: {f.message}" for f in errors)
            continue
        typer.echo(f"ok  {path}  ({len(issue.sections)} sections)")
        for finding in found:
            typer.echo(f"warning: {path}: {finding.message}", err=True)
    if files and not problems:
        typer.echo("Run `newsletter check FILE` for every pre-send check.")
    if problems:
        typer.echo("\n".join(problems), err=True)
        raise typer.Exit(1)


@app.command()
def render(
    file: Annotated[Path, typer.Argument(help="The campaign file.")],
    out: Annotated[Path, typer.Option("--out", help="Folder to write into.")] = Path("build"),
    merge_tags: MergeTagsOption = None,
    project: ProjectOption = None,
) -> None:
    """Render an issue to OUT/SLUG.html, OUT/SLUG.txt and OUT/SLUG.mjml.

    Without --merge-tags the recipient's details are filled with a sample reader.

    Example: newsletter render campaigns/winter-2026.yaml --out build
    """
    settings = settings_for(project)
    issue = load_issue(file, settings)
    compiled = compile_issue(issue, settings, merge_tags_of(merge_tags))
    html, text = compiled.html, compiled.text
    if merge_tags is None:
        html, text = compiled.personalise(sample_recipient(settings, issue.slug), settings.greeting)
    try:
        out.mkdir(parents=True, exist_ok=True)
        written = {
            "html": _write(out / f"{issue.slug}.html", html),
            "txt": _write(out / f"{issue.slug}.txt", text),
            "mjml": _write(out / f"{issue.slug}.mjml", compiled.mjml),
        }
    except OSError as exc:
        raise ConfigError(f"{out}: cannot write: {exc.strerror}") from None
    for path, size in written.values():
        typer.echo(f"{path}  {_kb(size)}")
    found = _size_findings(issue, compiled, settings)
    errors = [f.message for f in found if f.severity is Severity.ERROR]
    if errors:
        raise RenderError("; ".join(errors))
    for finding in found:
        typer.echo(f"warning: {finding.message}", err=True)


def _size_findings(issue: Issue, compiled: CompiledIssue, settings: Settings) -> list[Finding]:
    """``validate`` and ``render`` refuse what Gmail would clip; ``check`` does the rest."""
    tags = merge_tags_of(compiled.merge_tags)
    check = checks.CheckInput(issue, compiled, settings, checks.Delivery(tags.name, tags, False))
    return checks.findings(check, families=("size",))


def _write(path: Path, content: str) -> tuple[Path, int]:
    data = content.encode("utf-8")
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_bytes(data)
    temporary.replace(path)
    return path, len(data)


def _kb(size: int) -> str:
    return f"{size / 1024:.1f} KB"


@app.command()
def preview(
    file: Annotated[Path, typer.Argument(help="The campaign file.")],
    port: Annotated[
        int | None,
        typer.Option(help="Port on 127.0.0.1 (default: a free one).", show_default=False),
    ] = None,
    open_browser: Annotated[
        bool, typer.Option("--open/--no-open", help="Open the preview in a web browser.")
    ] = True,
    merge_tags: MergeTagsOption = None,
    project: ProjectOption = None,
) -> None:
    """Serve the rendered issue on 127.0.0.1: desktop and phone widths and the text part.

    The page follows the campaign file, the project file and the templates: save any of
    them and it shows the new render, or the file's problems. Stop it with Ctrl-C.

    Example: newsletter preview campaigns/winter-2026.yaml --no-open
    """
    if not file.is_file():
        raise CampaignError([f"{file}: no such file"])
    with contextlib.suppress(CampaignError):
        settings_for(project)  # a missing project file stops here; a bad one shows on the page
    source = PreviewSource(file, project, merge_tags)
    source.current()
    server = PreviewServer(source, bind(port))
    typer.echo(f"Previewing {file} at {server.url}  (Ctrl-C to stop)")
    if open_browser:
        webbrowser.open(server.url)
    server.run()
