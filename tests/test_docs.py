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


def _registered(group: object = None, prefix: str = "") -> set[str]:
    """Every command, sub-commands as ``audience import``."""
    group = group or typer.main.get_command(app)
    names = set()
    for name, command in group.commands.items():  # type: ignore[attr-defined]
        names.add(f"{prefix}{name}")
        if hasattr(command, "commands"):
            names |= _registered(command, f"{prefix}{name} ")
    return names


def _shown_in_readme() -> set[str]:
    """Every ``newsletter X`` (and ``newsletter X Y`` for a group) the README shows."""
    groups = {name.partition(" ")[0] for name in _registered() if " " in name}
    shown = set()
    for first, second in re.findall(r"`newsletter ([a-z][a-z-]*)(?: ([a-z][a-z-]*))?", README):
        shown.add(f"{first} {second}" if first in groups and second else first)
    return shown


def test_every_command_in_the_readme_exists():
    missing = _shown_in_readme() - _registered()
    assert not missing, f"the README shows commands that do not exist: {sorted(missing)}"


def test_every_command_is_documented_in_the_readme():
    undocumented = _registered() - _shown_in_readme()
    assert not undocumented, f"commands missing from the README: {sorted(undocumented)}"


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


def test_the_readme_lists_every_check_rule_with_its_severity():
    from newsletter import checks

    table = README[README.index("<!-- rules:start -->") : README.index("<!-- rules:end -->")]
    rows = dict(re.findall(r"^\| `([a-z]+\.[a-z0-9-]+)` \| ([^|]+) \|", table, re.M))
    known = checks.rules()
    assert sorted(rows) == sorted(known), "the README's rules table and the code disagree"
    for rule_id, rule in known.items():
        worst = rows[rule_id].split(",")[0].split()[0]
        said = "error" if "error" in rows[rule_id] else worst
        assert said == rule.severity.value, f"{rule_id}: the README says {rows[rule_id]!r}"
