"""Compliance rules, read from the compiled issue: each template change that breaks one
is caught and named where it was made, the From domain and DKIM signer are compared with
the organisation's, and the gate stops a send until the rule is fixed or waived."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
import yaml
from conftest import EXAMPLE_SLUG, TEST_SECRET
from mailchimp_support import fake_provider
from typer.testing import CliRunner

from newsletter.campaigns import load_located
from newsletter.checks import CheckInput, Finding, Severity, Source, compliance
from newsletter.checks.report import SCHEMA_PATH
from newsletter.cli import app
from newsletter.config import load_settings
from newsletter.providers import get_provider
from newsletter.providers.local import LocalProvider
from newsletter.providers.mailchimp.fake import FakeMailchimp

FOOTER = Path("templates") / "footer.mjml.j2"
TEXT = Path("templates") / "newsletter.txt.j2"
MAIN = Path("templates") / "newsletter.mjml.j2"
UNSUBSCRIBE = '<a href="{{ slot.unsubscribe_url }}">unsubscribe</a>'
PREFERENCES = '<a href="{{ slot.preferences_url }}">update your preferences</a>'
ABOUT = '<a href="{{ slot.about_url }}">Why did I get this?</a>'
ADDRESS = "{{ tags.address_line or organisation.address_line }}"


def check_input(project_dir: Path, monkeypatch=None, provider: str = "local") -> CheckInput:
    settings = load_settings(project_dir / "newsletter.yaml")
    located = load_located(project_dir / "campaigns" / f"{EXAMPLE_SLUG}.yaml", settings)
    if provider == "mailchimp":
        chosen = fake_provider(settings, monkeypatch, FakeMailchimp())
    else:
        chosen = get_provider(settings, provider)
    with chosen:
        return chosen.check_input(located.issue, source=located.source)


def compliance_findings(project_dir: Path, monkeypatch=None, provider="local") -> list[Finding]:
    found = compliance.findings(check_input(project_dir, monkeypatch, provider))
    known = {rule.id for rule in compliance.RULES}
    assert all(finding.rule in known for finding in found), found
    return found


def override(project_dir: Path, template: Path, old: str, new: str) -> None:
    path = project_dir / template
    source = path.read_text(encoding="utf-8")
    assert old in source, f"{template} no longer holds {old!r}"
    path.write_text(source.replace(old, new), encoding="utf-8")


def only(found: list[Finding], rule: str) -> Finding:
    assert [finding.rule for finding in found] == [rule], found
    assert found[0].severity is Severity.ERROR
    return found[0]


def in_footer(finding: Finding) -> None:
    assert finding.place.source is Source.TEMPLATE
    assert finding.place.name == "footer.mjml.j2"
    assert "templates/footer.mjml.j2" in finding.fix


def in_text_template(finding: Finding) -> None:
    assert finding.place.source is Source.TEMPLATE
    assert finding.place.name == "newsletter.txt.j2"
    assert "templates/newsletter.txt.j2" in finding.fix


def write_project(project_dir: Path, change) -> None:
    path = project_dir / "newsletter.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")


# The example


@pytest.mark.parametrize("provider", ["local", "mailchimp"])
def test_the_example_is_compliant(monkeypatch, project_dir, provider):
    assert compliance_findings(project_dir, monkeypatch, provider) == []


def test_newsletter_check_points_at_the_footer_file(project_dir, example_file):
    override(project_dir, FOOTER, UNSUBSCRIBE, '<a href="{{ slot.unsubscribe_url }}"></a>')
    result = CliRunner().invoke(app, ["check", str(example_file), "--format", "json"])
    assert result.exit_code == 1, result.output
    document = json.loads(result.stdout)
    jsonschema.validate(document, json.loads(SCHEMA_PATH.read_text(encoding="utf-8")))
    [finding] = [f for f in document["findings"] if f["rule"].startswith("compliance.")]
    assert finding["rule"] == "compliance.unsubscribe-link" and finding["severity"] == "error"
    assert Path(finding["file"]) == project_dir / FOOTER
    assert finding["source"] == "template"


# Unsubscribe


def test_a_footer_without_the_unsubscribe_link(project_dir):
    override(project_dir, FOOTER, f" or {UNSUBSCRIBE}", "")
    finding = only(compliance_findings(project_dir), "compliance.unsubscribe-link")
    assert finding.message == "the HTML has no unsubscribe link"
    in_footer(finding)


@pytest.mark.parametrize(
    ("hidden", "reason"),
    [
        (
            '<a href="{{ slot.unsubscribe_url }}" style="display: none">unsubscribe</a>',
            "hidden with display:none",
        ),
        (f'<span style="font-size:0px">{UNSUBSCRIBE}</span>', "its font size is 0px"),
        (f'<span style="font-size: 2pt">{UNSUBSCRIBE}</span>', "its font size is 2.7px"),
        (
            '<a href="{{ slot.unsubscribe_url }}" style="visibility:hidden">unsubscribe</a>',
            "hidden with visibility:hidden",
        ),
        (
            '<a href="{{ slot.unsubscribe_url }}" style="opacity:0">unsubscribe</a>',
            "hidden with opacity:0",
        ),
    ],
)
def test_a_hidden_unsubscribe_link(project_dir, hidden, reason):
    override(project_dir, FOOTER, UNSUBSCRIBE, hidden)
    finding = only(compliance_findings(project_dir), "compliance.unsubscribe-link")
    assert finding.message == f"the unsubscribe link cannot be seen: {reason}"
    in_footer(finding)


@pytest.mark.parametrize(
    "selector",
    [".fine-print", ".page .small a.fine-print", "td.small > div > p > a.fine-print"],
)
def test_an_unsubscribe_link_hidden_by_a_style_rule(project_dir, selector):
    """Rules the selector engine cannot match (``~``) are left out, not guessed at."""
    style = f"<mj-style>.nl-footer ~ .page a, {selector} {{ display: none; }}</mj-style>"
    override(project_dir, MAIN, "</mj-head>", f"{style}\n</mj-head>")
    override(project_dir, FOOTER, UNSUBSCRIBE, UNSUBSCRIBE.replace("<a ", '<a class="fine-print" '))
    finding = only(compliance_findings(project_dir), "compliance.unsubscribe-link")
    assert finding.message == "the unsubscribe link cannot be seen: hidden with display:none"
    in_footer(finding)


def test_a_style_rule_inside_media_hides_only_on_some_screens(project_dir):
    style = "<mj-style>@media (max-width: 480px) { .page a { display: none; } }</mj-style>"
    override(project_dir, MAIN, "</mj-head>", f"{style}\n</mj-head>")
    assert compliance_findings(project_dir) == []


def test_an_unsubscribe_link_without_words(project_dir):
    override(project_dir, FOOTER, UNSUBSCRIBE, '<a href="{{ slot.unsubscribe_url }}"> </a>')
    finding = only(compliance_findings(project_dir), "compliance.unsubscribe-link")
    assert finding.message == "the unsubscribe link has no text a reader can see"
    in_footer(finding)


def test_a_hidden_copy_does_not_matter_beside_a_visible_link(project_dir):
    hidden = '<a href="{{ slot.unsubscribe_url }}" style="mso-hide:all">unsubscribe</a>'
    override(project_dir, FOOTER, UNSUBSCRIBE, f"{hidden} {UNSUBSCRIBE}")
    assert compliance_findings(project_dir) == []


def test_a_text_part_without_the_unsubscribe_link(project_dir):
    override(project_dir, TEXT, "Unsubscribe:\n{{ slot.unsubscribe_url }}\n", "")
    finding = only(compliance_findings(project_dir), "compliance.unsubscribe-link")
    assert finding.message == "the plain-text part has no unsubscribe link"
    in_text_template(finding)


# Preferences and "why did I get this"


def test_a_footer_without_the_preferences_link(project_dir):
    override(project_dir, FOOTER, f"You can {PREFERENCES} or", "You can")
    finding = only(compliance_findings(project_dir), "compliance.preferences-link")
    assert finding.message == "the HTML has no preferences link"
    in_footer(finding)


def test_a_text_part_without_the_preferences_link(project_dir):
    override(project_dir, TEXT, "Update your preferences:\n{{ slot.preferences_url }}\n", "")
    finding = only(compliance_findings(project_dir), "compliance.preferences-link")
    in_text_template(finding)


def test_no_why_did_i_get_this_link_in_either_part(project_dir):
    override(project_dir, FOOTER, ABOUT, "")
    override(project_dir, TEXT, "Why did I get this?\n{{ slot.about_url }}\n", "")
    found = compliance_findings(project_dir)
    assert [finding.rule for finding in found] == ["compliance.about-link"] * 2
    in_footer(found[0])
    in_text_template(found[1])
    assert "audience.description" in found[0].fix


# Postal address


def test_a_footer_without_the_postal_address(project_dir):
    override(project_dir, FOOTER, f" &middot; {ADDRESS}", "")
    finding = only(compliance_findings(project_dir), "compliance.postal-address")
    assert finding.message == "the HTML has no postal address"
    in_footer(finding)


def test_a_hidden_postal_address(project_dir):
    override(
        project_dir,
        FOOTER,
        "<p>{{ organisation.name }}",
        '<p style="display:none">{{ organisation.name }}',
    )
    finding = only(compliance_findings(project_dir), "compliance.postal-address")
    assert (
        finding.message == "the postal address in the HTML cannot be seen: hidden with display:none"
    )
    in_footer(finding)


def test_an_address_written_line_by_line_counts(project_dir):
    lines = "{% for line in organisation.address %}{{ line }}<br>{% endfor %}"
    override(project_dir, FOOTER, f" &middot; {ADDRESS}", f"<br>{lines}")
    assert compliance_findings(project_dir) == []


def test_a_text_part_without_the_postal_address(project_dir):
    override(project_dir, TEXT, '", " ~ (tags.address_line or organisation.address_line)', '""')
    finding = only(compliance_findings(project_dir), "compliance.postal-address")
    assert finding.message == "the plain-text part has no postal address"
    in_text_template(finding)


# List-Unsubscribe


def remove_unsubscribe_everywhere(project_dir: Path) -> None:
    override(project_dir, FOOTER, f" or {UNSUBSCRIBE}", "")
    override(project_dir, TEXT, "Unsubscribe:\n{{ slot.unsubscribe_url }}\n", "")


def test_mailchimp_adds_no_unsubscribe_headers_without_its_tag(monkeypatch, project_dir):
    remove_unsubscribe_everywhere(project_dir)
    found = compliance_findings(project_dir, monkeypatch, "mailchimp")
    header = [finding for finding in found if finding.rule == "compliance.list-unsubscribe"]
    assert len(header) == 1 and header[0].severity is Severity.ERROR
    assert "*|UNSUB|*" in header[0].message
    in_footer(header[0])
    assert [f.rule for f in found if f is not header[0]] == ["compliance.unsubscribe-link"] * 2


def test_the_local_provider_sets_the_headers_itself(project_dir):
    remove_unsubscribe_everywhere(project_dir)
    found = compliance_findings(project_dir)
    assert [finding.rule for finding in found] == ["compliance.unsubscribe-link"] * 2


# The From domain and DKIM


def test_a_from_address_outside_the_organisation(project_dir):
    write_project(
        project_dir, lambda data: data["sender"].update(from_email="news@mailer.example.net")
    )
    check = check_input(project_dir)
    finding = only(compliance.findings(check), "compliance.from-domain")
    assert finding.place.source is Source.PROJECT
    assert finding.place.field == ("sender", "from_email")
    text = (project_dir / "newsletter.yaml").read_text(encoding="utf-8").splitlines()
    assert "from_email: news@mailer.example.net" in text[check.line_of(finding.place) - 1]
    assert "sending_domains" in finding.fix and "example.org" in finding.fix


def test_a_from_domain_listed_in_sending_domains_passes(project_dir):
    def change(data):
        data["sender"]["from_email"] = "news@mailer.example.net"
        data["sending_domains"] = ["example.net"]

    write_project(project_dir, change)
    assert compliance_findings(project_dir) == []


def test_a_subdomain_of_the_organisation_passes(project_dir):
    write_project(
        project_dir, lambda data: data["sender"].update(from_email="team@news.example.org")
    )
    assert compliance_findings(project_dir) == []


def sign_for(monkeypatch, domain: str) -> None:
    monkeypatch.setenv("NEWSLETTER_DKIM_SELECTOR", "news")
    monkeypatch.setenv("NEWSLETTER_DKIM_DOMAIN", domain)
    monkeypatch.setenv("NEWSLETTER_DKIM_KEY_FILE", "dkim.pem")


def test_a_dkim_signature_for_another_domain(monkeypatch, project_dir):
    sign_for(monkeypatch, "mailer.example.net")
    finding = only(compliance_findings(project_dir), "compliance.dkim-alignment")
    assert finding.place.field == ("sender", "from_email")
    assert "mailer.example.net" in finding.message and "example.org" in finding.message


@pytest.mark.parametrize("from_email", ["newsletter@example.org", "team@news.example.org"])
def test_a_dkim_signature_for_the_from_domain_or_its_parent_passes(
    monkeypatch, project_dir, from_email
):
    write_project(project_dir, lambda data: data["sender"].update(from_email=from_email))
    sign_for(monkeypatch, "example.org")
    assert compliance_findings(project_dir) == []


# The gate


def test_the_gate_stops_a_send_without_an_unsubscribe_link_until_waived(
    monkeypatch, project_dir, example_file, smtp_sink
):
    override(project_dir, FOOTER, f" or {UNSUBSCRIBE}", "")
    monkeypatch.setenv("NEWSLETTER_SECRET", TEST_SECRET)
    monkeypatch.setenv("NEWSLETTER_SMTP_URL", smtp_sink.url)
    runner = CliRunner()
    added = runner.invoke(app, ["audience", "add", "ana@example.org", "--topic", "events"])
    assert added.exit_code == 0, added.output

    refused = runner.invoke(app, ["send", str(example_file), "--yes"])
    assert refused.exit_code == 1
    lines = [line for line in refused.stderr.splitlines() if not line.startswith("[")]
    assert len(lines) == 1, refused.output
    assert "compliance.unsubscribe-link" in lines[0] and "footer.mjml.j2" in lines[0]
    assert not smtp_sink.handler.counts

    waived = runner.invoke(
        app, ["send", str(example_file), "--yes", "--skip-check", "compliance.unsubscribe-link"]
    )
    assert waived.exit_code == 0, waived.output
    assert "skipped check [compliance.unsubscribe-link]" in waived.stderr
    assert list(smtp_sink.handler.counts) == ["ana@example.org"]
    with LocalProvider(load_settings(project_dir / "newsletter.yaml")) as provider:
        assert provider.skipped_checks(EXAMPLE_SLUG) == {"compliance.unsubscribe-link"}
