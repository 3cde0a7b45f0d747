"""The images and text rules: each fires on an issue or template override made to break
it, at the place and line that caused it, and the example issue passes both families
clean with the local slots and with Mailchimp's tags."""

from __future__ import annotations

from pathlib import Path

import pytest
from mailchimp_support import fake_provider

from newsletter import checks
from newsletter.campaigns import load_located
from newsletter.checks import CheckInput, Finding, Place, Severity, Source
from newsletter.checks.images import image_file
from newsletter.checks.text import shouting
from newsletter.config import load_settings
from newsletter.providers import get_provider
from newsletter.providers.mailchimp.fake import FakeMailchimp

EXAMPLE_IMAGE_SRC = "src: https://www.example.org/static/newsletter/safer-sleep.jpg"
ARTICLE_IMAGE = (
    '<mj-image src="{{ section.image.src }}" alt="{{ section.image.alt }}" '
    'width="{{ [section.image.width, 552] | min }}px"'
    '{% if section.image.href %} href="{{ section.image.href }}"{% endif %} />'
)
KB = 1024


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"{old!r} is not once in {path.name}"
    path.write_text(text.replace(old, new), encoding="utf-8")


def _line(path: Path, text: str) -> int:
    lines = path.read_text(encoding="utf-8").splitlines()
    found = [number for number, line in enumerate(lines, 1) if text in line]
    assert len(found) == 1, f"{text!r} is on lines {found}"
    return found[0]


def _local(project_dir: Path, path: Path) -> CheckInput:
    settings = load_settings(project_dir / "newsletter.yaml")
    located = load_located(path, settings)
    with get_provider(settings, "local") as provider:
        return provider.check_input(located.issue, source=located.source)


def _mailchimp(project_dir: Path, path: Path, monkeypatch: pytest.MonkeyPatch) -> CheckInput:
    settings = load_settings(project_dir / "newsletter.yaml")
    located = load_located(path, settings)
    provider = fake_provider(settings, monkeypatch, FakeMailchimp())
    return provider.check_input(located.issue, source=located.source)


def _found(check: CheckInput, rule: str) -> list[Finding]:
    family = rule.partition(".")[0]
    return [finding for finding in checks.findings(check, [family]) if finding.rule == rule]


def _only(check: CheckInput, rule: str, severity: Severity) -> Finding:
    found = _found(check, rule)
    assert len(found) == 1, found
    assert found[0].severity is severity
    assert found[0].message and found[0].fix
    return found[0]


# The example


def test_the_example_is_clean_with_local_slots(project_dir, example_file):
    check = _local(project_dir, example_file)
    assert checks.findings(check, ["images", "text"]) == []


def test_the_example_is_clean_with_mailchimp_tags(project_dir, example_file, monkeypatch):
    check = _mailchimp(project_dir, example_file, monkeypatch)
    assert check.compiled.merge_tags == "mailchimp"
    assert "*|UNSUB|*" in check.compiled.text
    assert checks.findings(check, ["images", "text"]) == []


# Images


def _article_image(project_dir: Path, replacement: str) -> None:
    _edit(project_dir / "templates" / "sections" / "article.mjml.j2", ARTICLE_IMAGE, replacement)


def test_an_image_without_alt_is_an_error_at_its_field(project_dir, example_file):
    _article_image(
        project_dir,
        '<mj-text><img src="{{ section.image.src }}" width="552"></mj-text>',
    )
    finding = _only(_local(project_dir, example_file), "images.missing-alt", Severity.ERROR)
    assert "'safer-sleep.jpg'" in finding.message
    assert "sections/article.mjml.j2" in finding.fix
    assert finding.place == Place(field=("sections", 0, "image", "src"))
    check = _local(project_dir, example_file)
    assert check.line_of(finding.place) == _line(example_file, EXAMPLE_IMAGE_SRC)


