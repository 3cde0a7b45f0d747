"""Providers are registered once: a new entry reaches the settings, the commands and the
merge tags with no other edit, and `newsletter --help` stays quick: no provider is loaded."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import REPO
from pigeon_provider import PIGEON_TAGS, PigeonProvider
from typer.testing import CliRunner

from newsletter.cli import app
from newsletter.config import load_settings
from newsletter.errors import CampaignError, ConfigError
from newsletter.preview import PreviewSource
from newsletter.providers import get_provider, provider_names
from newsletter.providers.base import Provider
from newsletter.providers.registry import (
    PROVIDERS,
    ProviderEntry,
    merge_tag_names,
    merge_tags_of,
)
from newsletter.render.merge import LOCAL_TAGS

runner = CliRunner()


@pytest.fixture
def pigeon(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A throw-away provider entry, removed again after the test."""
    entry = ProviderEntry(
        "pigeon_provider:PigeonProvider",
        "carrier pigeons",
        merge_tags="pigeon_provider:PIGEON_TAGS",
    )
    monkeypatch.setitem(PROVIDERS, "pigeon", entry)
    PigeonProvider.opened.clear()
    yield "pigeon"
    PigeonProvider.opened.clear()


def _choose_provider(project_dir: Path, name: str) -> tuple[int, int]:
    """Write ``provider: NAME`` into newsletter.yaml; the line and column of NAME."""
    project = project_dir / "newsletter.yaml"
    lines = project.read_text(encoding="utf-8").splitlines(keepends=True)
    number = next(i for i, line in enumerate(lines) if line.startswith("provider:"))
    lines[number] = f"provider: {name}\n"
    project.write_text("".join(lines), encoding="utf-8")
    return number + 1, len("provider: ") + 1


# --- the built-in entries ------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(PROVIDERS))
def test_each_entry_names_its_class_and_that_class_its_tags(settings, name):
    with get_provider(settings, name) as provider:
        assert isinstance(provider, Provider)
        assert provider.name == name
        assert provider.merge_tags == merge_tags_of(name)


def test_merge_tag_choices_are_the_providers_with_tags_of_their_own():
    assert merge_tag_names() == ["local", "mailchimp"]
    assert merge_tags_of(None) is LOCAL_TAGS
    assert merge_tags_of("memory") is LOCAL_TAGS
    for name in merge_tag_names():
        assert merge_tags_of(name).name == name  # the golden files are named after it


def test_help_and_mailchimp_tags_load_no_provider_and_no_httpx():
    code = textwrap.dedent(
        """
        import sys
        import newsletter.providers.mailchimp.tags
        from newsletter.cli import app
        try:
            app(["--help"])
        except SystemExit:
            pass
        heavy = {"httpx", "newsletter.providers.mailchimp.provider", "newsletter.providers.local"}
        print("LOADED", sorted(heavy & set(sys.modules)))
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"},
        check=True,
    )
    assert result.stdout.splitlines()[-1] == "LOADED []"


# --- a new entry is all a provider needs -------------------------------------------


def test_a_registered_provider_is_found_by_name(settings, pigeon):
    assert pigeon in provider_names()
    with get_provider(settings, pigeon) as provider:
        assert isinstance(provider, PigeonProvider)


def test_a_registered_provider_is_a_valid_project_setting(project_dir, pigeon):
    _choose_provider(project_dir, pigeon)
    settings = load_settings(project_dir / "newsletter.yaml")
    assert settings.provider == pigeon
    with get_provider(settings) as provider:
        assert isinstance(provider, PigeonProvider)


def test_a_registered_provider_is_taken_by_provider_option(project_dir, pigeon):
    result = runner.invoke(app, ["audience", "add", "ana@example.org", "--provider", pigeon])
    assert result.exit_code == 0, result.output
    assert result.stdout == "Added ana@example.org\n"
    [provider] = PigeonProvider.opened
    assert provider.find_by_email("ana@example.org") is not None


def test_a_registered_providers_merge_tags_are_kept_by_render(project_dir, example_file, pigeon):
    result = runner.invoke(
        app, ["render", str(example_file), "--out", "out", "--merge-tags", pigeon]
    )
    assert result.exit_code == 0, result.output
    html = (project_dir / "out" / "winter-2026.html").read_text(encoding="utf-8")
    assert f'href="{PIGEON_TAGS.slots["unsubscribe_url"]}"' in html
    assert "%%if first_name%%Dear %%pigeon.first_name%%,%%else%%Dear colleague,%%end%%" in html
    assert "[[nl:" not in html


def test_a_registered_providers_merge_tags_are_kept_by_preview(project_dir, example_file, pigeon):
    rendering = PreviewSource(example_file, project_dir / "newsletter.yaml", pigeon).current()
    assert rendering.errors == ()
    assert PIGEON_TAGS.slots["unsubscribe_url"] in rendering.html


# --- names that are not registered -----------------------------------------------------


def test_an_unknown_provider_in_the_project_file_is_one_located_line(project_dir, example_file):
    line, column = _choose_provider(project_dir, "brevo")
    result = runner.invoke(app, ["validate", str(example_file)])
    assert result.exit_code == 1
    assert result.stderr == (
        f"newsletter.yaml:{line}:{column}: provider: unknown provider 'brevo'; "
        "it is one of: local, mailchimp, memory\n"
    )


def test_a_misspelt_provider_gets_a_suggestion(project_dir):
    line, column = _choose_provider(project_dir, "mailchimps")
    with pytest.raises(CampaignError) as raised:
        load_settings(project_dir / "newsletter.yaml")
    assert raised.value.lines == [
        f"{project_dir / 'newsletter.yaml'}:{line}:{column}: provider: unknown provider "
        "'mailchimps'; it is one of: local, mailchimp, memory; did you mean 'mailchimp'?"
    ]


def test_an_unknown_provider_option_is_refused_in_one_line(project_dir):
    result = runner.invoke(app, ["audience", "list", "--provider", "brevo"])
    assert result.exit_code == 2
    assert result.stderr == (
        "error: unknown provider 'brevo'; it is one of: local, mailchimp, memory\n"
    )


def test_get_provider_refuses_an_unknown_name(settings):
    with pytest.raises(ConfigError, match="unknown provider 'brevo'"):
        get_provider(settings, "brevo")


@pytest.mark.parametrize("name", ["memory", "pigeon"])
def test_merge_tags_option_takes_only_providers_with_tags_of_their_own(example_file, name):
    result = runner.invoke(app, ["render", str(example_file), "--merge-tags", name])
    assert result.exit_code == 2
    assert f"'{name}' is not one of 'local', 'mailchimp'." in result.stderr
