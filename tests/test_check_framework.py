"""``newsletter check`` as a whole: where findings point, the JSON document, and
``--skip-check`` kept with the campaign for ``send`` and ``run-due``."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import jsonschema
import pytest
from big_issue import big_issue
from conftest import TEST_SECRET
from smtp_sink import maildir_messages
from typer.testing import CliRunner

from newsletter import checks
from newsletter.campaigns import load_located
from newsletter.checks.findings import Source
from newsletter.checks.report import SCHEMA_PATH
from newsletter.cli import app
from newsletter.config import load_settings
from newsletter.errors import CheckFailed
from newsletter.providers.base import MemberInput
from newsletter.providers.local import LocalProvider
from newsletter.scheduler import Outcome, run_due

SCHEMA = json.loads(SCHEMA_PATH.read_text())


def _local(project_dir: Path, clock=None) -> LocalProvider:
    settings = load_settings(project_dir / "newsletter.yaml", secret=TEST_SECRET)
    provider = LocalProvider(settings, clock=clock) if clock else LocalProvider(settings)
    provider.import_members([MemberInput("ana@example.org", "Ana", "", frozenset({"events"}))])
    return provider


def _line_of(path: Path, text: str) -> int:
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        if text in line:
            return number
    raise AssertionError(f"{text!r} is not in {path}")


def test_the_example_is_ready_to_send_and_its_json_follows_the_schema(project_dir, example_file):
    _local(project_dir)
    result = CliRunner().invoke(app, ["check", str(example_file), "--format", "json"])
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    jsonschema.validate(document, SCHEMA)
    assert document["ok"] is True
    assert document["counts"] == {"error": 0, "warning": 0, "note": 0}, document["findings"]
    assert document["reach"]["reached"] == 1


def test_the_schema_refuses_a_document_that_breaks_it():
    broken = {"version": 1, "file": "x", "slug": "x", "provider": "local", "ok": "yes"}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, SCHEMA)


def test_an_element_is_traced_to_the_field_and_line_that_wrote_it(project_dir, example_file):
    provider = _local(project_dir)
    located = load_located(example_file, provider.settings)
    check = provider.check_input(located.issue, source=located.source)
    url = "https://www.example.org/reviews/safer-sleep"
    button = next(a for a in check.elements("a") if a.get("href") == url)
    place = check.place_of(button, url)
    assert place.field == ("sections", 0, "button", "url")
    assert check.line_of(place) == _line_of(example_file, f"url: {url}")
    footer_link = next(a for a in check.elements("a") if "unsubscribe_url" in a.get("href", ""))
    footer = check.place_of(footer_link)
    assert footer.source is Source.TEMPLATE and footer.name == "footer.mjml.j2"


def _check(project_dir: Path, example_file: Path) -> checks.CheckInput:
    provider = _local(project_dir)
    located = load_located(example_file, provider.settings)
    return provider.check_input(located.issue, source=located.source)


def test_the_header_link_is_the_templates_though_its_address_starts_an_image_url(
    project_dir, example_file
):
    check = _check(project_dir, example_file)
    website = check.settings.organisation.website
    assert check.issue.sections[0].image.src.startswith(website)
    header = next(a for a in check.elements("a") if a.get("href") == website)
    place = check.place_of(header, website)
    assert place.source is Source.TEMPLATE and place.name == "newsletter.mjml.j2"


def test_a_field_that_is_the_whole_value_wins_and_a_url_counts_only_whole(
    project_dir, example_file
):
    intro = "  you to the learning and tools that help you keep children safe in your area.\n"
    extra = (
        "  [The review](https://www.example.org/reviews/safer-sleep) and our site,\n"
        "  <https://www.example.org>, with the guides at https://www.example.org/guides.\n"
    )
    source = example_file.read_text(encoding="utf-8")
    example_file.write_text(source.replace(intro, intro + extra), encoding="utf-8")
    check = _check(project_dir, example_file)
    review = "https://www.example.org/reviews/safer-sleep"
    assert check.field_holding([review]) == ("sections", 0, "button", "url")
    assert check.field_holding(["https://www.example.org"]) == ("intro",)
    assert check.field_holding(["https://www.example.org/reviews"]) is None
    assert check.field_holding(["https://www.example.org/guides"]) == ("intro",)
    assert check.field_holding(["https://www.example.org/guide"]) is None
    assert check.field_holding(["  Practice spotlight "]) == ("sections", 0, "kicker")
    assert check.field_holding(["safe in your area"]) == ("intro",)


def test_an_error_is_one_line_with_file_rule_and_fix_and_exit_1(project_dir):
    huge = big_issue(project_dir / "campaigns" / "huge.yaml", 330, slug="huge")
    result = CliRunner().invoke(app, ["check", str(huge)])
    assert result.exit_code == 1
    first = result.stdout.splitlines()[0]
    assert first.startswith(f"{huge}: error [size.clipped] the HTML is ")
    assert "; fix: shorten the issue" in first
    assert result.stdout.splitlines()[-1].endswith("not ready: fix the errors or --skip-check RULE")


def test_an_unknown_rule_to_skip_is_refused_in_one_line(project_dir, example_file):
    result = CliRunner().invoke(
        app, ["send", str(example_file), "--yes", "--skip-check", "size.enormous"]
    )
    assert result.exit_code == 2
    assert "--skip-check size.enormous: no such rule or family" in result.stderr
    assert "Traceback" not in result.output


def test_every_rule_is_listed_with_why_it_matters():
    result = CliRunner().invoke(app, ["check", "--rules"])
    assert result.exit_code == 0
    for rule in checks.rules().values():
        assert any(
            line.startswith(rule.id) and rule.why in line for line in result.stdout.splitlines()
        )


def test_a_skipped_check_lets_the_send_through_and_is_recorded(monkeypatch, project_dir):
    monkeypatch.setenv("NEWSLETTER_SECRET", TEST_SECRET)
    _local(project_dir)
    huge = big_issue(project_dir / "campaigns" / "huge.yaml", 330, slug="huge")
    runner = CliRunner()
    refused = runner.invoke(app, ["send", str(huge), "--yes"])
    assert refused.exit_code == 1 and "size.clipped" in refused.stderr
    assert maildir_messages(project_dir) == []
    sent = runner.invoke(app, ["send", str(huge), "--yes", "--skip-check", "size"])
    assert sent.exit_code == 0, sent.output
    assert "skipped check [size.clipped]" in sent.stderr
    assert len(maildir_messages(project_dir)) == 1
    status = json.loads(runner.invoke(app, ["status", str(huge), "--format", "json"]).stdout)
    assert status[0]["skipped_checks"] == ["size"]


class _At:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def test_run_due_sends_with_the_exceptions_it_was_scheduled_with(project_dir):
    clock = _At(datetime(2027, 1, 10, 12, 0, tzinfo=UTC))
    provider = _local(project_dir, clock)
    huge = big_issue(project_dir / "campaigns" / "huge.yaml", 330, slug="huge")
    issue = load_located(huge, provider.settings).issue
    at = datetime(2027, 1, 14, 9, 0, tzinfo=UTC)
    with pytest.raises(CheckFailed, match=r"size\.clipped"):
        provider.schedule(issue, at)
    provider.schedule(issue, at, skip=frozenset({"size.clipped"}))
    assert provider.skipped_checks("huge") == {"size.clipped"}
    clock.now = at
    results = run_due(provider, at)
    assert [result.outcome for result in results] == [Outcome.SENT]
    assert len(maildir_messages(project_dir)) == 1
