"""The accessibility family: language, direction and title, layout tables, heading order,
text size and contrast, each triggered by a project file, template or campaign a writer
could really have, and placed where that writer fixes it."""

from __future__ import annotations

import json
from pathlib import Path

import lxml.html
import pytest
from conftest import EXAMPLE_SLUG
from typer.testing import CliRunner

from newsletter.campaigns import load_located
from newsletter.checks import CheckInput, Delivery, Place, Severity, Source, accessibility
from newsletter.checks.colours import WHITE, Colour, contrast, over, parse_colour
from newsletter.checks.legibility import ratio_text, suggestion
from newsletter.checks.styles import LINK, Look, Styles
from newsletter.cli import app
from newsletter.config import load_settings
from newsletter.providers import get_provider
from newsletter.providers.mailchimp.tags import MAILCHIMP_TAGS
from newsletter.render.compile import compile_issue
from newsletter.render.templating import forget_templates

MAIN = Place(Source.TEMPLATE, name="newsletter.mjml.j2")


def _check(project_dir: Path, provider: str = "local") -> CheckInput:
    settings = load_settings(project_dir / "newsletter.yaml")
    located = load_located(project_dir / "campaigns" / f"{EXAMPLE_SLUG}.yaml", settings)
    if provider == "mailchimp":
        compiled = compile_issue(located.issue, settings, MAILCHIMP_TAGS)
        delivery = Delivery("mailchimp", MAILCHIMP_TAGS, list_unsubscribe_header=True)
        return CheckInput(located.issue, compiled, settings, delivery, source=located.source)
    return get_provider(settings, provider).check_input(located.issue, source=located.source)


def _findings(project_dir: Path, rule: str) -> list:
    found = accessibility.findings(_check(project_dir))
    assert {f.rule for f in found} <= {r.id for r in accessibility.RULES}
    return [finding for finding in found if finding.rule == rule]


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} is not in {path.name}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    forget_templates()


def _line_of(path: Path, start: str) -> int:
    lines = path.read_text(encoding="utf-8").splitlines()
    return next(number for number, line in enumerate(lines, 1) if line.strip().startswith(start))


# The example ------------------------------------------------------------------------


@pytest.mark.parametrize("provider", ["local", "mailchimp"])
def test_the_example_is_clean(project_dir, provider):
    check = _check(project_dir, provider)
    assert accessibility.findings(check) == []
    assert check.document.get("lang") == "en-GB", "the check read the real document"


# Colours and contrast -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "background", "shown"),
    [
        ("#777777", "#ffffff", "4.48"),
        ("black", "white", "21"),
        ("#000", "#000000", "1"),
        ("#52606d", "#eef1f5", "5.7"),
        ("#767676", "white", "4.54"),
        ("#1d4f91", "#ffffff", "8.14"),
    ],
)
def test_contrast_ratios_match_known_values(text, background, shown):
    ratio = contrast(parse_colour(text), parse_colour(background))
    assert ratio_text(ratio) == shown
    assert contrast(parse_colour(background), parse_colour(text)) == pytest.approx(ratio)


def test_a_ratio_just_under_the_threshold_never_reads_as_the_threshold():
    assert ratio_text(4.4999, 4.5) == "4.49"
    assert ratio_text(4.4999) == "4.5"
    assert ratio_text(2.996, 3.0) == "2.99"


@pytest.mark.parametrize(
    ("css", "expected"),
    [
        ("#fff", "#ffffff"),
        ("#ABCDEF", "#abcdef"),
        ("#0f08", "#00ff0088"),
        ("#11223380", "#11223380"),
        ("rgb(255, 0, 0)", "#ff0000"),
        ("rgba(0, 0, 255, 0.5)", "#0000ff80"),
        ("rgb(0 128 0 / 100%)", "#008000"),
        ("rebeccapurple", "#663399"),
        ("LightGoldenRodYellow", "#fafad2"),
        ("transparent", "#00000000"),
    ],
)
def test_css_colours_parse(css, expected):
    colour = parse_colour(css)
    assert isinstance(colour, Colour) and colour.hex == expected