def test_empty_alt_is_decorative_unless_the_image_is_the_whole_link(project_dir, example_file):
    _article_image(
        project_dir,
        ARTICLE_IMAGE.replace('alt="{{ section.image.alt }}"', 'alt=""'),
    )
    assert _found(_local(project_dir, example_file), "images.missing-alt") == []
    assert _found(_local(project_dir, example_file), "images.link-alt") == []

    _edit(
        example_file,
        "      width: 552\n",
        "      width: 552\n      href: https://www.example.org/\n",
    )
    finding = _only(_local(project_dir, example_file), "images.link-alt", Severity.ERROR)
    assert finding.place == Place(field=("sections", 0, "image", "src"))


@pytest.mark.parametrize(
    ("src", "rule", "severity"),
    [
        ("http://www.example.org/banner.png", "images.insecure", Severity.WARNING),
        ("images/banner.png", "images.bad-src", Severity.ERROR),
        ("file:///home/me/banner.png", "images.bad-src", Severity.ERROR),
        ("", "images.bad-src", Severity.ERROR),
    ],
)
def test_an_image_address_a_client_cannot_load_safely(
    project_dir, example_file, src, rule, severity
):
    main = project_dir / "templates" / "newsletter.mjml.j2"
    _edit(
        main,
        "{% for section in issue.sections %}",
        '    <mj-section><mj-column><mj-image src="' + src + '" alt="Our banner" '
        'width="552px" /></mj-column></mj-section>\n{% for section in issue.sections %}',
    )
    finding = _only(_local(project_dir, example_file), rule, severity)
    assert finding.place == Place(Source.TEMPLATE, name="newsletter.mjml.j2")


@pytest.mark.parametrize(
    "src", ["cid:banner@example.org", "data:image/gif;base64,R0lGODlhAQABAAAAACw="]
)
def test_embedded_images_are_accepted(project_dir, example_file, src):
    _article_image(project_dir, f'<mj-image src="{src}" alt="Banner" width="552px" />')
    found = checks.findings(_local(project_dir, example_file), ["images"])
    assert found == []


def test_an_image_without_a_width_is_a_warning(project_dir, example_file):
    _article_image(
        project_dir,
        '<mj-text><img src="{{ section.image.src }}" alt="{{ section.image.alt }}"></mj-text>',
    )
    finding = _only(_local(project_dir, example_file), "images.no-width", Severity.WARNING)
    assert finding.place == Place(field=("sections", 0, "image", "src"))


def test_a_css_width_is_enough(project_dir, example_file):
    _article_image(
        project_dir,
        '<mj-text><img src="{{ section.image.src }}" alt="{{ section.image.alt }}" '
        'style="width: 300px"></mj-text>',
    )
    assert _found(_local(project_dir, example_file), "images.no-width") == []


def _local_image(project_dir: Path, example_file: Path, name: str, size: int) -> None:
    """The first article shows ``images/<name>`` from the public site, ``size`` bytes."""
    folder = project_dir / "images"
    (folder / name).parent.mkdir(parents=True, exist_ok=True)
    (folder / name).write_bytes(b"\xff" * size)
    _edit(
        example_file,
        EXAMPLE_IMAGE_SRC,
        f"src: https://news.example.org/images/{name}",
    )


@pytest.mark.parametrize(
    ("size", "rule", "severity"),
    [(300 * KB, "images.heavy", Severity.WARNING), (1200 * KB, "images.too-heavy", Severity.ERROR)],
)
def test_a_heavy_image_in_the_images_folder(project_dir, example_file, size, rule, severity):
    _local_image(project_dir, example_file, "2026/safer-sleep.jpg", size)
    check = _local(project_dir, example_file)
    finding = _only(check, rule, severity)
    assert "'safer-sleep.jpg'" in finding.message
    assert finding.place == Place(field=("sections", 0, "image", "src"))
    assert check.line_of(finding.place) == _line(example_file, "news.example.org/images/")


def test_a_light_image_and_a_missing_file_are_not_reported(project_dir, example_file):
    _local_image(project_dir, example_file, "light.jpg", 150 * KB)
    assert checks.findings(_local(project_dir, example_file), ["images"]) == []
    (project_dir / "images" / "light.jpg").unlink()
    assert checks.findings(_local(project_dir, example_file), ["images"]) == []


