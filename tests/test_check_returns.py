"""The returns family: a local send with no bounce mailbox is warned about."""

from __future__ import annotations

from conftest import TEST_SECRET, without_bounce_address
from typer.testing import CliRunner

from newsletter import checks
from newsletter.campaigns import load_issue
from newsletter.checks import Severity
from newsletter.cli import app
from newsletter.config import load_settings
from newsletter.providers.local import LocalProvider
from newsletter.providers.memory import MemoryProvider

RULE = "returns.no-bounce-address"


def _findings(provider, example_file):
    issue = load_issue(example_file, provider.settings)
    return [f for f in checks.findings(provider.check_input(issue)) if f.family == "returns"]


def test_the_local_provider_without_a_bounce_address_is_warned(project_dir, example_file):
    without_bounce_address(project_dir)
    settings = load_settings(project_dir / "newsletter.yaml", secret=TEST_SECRET)
    with LocalProvider(settings) as provider:
        (finding,) = _findings(provider, example_file)
    assert finding.rule == RULE
    assert finding.severity is Severity.WARNING
    assert "bounce_address" in finding.fix


def test_a_bounce_address_or_a_provider_that_reads_bounces_itself_is_not_warned(
    project_dir, example_file
):
    with_mailbox = load_settings(
        project_dir / "newsletter.yaml", secret=TEST_SECRET, bounce_address="b@example.org"
    )
    with LocalProvider(with_mailbox) as provider:
        assert _findings(provider, example_file) == []
    assert _findings(MemoryProvider(with_mailbox), example_file) == []


def test_the_rule_is_listed_and_can_be_skipped(project_dir, example_file, monkeypatch):
    without_bounce_address(project_dir)
    monkeypatch.setenv("NEWSLETTER_SECRET", TEST_SECRET)
    runner = CliRunner()
    listed = runner.invoke(app, ["check", "--rules"])
    assert RULE in listed.output
    shown = runner.invoke(app, ["check", str(example_file)])
    assert RULE in shown.output, shown.output
    assert shown.exit_code == 0, "a warning does not fail the check"
    assert checks.waivers([RULE]) == frozenset({RULE})