@pytest.mark.parametrize("css", ["", "nocolour", "#12", "rgb(1, 2)", "12px"])
def test_what_is_no_colour_parses_to_none(css):
    assert parse_colour(css) is None


def test_translucent_text_is_judged_as_painted_over_its_background():
    half_black = parse_colour("rgba(0, 0, 0, 0.5)")
    assert over(half_black, WHITE).hex == "#808080"
    assert contrast(half_black, WHITE) == pytest.approx(contrast(Colour(0.5, 0.5, 0.5), WHITE))


def test_a_suggestion_reaches_every_background_it_must():
    muted = parse_colour("#9aa5b1")
    page, surface = parse_colour("#eef1f5"), WHITE
    better = suggestion(muted, [(page, 4.5), (surface, 4.5)])
    assert better is not None
    assert contrast(better, page) >= 4.5 and contrast(better, surface) >= 4.5
    assert contrast(better, page) < 4.7, "it goes no darker than it needs to"


def test_light_brand_muted_is_a_contrast_error_on_its_project_line(project_dir):
    _edit(project_dir / "newsletter.yaml", 'muted: "#52606d"', 'muted: "#9aa5b1"')
    check = _check(project_dir)
    [finding] = [f for f in accessibility.findings(check) if f.rule == "accessibility.contrast"]
    assert finding.severity is Severity.ERROR
    assert finding.place == Place(Source.PROJECT, ("brand", "muted"))
    assert check.line_of(finding.place) == _line_of(project_dir / "newsletter.yaml", "muted:")
    assert "#9aa5b1 on #eef1f5" in finding.message and "2.21:1" in finding.message
    assert "4.5:1" in finding.message
    assert "brand.muted" in finding.fix and "darker" in finding.fix


def test_the_command_reports_the_contrast_error_at_the_project_line(project_dir, example_file):
    _edit(project_dir / "newsletter.yaml", 'muted: "#52606d"', 'muted: "#9aa5b1"')
    result = CliRunner().invoke(app, ["check", str(example_file), "--format", "json"])
    report = json.loads(result.stdout)
    [item] = [f for f in report["findings"] if f["rule"] == "accessibility.contrast"]
    assert item["source"] == "project" and item["place"] == "brand.muted"
    assert Path(item["file"]).name == "newsletter.yaml"
    assert item["line"] == _line_of(project_dir / "newsletter.yaml", "muted:")
    assert report["ok"] is False and result.exit_code != 0


def test_white_button_text_on_a_light_primary_blames_the_primary(project_dir):
    _edit(project_dir / "newsletter.yaml", 'primary: "#1d4f91"', 'primary: "#8ab4f8"')
    found = _findings(project_dir, "accessibility.contrast")
    assert [f.place for f in found] == [Place(Source.PROJECT, ("brand", "primary"))]
    assert "#8ab4f8" in found[0].message


def test_a_template_colour_is_placed_on_its_section(project_dir):
    _edit(
        project_dir / "templates" / "sections" / "event.mjml.j2",
        "<mj-text>",
        '<mj-text color="#999999">',
    )
    check = _check(project_dir)
    found = [f for f in accessibility.findings(check) if f.rule == "accessibility.contrast"]
    event = next(i for i, s in enumerate(check.issue.sections) if s.type == "event")
    assert found and {f.place for f in found} == {Place(field=("sections", event))}
    assert all("#999999 on #ffffff" in f.message for f in found)
    assert "2.85:1" in found[0].message


def test_large_text_needs_three_to_one(project_dir):
    grey = "#949494"  # 3.03:1 on white
    _edit(
        project_dir / "templates" / "newsletter.mjml.j2",
        "<h1>{{ issue.display_title }}</h1>",
        f'<h1 style="color:{grey}">{{{{ issue.display_title }}}}</h1>'
        f'<p style="color:{grey};font-size:19px;font-weight:bold">Bold and large enough</p>'
        f'<p style="color:{grey};font-size:19px">Neither bold nor large enough here</p>',
    )
    [finding] = _findings(project_dir, "accessibility.contrast")
    assert finding.message.startswith("'Neither bold nor large enough here' is #949494")
    assert finding.place == MAIN