def test_the_images_folder_is_a_setting(project_dir, example_file):
    _edit(
        project_dir / "newsletter.yaml",
        "provider: local\n",
        "provider: local\nimages_dir: assets/email\n",
    )
    (project_dir / "assets" / "email").mkdir(parents=True)
    (project_dir / "assets" / "email" / "cover.jpg").write_bytes(b"\xff" * (250 * KB))
    _edit(example_file, EXAMPLE_IMAGE_SRC, "src: https://news.example.org/images/cover.jpg")
    _only(_local(project_dir, example_file), "images.heavy", Severity.WARNING)


def test_many_images_together_are_too_heavy(project_dir, example_file):
    _local_image(project_dir, example_file, "one.jpg", 600 * KB)
    (project_dir / "images" / "two.jpg").write_bytes(b"\xff" * (600 * KB))
    _edit(
        example_file,
        "    heading: A national review of non-accidental injury in babies\n",
        "    heading: A national review of non-accidental injury in babies\n"
        "    image: {src: https://news.example.org/images/two.jpg, alt: A hospital ward}\n",
    )
    check = _local(project_dir, example_file)
    assert len(_found(check, "images.heavy")) == 2
    finding = _only(check, "images.total-heavy", Severity.WARNING)
    assert "1.2 MB" in finding.message


def test_only_files_inside_the_images_folder_are_weighed(settings, project_dir):
    (project_dir / "images").mkdir()
    (project_dir / "images" / "a b.png").write_bytes(b"x")
    assert image_file(settings, "https://news.example.org/images/a%20b.png") is not None
    assert image_file(settings, "http://NEWS.example.org/images/a%20b.png?v=2") is not None
    assert image_file(settings, "https://news.example.org/images/../newsletter.yaml") is None
    assert image_file(settings, "https://news.example.org/images/%2e%2e/newsletter.yaml") is None
    assert image_file(settings, "https://www.example.org/images/a%20b.png") is None
    assert image_file(settings, "https://news.example.org/a%20b.png") is None


# Text: subject and preview text


def test_a_long_subject_is_a_note_then_a_warning(project_dir, example_file):
    _edit(example_file, "and our first webinar", "and our first webinar on learning reviews")
    check = _local(project_dir, example_file)
    note = _only(check, "text.subject-long", Severity.NOTE)
    assert "is 67 characters" in note.message
    assert note.place == Place(field=("subject",))
    assert check.line_of(note.place) == _line(example_file, "subject:")

    _edit(example_file, "on learning reviews", "on learning reviews for practitioners in 2027")
    check = _local(project_dir, example_file)
    finding = _only(check, "text.subject-too-long", Severity.WARNING)
    assert "is 93 characters" in finding.message
    assert check.line_of(finding.place) == _line(example_file, "subject:")
    assert _found(check, "text.subject-long") == []


@pytest.mark.parametrize(
    ("subject", "shouted"),
    [
        ("FREE WEBINAR TODAY for practitioners", "FREE WEBINAR TODAY"),
        ("Book your place now: URGENT!", "URGENT"),
        ("Book NOW, it is FREE and OPEN", None),
        ("NSPCC and COVID-19 guidance from the U.N.E.S.C.O. team for GPs in the UK", None),
        ("NEW: safer sleep findings", None),
        ("Safer sleep, a new review on infant injury", None),
    ],
)
def test_what_counts_as_shouting(subject, shouted):
    assert shouting(subject) == shouted


def test_capitals_in_the_subject_are_a_warning(project_dir, example_file):
    _edit(example_file, '"Safer sleep, a new', '"IMPORTANT: safer sleep, a new')
    check = _local(project_dir, example_file)
    finding = _only(check, "text.subject-caps", Severity.WARNING)
    assert "'IMPORTANT'" in finding.message
    assert check.line_of(finding.place) == _line(example_file, "subject:")


