"""The README's examples are true: its campaign file validates, its commands exist."""

from __future__ import annotations

import re

import typer
from conftest import REPO

from newsletter.campaigns import load_issue
from newsletter.cli import app

README = (REPO / "README.md").read_text(encoding="utf-8")


def test_readme_campaign_example_validates(settings, tmp_path):
    section = README.split("### The campaign file, field by field", 1)[1]
    example = section.split("```yaml\n", 1)[1].split("```", 1)[0]
    path = tmp_path / "readme-example.yaml"
    path.write_text(example, encoding="utf-8")
    issue = load_issue(path, settings)
    assert [s.type for s in issue.sections] == ["article", "news", "event", "cta"]
    assert issue.send_at is not None and issue.send_at.tzinfo == settings.zone


def test_readme_documents_every_section_type_and_field():
    from newsletter.models import Article, CallToAction, Event, Issue, News, NewsItem

    for model in (Issue, Article, News, NewsItem, Event, CallToAction):
        for name in model.model_fields:
            assert f"`{name}`" in README, f"{model.__name__}.{name} is not in the README"


def test_readme_documents_the_writing_commands():
    documented = set(re.findall(r"`newsletter ([a-z-]+)", README))
    registered = set(typer.main.get_command(app).commands)  # type: ignore[attr-defined]
    for command in ("new", "validate", "render", "preview"):
        assert command in documented
        assert command in registered


def test_readme_and_env_example_state_the_input_limits_the_code_uses():
    from newsletter.models import MAX_SECTIONS
    from newsletter.yamlfile import DEFAULT_MAX_FILE_BYTES, MAX_DEPTH, MAX_VALUES

    words = " ".join(README.split())
    for phrase in (
        f"`max_file_bytes` (default {DEFAULT_MAX_FILE_BYTES:,} bytes)",
        f"at most {MAX_DEPTH} levels deep",
        f"at most {MAX_VALUES:,} values",
        f"at most {MAX_SECTIONS} sections",
    ):
        assert phrase in words, phrase
    env_example = (REPO / ".env.example").read_text(encoding="utf-8")
    assert f"# NEWSLETTER_MAX_FILE_BYTES={DEFAULT_MAX_FILE_BYTES}\n" in env_example