def test_hidden_text_is_not_judged(project_dir):
    hidden = (
        '<div style="display:none">White on white, hidden</div>'
        '<div style="max-height:0;overflow:hidden">Also white, also hidden</div>'
        '<div style="opacity:0.0">Transparent and hidden</div>'
    )
    _edit(
        project_dir / "templates" / "newsletter.mjml.j2",
        "<h1>",
        hidden.replace("<div ", '<div class="x" ').replace('style="', 'style="color:#fff;')
        + "<h1>",
    )
    assert _findings(project_dir, "accessibility.contrast") == []
    _edit(project_dir / "templates" / "newsletter.mjml.j2", "opacity:0.0", "opacity:1")
    [finding] = _findings(project_dir, "accessibility.contrast")
    assert "'Transparent and hidden' is #ffffff on #ffffff" in finding.message


# Language, direction and title --------------------------------------------------------


def test_a_template_without_lang_dir_or_title(project_dir):
    template = project_dir / "templates" / "newsletter.mjml.j2"
    _edit(template, '<mjml lang="{{ project.language }}" dir="{{ project.direction }}">', "<mjml>")
    _edit(template, "<mj-title>{{ issue.subject }}</mj-title>", "")
    found = {f.rule: f for f in accessibility.findings(_check(project_dir))}
    assert found["accessibility.lang"].severity is Severity.ERROR
    assert found["accessibility.dir"].severity is Severity.WARNING
    assert found["accessibility.title"].severity is Severity.ERROR
    assert {found[rule].place for rule in found} == {MAIN}


def test_a_template_with_an_empty_lang(project_dir):
    template = project_dir / "templates" / "newsletter.mjml.j2"
    _edit(template, 'lang="{{ project.language }}"', 'lang=""')
    assert [f.rule for f in accessibility.findings(_check(project_dir))] == ["accessibility.lang"]


# Layout tables ------------------------------------------------------------------------


def test_layout_tables_without_role_presentation_are_counted(project_dir):
    _edit(
        project_dir / "templates" / "footer.mjml.j2",
        "</mj-column>",
        "<mj-raw><table><tr><td><table><tr><td></td></tr></table></td></tr></table>"
        "<table><caption>Dates</caption><tr><td>A data table</td></tr></table></mj-raw>"
        "</mj-column>",
    )
    [finding] = _findings(project_dir, "accessibility.layout-table")
    assert finding.severity is Severity.WARNING
    assert finding.message.startswith("2 layout tables lack")
    assert finding.place == Place(Source.TEMPLATE, name="footer.mjml.j2")


# Headings -----------------------------------------------------------------------------


def _add_to_first_body(project_dir: Path, markdown: str) -> Path:
    path = project_dir / "campaigns" / f"{EXAMPLE_SLUG}.yaml"
    _edit(path, "      Most of these deaths", f"      {markdown}\n\n      Most of these deaths")
    return path


def test_a_markdown_heading_that_skips_a_level(project_dir):
    path = _add_to_first_body(project_dir, "#### Four parts of the model")
    check = _check(project_dir)
    found = accessibility.findings(check)
    [finding] = [f for f in found if f.rule == "accessibility.heading-order"]
    assert finding.severity is Severity.WARNING
    assert "'Four parts of the model' jumps from level 2 to level 4" in finding.message
    assert finding.place == Place(field=("sections", 0, "body"))
    assert check.line_of(finding.place) == _line_of(path, "body:")
    assert "###" in finding.fix


def test_a_markdown_heading_one_level_down_is_fine(project_dir):
    _add_to_first_body(project_dir, "### Four parts of the model")
    assert _findings(project_dir, "accessibility.heading-order") == []