@pytest.mark.parametrize(
    "preview",
    [
        "Safer sleep findings are out.",
        "Our safer sleep findings are out, fieldwork starts on a new review of injuries to "
        "babies, and you can book a place at our first webinar on learning reviews.",
    ],
)
def test_a_preview_text_too_short_or_too_long(project_dir, example_file, preview):
    _edit(example_file, "preview_text: Our safer sleep", f"preview_text: {preview} #")
    check = _local(project_dir, example_file)
    finding = _only(check, "text.preheader-length", Severity.WARNING)
    assert finding.place == Place(field=("preview_text",))
    assert check.line_of(finding.place) == _line(example_file, "preview_text:")


@pytest.mark.parametrize(
    "preview",
    [
        "safer sleep - a new review and our first webinar!",
        "Safer sleep, a new review and our first webinar: book a place today",
    ],
)
def test_a_preview_text_that_repeats_the_subject(project_dir, example_file, preview):
    text = example_file.read_text(encoding="utf-8").splitlines(keepends=True)
    text[2] = f'preview_text: "{preview}"\n'
    example_file.write_text("".join(text), encoding="utf-8")
    check = _local(project_dir, example_file)
    finding = _only(check, "text.preheader-repeat", Severity.WARNING)
    assert check.line_of(finding.place) == 3


# Text: leftovers


def test_jinja_in_a_campaign_field_is_an_error_at_that_field(project_dir, example_file):
    _edit(
        example_file,
        "      Since we began, partnerships",
        "      {{ first_name }}, since we began, partnerships",
    )
    check = _local(project_dir, example_file)
    finding = _only(check, "text.template-leftover", Severity.ERROR)
    assert "'{{ first_name }}'" in finding.message
    assert finding.place == Place(field=("sections", 1, "body"))
    assert check.line_of(finding.place) in {
        _line(example_file, "{{ first_name }}") - 1,
        _line(example_file, "{{ first_name }}"),
    }


def test_jinja_printed_by_the_footer_template_names_the_template(project_dir, example_file):
    _edit(
        project_dir / "templates" / "footer.mjml.j2",
        "Why did I get this?</a></p>",
        "Why did I get this?</a> {% raw %}{% if member %}{% endraw %}</p>",
    )
    finding = _only(_local(project_dir, example_file), "text.template-leftover", Severity.ERROR)
    assert "'{% if member %}'" in finding.message
    assert finding.place == Place(Source.TEMPLATE, name="footer.mjml.j2")


def test_a_misspelt_slot_is_an_error_at_its_field(project_dir, example_file):
    _edit(
        example_file,
        "    heading: Have your say\n",
        "    heading: Have your say, [[nl:firstname]]\n",
    )
    check = _local(project_dir, example_file)
    finding = _only(check, "text.unfilled-slot", Severity.ERROR)
    assert "[[nl:firstname]]" in finding.message and "no slot has this name" in finding.message
    assert finding.place == Place(field=("sections", 5, "heading"))
    assert check.line_of(finding.place) == _line(example_file, "[[nl:firstname]]")


def test_a_mailchimp_tag_is_an_error_only_for_the_local_provider(
    project_dir, example_file, monkeypatch
):
    _edit(
        example_file,
        "      - title: Annual report published",
        "      - title: Annual report for *|FNAME|*",
    )
    local = _only(_local(project_dir, example_file), "text.unfilled-slot", Severity.ERROR)
    assert "'*|FNAME|*'" in local.message
    assert local.place == Place(field=("sections", 3, "items", 0, "title"))
    assert _found(_mailchimp(project_dir, example_file, monkeypatch), "text.unfilled-slot") == []


