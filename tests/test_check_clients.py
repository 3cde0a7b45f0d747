"""The clients family: HTML and CSS that Gmail, Outlook for Windows, Apple Mail or Yahoo
Mail do not support is a warning naming the feature and the clients, once per feature,
unless MJML's output carries a fallback; the example issue passes clean."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import jsonschema
import lxml.html
import pytest
from conftest import REPO
from mailchimp_support import fake_provider
from typer.testing import CliRunner

from newsletter.campaigns import load_located
from newsletter.checks import FAMILIES, clients, report
from newsletter.checks.client_html import uses as html_uses
from newsletter.checks.client_support import DATA_FILE, table
from newsletter.checks.findings import Place, Severity, Source
from newsletter.cli import app
from newsletter.providers import get_provider
from newsletter.providers.mailchimp.fake import FakeMailchimp

RULE = "clients.unsupported"
ARTICLE = Path("templates/sections/article.mjml.j2")
FOOTER = Path("templates/footer.mjml.j2")
MAIN = Path("templates/newsletter.mjml.j2")
BODY = "          {{ section.body | markdown }}\n"
REFRESH = REPO / "scripts" / "refresh_caniemail.py"


def check_of(settings, path, provider_name="local", monkeypatch=None):
    located = load_located(path, settings)
    if provider_name == "mailchimp":
        provider = fake_provider(settings, monkeypatch, FakeMailchimp())
    else:
        provider = get_provider(settings, provider_name)
    return provider.check_input(located.issue, source=located.source)


def findings_of(settings, path):
    check = check_of(settings, path)
    found = clients.findings(check)
    assert all(finding.rule == RULE for finding in found)
    assert all(finding.severity is Severity.WARNING for finding in found)
    return check, found


def override(project_dir: Path, template: Path, old: str, new: str) -> None:
    path = project_dir / template
    text = path.read_text()
    assert old in text, f"{template} no longer holds {old!r}"
    path.write_text(text.replace(old, new, 1))


def only(found, needle):
    """The one finding whose message mentions ``needle``."""
    chosen = [finding for finding in found if needle in finding.message]
    assert len(chosen) == 1, [finding.message for finding in found]
    return chosen[0]


def first_article_line(path: Path) -> int:
    lines = path.read_text().splitlines()
    return next(number for number, line in enumerate(lines, 1) if "- type: article" in line)


# --- the example ---------------------------------------------------------------------


@pytest.mark.parametrize("provider_name", ["local", "mailchimp"])
def test_the_example_is_clean_with_each_providers_tags(
    settings, example_file, provider_name, monkeypatch
):
    check = check_of(settings, example_file, provider_name, monkeypatch)
    tag = "[[nl:" if provider_name == "local" else "*|"
    assert tag in check.compiled.html
    assert clients.findings(check) == []


def test_the_family_runs_in_every_gate_and_its_time_on_the_example(settings, example_file):
    assert FAMILIES["clients"] is clients
    check = check_of(settings, example_file)
    assert len(check.document), "parsed once for every family: not this family's cost"
    started = time.perf_counter()
    clients.findings(check)
    first = time.perf_counter() - started
    print(f"clients family on the example: first {first * 1000:.1f} ms")
    assert first < 1.0, "the gate runs before every send: this should take milliseconds"


# --- CSS properties and values ----------------------------------------------------------


def test_display_flex_in_a_section_template_is_one_warning_at_the_first_section(
    settings, project_dir, example_file
):
    override(project_dir, ARTICLE, BODY, f'<div style="display:flex">{BODY}</div>\n')
    check, found = findings_of(settings, example_file)
    warning = only(found, "display")
    assert warning.message == "Outlook for Windows ignores the CSS `display: flex`"
    assert "caniemail.com/features/css-display-flex/" in warning.fix
    assert warning.place == Place(field=("sections", 0)), "the first of the two articles"
    assert check.line_of(warning.place) == first_article_line(example_file)


def test_position_absolute_names_yahoo_whose_partial_support_stops_at_relative(
    settings, project_dir, example_file
):
    override(project_dir, ARTICLE, BODY, f'<div style="position:absolute;top:0">{BODY}</div>\n')
    _, found = findings_of(settings, example_file)
    assert only(found, "position").message == (
        "Gmail, Outlook for Windows and Yahoo Mail ignore the CSS `position: absolute`"
    )
    assert "(left, right, top, bottom)" in only(found, "`top: 0`").message


def test_position_relative_is_left_to_the_clients_without_any_position(
    settings, project_dir, example_file
):
    override(project_dir, ARTICLE, BODY, f'<div style="position:relative">{BODY}</div>\n')
    _, found = findings_of(settings, example_file)
    assert only(found, "position").message.startswith("Gmail and Outlook for Windows ignore")


def test_background_image_in_a_style_names_outlook(settings, project_dir, example_file):
    style = "background-image:url(https://www.example.org/paper.png)"
    override(project_dir, ARTICLE, BODY, f'<div style="{style}">{BODY}</div>\n')
    _, found = findings_of(settings, example_file)
    warning = only(found, "background-image")
    assert warning.message.startswith("Outlook for Windows ignores the CSS `background-image:")
    assert warning.place == Place(field=("sections", 0))


def test_a_background_image_mjml_draws_in_vml_for_outlook_is_not_reported_for_outlook(
    settings, project_dir, example_file
):
    override(
        project_dir,
        ARTICLE,
        '<mj-section padding="16px 0 4px"',
        '<mj-section background-url="https://www.example.org/paper.png" padding="16px 0 4px"',
    )
    check, found = findings_of(settings, example_file)
    assert "<v:" in check.compiled.html
    assert not [finding for finding in found if "Outlook" in finding.message], found


def test_text_hidden_only_by_display_none_shows_in_gmails_mobile_webmail(
    settings, project_dir, example_file
):
    override(project_dir, ARTICLE, BODY, f'<div style="display:none">secret</div>\n{BODY}')
    _, found = findings_of(settings, example_file)
    assert [finding.message for finding in found] == [
        "Gmail (mobile webmail) ignores the CSS `display: none`"
    ]


def test_text_hidden_several_ways_at_once_like_the_preview_text_is_not_reported(
    settings, project_dir, example_file
):
    hidden = "display:none;max-height:0;overflow:hidden;opacity:0"
    override(project_dir, ARTICLE, BODY, f'<div style="{hidden}">secret</div>\n{BODY}')
    _, found = findings_of(settings, example_file)
    assert found == []


def test_comma_less_rgb_is_reported_for_the_clients_that_drop_it(
    settings, project_dir, example_file
):
    override(project_dir, ARTICLE, BODY, f'<div style="color:rgb(0 0 0)">{BODY}</div>\n')
    _, found = findings_of(settings, example_file)
    assert only(found, "rgb(").message == (
        "Gmail, Outlook for Windows and Yahoo Mail ignore the CSS `color: rgb(0 0 0)` (rgb())"
    )


def test_rem_units_name_the_unit(settings, project_dir, example_file):
    override(project_dir, ARTICLE, BODY, f'<div style="font-size:1.2rem">{BODY}</div>\n')
    _, found = findings_of(settings, example_file)
    assert only(found, "rem").message == (
        "Outlook for Windows and Yahoo Mail ignore the CSS `font-size: 1.2rem` (rem unit)"
    )


# --- at-rules and <style> ---------------------------------------------------------------


def test_font_face_in_the_main_template_is_a_warning_at_the_template(
    settings, project_dir, example_file
):
    rule = "@font-face { font-family: Brand; src: url(https://www.example.org/brand.woff2); }"
    override(project_dir, MAIN, "    <mj-style>\n", f"    <mj-style>\n      {rule}\n")
    _, found = findings_of(settings, example_file)
    warning = only(found, "@font-face")
    assert warning.message == "Gmail and Yahoo Mail ignore the CSS @font-face"
    assert warning.place == Place(Source.TEMPLATE, name="newsletter.mjml.j2")
    assert len(found) == 1, "the descriptors inside @font-face are not properties"


def test_features_inside_media_queries_are_extras(settings, project_dir, example_file):
    rule = (
        "@media (max-width: 480px) { .surface { display: flex; position: absolute; } } "
        "@supports (display: grid) { .page { display: grid; } }"
    )
    override(project_dir, MAIN, "    <mj-style>\n", f"    <mj-style>\n      {rule}\n")
    _, found = findings_of(settings, example_file)
    assert found == []


def test_a_style_element_in_the_body_is_reported_for_gmail(settings, project_dir, example_file):
    override(
        project_dir,
        FOOTER,
        "      <mj-column>\n        <mj-divider />",
        "      <mj-column>\n        <mj-raw><style>.x { color: #000; }</style></mj-raw>\n"
        "        <mj-divider />",
    )
    _, found = findings_of(settings, example_file)
    warning = only(found, "<style>")
    assert warning.message == "Gmail ignores the HTML <style> element"
    assert warning.place == Place(Source.TEMPLATE, name="footer.mjml.j2")


# --- HTML elements ----------------------------------------------------------------------


def test_a_video_in_the_footer_names_the_clients_that_cannot_play_it(
    settings, project_dir, example_file
):
    video = '<mj-raw><video src="https://www.example.org/film.mp4" controls></video></mj-raw>'
    override(project_dir, FOOTER, "        <mj-divider />", f"        <mj-divider />\n{video}")
    _, found = findings_of(settings, example_file)
    assert [finding.message for finding in found] == [
        "Gmail, Outlook for Windows and Yahoo Mail ignore the HTML <video> element"
    ], "Apple Mail plays it: partly supported on the iPhone counts as support"
    assert found[0].place == Place(Source.TEMPLATE, name="footer.mjml.j2")


def test_newsletter_check_reports_it_in_its_json_and_the_issue_can_still_go_out(
    project_dir, example_file
):
    video = '<mj-raw><video src="https://www.example.org/film.mp4"></video></mj-raw>'
    override(project_dir, FOOTER, "        <mj-divider />", f"        <mj-divider />\n{video}")
    result = CliRunner().invoke(app, ["check", str(example_file), "--format", "json"])
    assert result.exit_code == 0, result.output
    output = json.loads(result.stdout)
    schema = json.loads((Path(report.__file__).parent / "report.schema.json").read_text())
    jsonschema.validate(output, schema)
    assert output["ok"] and output["counts"] == {"error": 0, "warning": 1, "note": 0}
    (finding,) = output["findings"]
    assert finding["rule"] == RULE and finding["severity"] == "warning"
    assert finding["source"] == "template"
    assert finding["file"] == str(project_dir / FOOTER)


def test_svg_in_a_section_body(settings, project_dir, example_file):
    svg = '<svg width="10" height="10"><circle cx="5" cy="5" r="5"/></svg>'
    override(project_dir, ARTICLE, BODY, f"{svg}\n{BODY}")
    _, found = findings_of(settings, example_file)
    warning = only(found, "svg")
    assert warning.message == (
        "Gmail, Outlook for Windows and Yahoo Mail ignore the HTML embedded <svg> image"
    )
    assert warning.place == Place(field=("sections", 0))


def test_a_jump_link_to_nowhere_is_reported(settings, project_dir, example_file):
    override(project_dir, ARTICLE, BODY, f'<a href="#no-such-section">up</a>\n{BODY}')
    _, found = findings_of(settings, example_file)
    assert only(found, "anchors").message == (
        "Gmail (iPhone app) and Yahoo Mail (iPhone app, Android app) ignore "
        "the HTML feature 'Local anchors'"
    )


# --- every feature of the data is looked for ----------------------------------------------

NOT_LOOKED_FOR = ("css-selector-", "css-pseudo-", "css-comments", "css-nesting", "html-comments")
NOT_LOOKED_FOR += ("html-doctype",)
"""Selectors only matter where <style> works, which the head-styles fallback covers;
comments, nesting and the doctype are not features a template author reaches for."""

UNITS = ("ch", "cm", "em", "ex", "in", "mm", "pc", "pt", "px", "rem", "vh", "vw", "vmax", "vmin")
CSS_SAMPLES = {
    "css-at-font-face": "@font-face { font-family: Brand; src: url(brand.woff2); }",
    "css-at-import": "@import url(more.css);",
    "css-at-keyframes": "@keyframes fade { to { opacity: 0; } }",
    "css-at-media": "@media (max-width: 480px) { .x { color: red; } }",
    "css-at-media-device-pixel-ratio": "@media (-webkit-min-device-pixel-ratio: 2) {}",
    "css-at-media-hover": "@media (hover: hover) {}",
    "css-at-media-orientation": "@media (orientation: landscape) {}",
    "css-at-media-prefers-color-scheme": "@media (prefers-color-scheme: dark) {}",
    "css-at-media-prefers-reduced-motion": "@media (prefers-reduced-motion: reduce) {}",
    "css-at-supports": "@supports (display: grid) {}",
    "css-block-inline-size": ".x { block-size: 10px; }",
    "css-border-inline-block": ".x { border-inline: 1px solid; }",
    "css-border-inline-block-individual": ".x { border-inline-start-color: red; }",
    "css-border-inline-block-longhand": ".x { border-block-width: 1px; }",
    "css-border-radius-logical": ".x { border-start-end-radius: 4px; }",
    "css-column-layout-properties": ".x { column-rule-style: solid; }",
    "css-conic-gradient": ".x { background-image: conic-gradient(red, blue); }",
    "css-display-flex": ".x { display: inline-flex; }",
    "css-display-grid": ".x { display: grid; }",
    "css-display-none": ".x { display: none; }",
    "css-function-clamp": ".x { width: clamp(1px, 50%, 600px); }",
    "css-function-light-dark": ".x { color: light-dark(#000, #fff); }",
    "css-function-max": ".x { width: max(1px, 50%); }",
    "css-function-min": ".x { width: min(600px, 100%); }",
    "css-important": ".x { color: red !important; }",
    "css-intrinsic-size": ".x { width: fit-content; }",
    "css-left-right-top-bottom": ".x { bottom: 0; }",
    "css-linear-gradient": ".x { background: linear-gradient(red, blue); }",
    "css-margin-block-start-end": ".x { margin-block-end: 1px; }",
    "css-margin-inline-block": ".x { margin-inline: 1px; }",
    "css-margin-inline-start-end": ".x { margin-inline-start: 1px; }",
    "css-modern-color": ".x { color: oklch(50% 0.1 200); }",
    "css-padding-block-start-end": ".x { padding-block-start: 1px; }",
    "css-padding-inline-block": ".x { padding-block: 1px; }",
    "css-padding-inline-start-end": ".x { padding-inline-end: 1px; }",
    "css-radial-gradient": ".x { background-image: radial-gradient(red, blue); }",
    "css-rgb": ".x { color: rgb(0, 0, 0); }",
    "css-rgba": ".x { color: rgba(0, 0, 0, 0.5); }",
    "css-sytem-ui": ".x { font-family: system-ui, sans-serif; }",
    "css-unit-calc": ".x { width: calc(100% - 20px); }",
    "css-unit-initial": ".x { color: initial; }",
    "css-unit-percent": ".x { width: 50%; }",
    "css-variables": ".x { color: var(--brand); }",
    **{f"css-unit-{unit}": f".x {{ width: 2{unit}; }}" for unit in UNITS},
}
HTML_SAMPLES = {
    "css-inert-attribute": "<div inert></div>",
    "html-anchor-links": '<a href="#top">top</a>',
    "html-button-reset": '<button type="reset">reset</button>',
    "html-button-submit": "<button>send</button>",
    "html-h1-h6": "<h4>heading</h4>",
    "html-image-maps": '<img src="x.png" usemap="#m">',
    "html-input-text": "<input>",
    "html-lists": "<dl><dt>term</dt></dl>",
    "html-loading-attribute": '<img src="x.png" loading="lazy">',
    "html-mailto-links": '<a href="mailto:ana@example.org">write</a>',
    "html-meta-color-scheme": '<meta name="color-scheme" content="light dark">',
    "html-semantics": "<nav>menu</nav>",
    **{
        f"html-input-{kind}": f'<input type="{kind}">'
        for kind in ("checkbox", "hidden", "radio", "reset", "submit")
    },
}


def slugs_in(style: str = "", body: str = "") -> set[str]:
    page = f"<html><head><style>{style}</style></head><body>{body}</body></html>"
    return {use.slug for use in html_uses(lxml.html.document_fromstring(page))}


def test_every_css_feature_of_the_data_is_looked_for_or_left_out_on_purpose():
    for slug, feature in table().features.items():
        if feature.category != "css" or slug.startswith(NOT_LOOKED_FOR):
            continue
        if slug in HTML_SAMPLES:
            continue
        sample = CSS_SAMPLES.get(slug, f".x {{ {slug.removeprefix('css-')}: inherit; }}")
        assert slug in slugs_in(style=sample), f"{slug} ({feature.title}) from {sample!r}"


def test_every_html_feature_of_the_data_is_looked_for_or_left_out_on_purpose():
    for slug, feature in table().features.items():
        if not slug.startswith("html-") or slug.startswith(NOT_LOOKED_FOR):
            continue
        name = slug.removeprefix("html-")
        sample = HTML_SAMPLES.get(slug, f'<{name}></{name}><div {name}="x"></div>')
        assert slug in slugs_in(body=sample), f"{slug} ({feature.title}) from {sample!r}"
    assert "css-inert-attribute" in slugs_in(body=HTML_SAMPLES["css-inert-attribute"])


def test_a_feature_named_like_a_property_is_not_taken_for_one():
    found = slugs_in(style=".x { rgb: inherit; display-flex: inherit; comments: inherit; }")
    assert found == {"html-style", "html-body"}


# --- the data ---------------------------------------------------------------------------


def test_the_data_carries_its_source_and_the_package_licence():
    raw = json.loads(DATA_FILE.read_text())
    source = raw["source"]
    assert source["package"] == "caniemail" and source["version"] == "2.0.2"
    assert source["date"][:4].isdigit() and source["integrity"].startswith("sha512-")
    licence = (DATA_FILE.parent / "caniemail-LICENSE").read_text()
    assert licence.startswith("MIT License") and "Avi Goldman" in licence
    assert source["licence"] == "MIT, see caniemail-LICENSE"


def test_the_data_holds_four_clients_and_one_verdict_a_platform():
    data = table()
    assert [client.name for client in data.clients] == [
        "Gmail",
        "Outlook for Windows",
        "Apple Mail",
        "Yahoo Mail",
    ]
    assert data.client("outlook").platforms == {"windows": "desktop app"}
    assert {feature.category for feature in data.features.values()} == {"css", "html"}
    for feature in data.features.values():
        for client, verdicts in feature.support.items():
            assert set(verdicts) <= set(data.client(client).platforms)
            assert set(verdicts.values()) <= {"y", "a", "n", "u"}, feature.slug
    flex = data.features["css-display-flex"]
    assert flex.platforms("outlook", "n") == ("windows",)


def _refresh(*args):
    done = subprocess.run(
        [sys.executable, str(REFRESH), *args], capture_output=True, text=True, timeout=600
    )
    if done.returncode == 3:
        message = f"the npm registry is unreachable: {done.stderr.strip()}"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return done


def test_the_refresh_script_rebuilds_the_data_file_from_the_npm_package(tmp_path):
    done = _refresh("--check")
    assert done.returncode == 0, done.stderr
    altered = tmp_path / "data"
    shutil.copytree(DATA_FILE.parent, altered)
    text = (altered / "caniemail.json").read_text()
    (altered / "caniemail.json").write_text(text.replace('"n"', '"y"', 1))
    stale = _refresh("--check", "--data-dir", str(altered))
    assert stale.returncode == 1 and "caniemail.json" in stale.stderr