def test_a_second_top_level_heading(project_dir):
    _add_to_first_body(project_dir, "# Four parts of the model")
    [finding] = _findings(project_dir, "accessibility.heading-order")
    assert "second top-level heading" in finding.message
    assert finding.place == Place(field=("sections", 0, "body"))


# Text size ----------------------------------------------------------------------------


def test_body_text_at_twelve_pixels(project_dir):
    _edit(
        project_dir / "templates" / "sections" / "article.mjml.j2",
        "<mj-text>\n          {{ section.body | markdown }}",
        '<mj-text font-size="12px">\n          {{ section.body | markdown }}',
    )
    check = _check(project_dir)
    found = [f for f in accessibility.findings(check) if f.rule == "accessibility.text-size"]
    articles = [i for i, s in enumerate(check.issue.sections) if s.type == "article"]
    assert [f.place for f in found] == [Place(field=("sections", i)) for i in articles]
    assert all(f.severity is Severity.WARNING for f in found)
    assert "is 12 px, under the 14 px body text needs" in found[0].message


def test_small_print_may_be_twelve_pixels_but_no_less(project_dir):
    footer = project_dir / "templates" / "footer.mjml.j2"
    _edit(footer, 'font-size="13px"', 'font-size="12px"')
    assert _findings(project_dir, "accessibility.text-size") == []
    _edit(footer, 'font-size="12px"', 'font-size="8pt"')
    [finding] = _findings(project_dir, "accessibility.text-size")
    assert "10.67 px, under the 12 px small print needs" in finding.message
    assert finding.place == Place(Source.TEMPLATE, name="footer.mjml.j2")


# Computed look of the HTML -------------------------------------------------------------


def _looks(body: str) -> dict[str, Look]:
    document = lxml.html.document_fromstring(f"<html><body>{body}</body></html>")
    return {text: look for _element, look, text in Styles(document).texts}


def test_font_sizes_inherit_and_scale():
    found = _looks(
        '<div style="font-size:12pt"><p style="font-size:75%">three quarters'
        '<span style="font-size:1.5em">one and a half</span></p>'
        '<font size="2">font two</font><h1>heading</h1>'
        '<p style="font: bold 10px/1.5 Arial">shorthand</p></div>'
    )
    assert found["three quarters"].size == pytest.approx(12)
    assert found["one and a half"].size == pytest.approx(18)
    assert found["font two"].size == 13
    assert found["heading"].size == pytest.approx(32) and found["heading"].bold
    assert found["shorthand"].size == 10 and found["shorthand"].bold


def test_colours_and_backgrounds_inherit():
    found = _looks(
        '<table bgcolor="#1d4f91"><tr><td style="color:#fff">on blue'
        '<a href="https://example.org">plain link</a>'
        '<a href="#" style="color:inherit">inheriting link</a>'
        '<font color="red">font red</font></td></tr></table>'
        '<div style="background:url(x.png)">over a picture</div>'
        '<div style="background:rgba(0,0,0,0.5)">over half black</div>'
    )
    assert found["on blue"].backdrop.hex == "#1d4f91"
    assert found["plain link"].colour == LINK
    assert found["inheriting link"].colour.hex == "#ffffff"
    assert found["font red"].colour.hex == "#ff0000"
    assert found["over a picture"].backdrop is None
    assert found["over half black"].backdrop.hex == "#808080"


def test_hidden_and_empty_elements_carry_no_text():
    found = _looks(
        '<div style="display:none">gone</div><div style="font-size:0">zero</div>'
        '<div style="visibility:hidden">invisible</div><p>&nbsp;&zwnj;</p><p>seen</p>'
    )
    assert list(found) == ["seen"]


def test_weight_decides_what_counts_as_large():
    found = _looks(
        '<h2>bold by default<span style="font-weight:normal">not bold</span></h2>'
        '<p style="font-weight:700">seven hundred</p><p style="font-weight:600">six hundred</p>'
        '<p style="color:transparent">transparent text</p>'
    )
    assert found["bold by default"].bold and not found["not bold"].bold
    assert found["seven hundred"].bold and not found["six hundred"].bold
    assert "transparent text" not in found