def test_a_local_slot_is_an_error_only_for_mailchimp(project_dir, example_file, monkeypatch):
    _edit(
        example_file,
        "    heading: Have your say\n",
        '    heading: "[[nl:first_name]], have your say"\n',
    )
    assert _found(_local(project_dir, example_file), "text.unfilled-slot") == []
    check = _mailchimp(project_dir, example_file, monkeypatch)
    finding = _only(check, "text.unfilled-slot", Severity.ERROR)
    assert "mailchimp provider does not fill it" in finding.message
    assert check.line_of(finding.place) == _line(example_file, "have your say")


def test_a_slot_in_the_subject_is_never_filled_by_the_local_provider(project_dir, example_file):
    _edit(example_file, 'subject: "Safer sleep', 'subject: "[[nl:first_name]]: safer sleep')
    check = _local(project_dir, example_file)
    finding = _only(check, "text.unfilled-slot", Severity.ERROR)
    assert "subject" in finding.message
    assert check.line_of(finding.place) == _line(example_file, "subject:")


# Text: links of the plain-text part


def test_a_link_the_text_part_drops_is_an_error_at_its_field(project_dir, example_file):
    _edit(
        project_dir / "templates" / "sections" / "cta.txt.j2",
        '{{ (button.text ~ ": " ~ button.url) | wrap("") }}',
        "{{ button.text }}",
    )
    check = _local(project_dir, example_file)
    found = _found(check, "text.link-missing")
    assert [f.severity for f in found] == [Severity.ERROR, Severity.ERROR]
    survey, mail = found
    assert "https://www.example.org/survey/briefing" in survey.message
    assert "mailto:hello@example.org" in mail.message
    assert "sections/cta.txt.j2" in survey.fix
    assert survey.place == Place(field=("sections", 5, "buttons", 0, "url"))
    assert check.line_of(survey.place) == _line(
        example_file, "url: https://www.example.org/survey/"
    )


@pytest.mark.parametrize("provider", ["local", "mailchimp"])
def test_an_unsubscribe_slot_the_text_part_drops(project_dir, example_file, monkeypatch, provider):
    _edit(
        project_dir / "templates" / "newsletter.txt.j2",
        "Unsubscribe:\n{{ slot.unsubscribe_url }}\n",
        "",
    )
    if provider == "local":
        check = _local(project_dir, example_file)
    else:
        check = _mailchimp(project_dir, example_file, monkeypatch)
    finding = _only(check, "text.link-missing", Severity.ERROR)
    slot = "[[nl:unsubscribe_url]]" if provider == "local" else "*|UNSUB|*"
    assert f"'unsubscribe' ({slot})" in finding.message
    assert finding.place == Place(Source.TEMPLATE, name="footer.mjml.j2")


def test_a_link_followed_by_punctuation_in_the_text_part_counts(project_dir, example_file):
    _edit(
        project_dir / "templates" / "sections" / "cta.txt.j2",
        '{{ (button.text ~ ": " ~ button.url) | wrap("") }}',
        "{{ button.text }} ({{ button.url }}).",
    )
    assert _found(_local(project_dir, example_file), "text.link-missing") == []


def test_markdown_links_reach_the_text_part(project_dir, example_file):
    _edit(
        example_file,
        "      Handing out a leaflet is not enough.",
        "      Read [the summary](https://www.example.org/reviews/safer-sleep?part=1&lang=en),\n"
        "      or <https://www.example.org/café>. Handing out a leaflet is not enough.",
    )
    check = _local(project_dir, example_file)
    assert "https://www.example.org/reviews/safer-sleep?part=1&lang=en" in check.compiled.text
    assert _found(check, "text.link-missing") == []


def test_a_leftover_in_the_preview_text_with_mailchimp(project_dir, example_file, monkeypatch):
    before, after = "preview_text: Our", "preview_text: Read {{ intro }}; our"
    _edit(example_file, before, after)
    check = _mailchimp(project_dir, example_file, monkeypatch)
    assert "{{ intro }}" not in check.compiled.html, "Mailchimp shows its own preview text"
    finding = _only(check, "text.template-leftover", Severity.ERROR)
    assert finding.place == Place(field=("preview_text",))
    assert check.line_of(finding.place) == _line(example_file, "preview_text:")
