"""Providers are registered once: a new entry reaches the settings and the commands with
no other edit."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from pigeon_provider import PigeonProvider
from typer.testing import CliRunner

from newsletter.cli import app
from newsletter.config import load_settings
from newsletter.errors import CampaignError, ConfigError
from newsletter.providers import get_provider, provider_names
from newsletter.providers.base import Provider
from newsletter.providers.registry import PROVIDERS, ProviderEntry

runner = CliRunner()


@pytest.fixture
def pigeon(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A throw-away provider entry, removed again after the test."""
    entry = ProviderEntry("pigeon_provider:PigeonProvider", "carrier pigeons")
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
def test_each_entry_names_its_class(settings, name):
    with get_provider(settings, name) as provider:
        assert isinstance(provider, Provider)
        assert provider.name == name


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
