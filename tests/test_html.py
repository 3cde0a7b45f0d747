"""What every compiled email must be, checked on the parsed HTML and the text part."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from htmlparse import Document, parse

from newsletter.campaigns import load_issue
from newsletter.config import Settings
from newsletter.models import Issue
from newsletter.providers.mailchimp.tags import MAILCHIMP_TAGS
from newsletter.providers.registry import merge_tag_names, merge_tags_of
from newsletter.render.compile import CompiledIssue, compile_issue, sample_recipient
from newsletter.render.markdown import TEXT_WIDTH
from newsletter.render.merge import LOCAL_TAGS

SLOT = re.compile(r"^(\[\[nl:[a-z_]+\]\]|\*\|[A-Z_:]+\|\*)$")


@pytest.fixture(params=merge_tag_names())
def compiled(request, settings, example_file) -> tuple[Issue, CompiledIssue]:
    issue = load_issue(example_file, settings)
    return issue, compile_issue(issue, settings, merge_tags_of(request.param))


def test_every_section_heading_is_present(compiled):
    issue, email = compiled
    headings = [h2.text for h2 in parse(email.html).all("h2")]
    for section in issue.sections:
        assert section.heading in headings


def test_contents_links_resolve_to_both_id_and_name_targets(compiled):
    issue, email = compiled
    document = parse(email.html)
    anchors = [href for href in document.hrefs() if href.startswith("#")]
    assert anchors == [f"#{section.id}" for section in issue.sections]
    ids = {element.attrs["id"] for element in document.elements if "id" in element.attrs}
    names = {a.attrs["name"] for a in document.all("a") if "name" in a.attrs}
    for href in anchors:
        assert href[1:] in ids
        assert href[1:] in names


def test_links_are_https_mailto_slots_or_contents_anchors(compiled):
    _, email = compiled
    hrefs = parse(email.html).hrefs()
    assert hrefs
    for href in hrefs:
        assert href.startswith(("https://", "mailto:", "#")) or SLOT.match(href), (
            f"link {href!r} is not absolute https, mailto, an anchor or a merge slot"
        )
        assert "%" not in href, f"link {href!r} was percent-encoded"


def test_images_have_alt_text(compiled):
    _, email = compiled
    images = parse(email.html).all("img")
    assert images
    for image in images:
        assert image.attrs.get("alt", "").strip(), image.attrs


def test_document_language_direction_and_title(compiled, settings):
    issue, email = compiled
    document = parse(email.html)
    html = document.all("html")[0]
    assert html.attrs["lang"] == settings.language == "en-GB"
    assert html.attrs["dir"] == "ltr"
    assert document.all("title")[0].text == issue.subject


def test_layout_tables_are_presentation(compiled):
    _, email = compiled
    tables = parse(email.html).all("table")
    assert len(tables) > 10
    assert all(table.attrs.get("role") == "presentation" for table in tables)


def test_preheader_is_hidden_and_comes_first(compiled):
    issue, email = compiled
    hidden = [
        div
        for div in parse(email.html).all("div")
        if "display:none" in div.attrs.get("style", "").replace(" ", "")
    ]
    first = hidden[0]
    expected = issue.preview_text if email.merge_tags == "local" else "*|MC_PREVIEW_TEXT|*"
    assert first.text == expected
    body_text = " ".join(parse(email.html.split("<body", 1)[1].split(">", 1)[1]).text)
    assert body_text.startswith(expected)


def test_footer_has_the_required_links_and_addresses(compiled, settings):
    _, email = compiled
    tags = merge_tags_of(email.merge_tags)
    document = parse(email.html)
    by_href: dict[str, list[str]] = {}
    for a in document.all("a"):
        by_href.setdefault(a.attrs.get("href", ""), []).append(a.text.lower())
    assert "unsubscribe" in by_href[tags.slots["unsubscribe_url"]]
    assert "update your preferences" in by_href[tags.slots["preferences_url"]]
    assert "why did i get this?" in by_href[tags.slots["about_url"]]
    assert "view this email in your browser" in by_href[tags.slots["archive_url"]]
    page_text = " ".join(document.text)
    assert f"This email was sent to {tags.slots['email']}." in page_text
    address = tags.address_line or settings.organisation.address_line
    assert address in page_text


def test_mailchimp_tags_survive_intact_in_href(settings, example_file):
    email = compile_issue(load_issue(example_file, settings), settings, MAILCHIMP_TAGS)
    hrefs = parse(email.html).hrefs()
    for tag in ("*|UNSUB|*", "*|UPDATE_PROFILE|*", "*|ARCHIVE|*", "*|ABOUT_LIST|*"):
        assert tag in hrefs
        assert f'href="{tag}"' in email.html
    assert "*|IF:FNAME|*Dear *|FNAME|*,*|ELSE:|*Dear colleague,*|END:IF|*" in email.html
    assert "[[nl:" not in email.html + email.text


def test_local_slots_fill_per_recipient_and_escape(settings, example_file):
    email = compile_issue(load_issue(example_file, settings), settings, LOCAL_TAGS)
    recipient = sample_recipient(settings, email.slug)
    sneaky = type(recipient)(
        email="o'neil&co@example.org",
        first_name="<b>Al</b>",
        unsubscribe_url="https://news.example.org/u/abc?x=1&y=2",
        preferences_url=recipient.preferences_url,
        archive_url=recipient.archive_url,
        about_url=recipient.about_url,
    )
    html, text = email.personalise(sneaky, settings.greeting)
    document = parse(html)
    assert "https://news.example.org/u/abc?x=1&y=2" in document.hrefs()
    assert "This email was sent to o'neil&co@example.org." in " ".join(document.text)
    assert "<b>" not in html and "Dear &lt;b&gt;Al&lt;/b&gt;," in html
    assert "Dear <b>Al</b>," in text
    assert "[[nl:" not in html + text


def _hostile_issue(tmp_path: Path, settings: Settings) -> CompiledIssue:
    path = tmp_path / "hostile.yaml"
    path.write_text(
        """\
subject: "Fish & chips <script>alert(1)</script>"
preview_text: "Salt & vinegar <script>"
intro: "Tom & Jerry wrote <script>alert(5)</script> here."
sections:
  - type: article
    heading: "Q&A <script>alert(2)</script>"
    kicker: "R&D <i>"
    body: |
      Body with <script>alert(3)</script> & an [A&B link](https://example.org/?a=1&b=2).
    button: {text: "Go & see <b>", url: "https://example.org/go?x=1&y=2"}
  - type: news
    heading: News & views
    items:
      - title: "Item <img src=x onerror=alert(4)>"
        body: "Cats & dogs"
        url: https://example.org/item?p=1&q=2
""",
        encoding="utf-8",
    )
    return compile_issue(load_issue(path, settings), settings)


def test_user_text_is_escaped_in_html_and_as_written_in_text(settings, tmp_path):
    email = _hostile_issue(tmp_path, settings)
    document = parse(email.html)
    tags = {element.tag for element in document.elements}
    assert "script" not in tags
    assert not [img for img in document.all("img") if img.attrs.get("src") == "x"]
    assert not [e for e in document.elements if "onerror" in e.attrs]
    shown = " ".join(document.text)
    for written in (
        "Fish & chips <script>alert(1)</script>",
        "Q&A <script>alert(2)</script>",
        "R&D <i>",
        "Body with <script>alert(3)</script> & an",
        "Go & see <b>",
        "Item <img src=x onerror=alert(4)>",
        "Tom & Jerry wrote <script>alert(5)</script> here.",
    ):
        assert written in shown, written
        assert written in email.text, written
    assert "https://example.org/?a=1&b=2" in document.hrefs()
    assert "&amp;b=2" in email.html
    assert "https://example.org/?a=1&b=2" in email.text
    assert "&amp;" not in email.text and "&lt;" not in email.text


def _text_links(text: str) -> set[str]:
    return set(re.findall(r"(?:https://|mailto:)[^\s()]+|\[\[nl:[a-z_]+\]\]|\*\|[A-Z_]+\|\*", text))


def test_every_link_in_the_html_is_in_the_text_part(compiled):
    _, email = compiled
    in_text = _text_links(email.text)
    for href in parse(email.html).hrefs():
        if href.startswith("#"):
            continue
        if href.startswith("mailto:"):
            assert href in in_text or href.removeprefix("mailto:") in email.text
        else:
            assert href in in_text, f"{href} is not in the text part"


def test_text_lines_fit_78_columns_except_unbreakable_urls(settings, example_file):
    for tags in map(merge_tags_of, merge_tag_names()):
        email = compile_issue(load_issue(example_file, settings), settings, tags)
        recipient = sample_recipient(settings, email.slug)
        long_recipient = type(recipient)(
            email="someone@example.org",
            unsubscribe_url="https://news.example.org/unsubscribe/" + "t" * 120,
        )
        texts = [email.text]
        if tags is LOCAL_TAGS:
            texts.append(email.personalise(long_recipient, settings.greeting)[1])
        for text in texts:
            for line in text.splitlines():
                if len(line) <= TEXT_WIDTH:
                    continue
                words = line.split()
                assert len(words) == 1 and "://" in words[0], f"line too long: {line!r}"


def test_contents_list_in_text_part_names_every_section(compiled):
    issue, email = compiled
    block = email.text.split("IN THIS ISSUE", 1)[1].split("\n\n\n", 1)[0]
    for section in issue.sections:
        assert section.contents_label.split()[0] in block


def _document(email: CompiledIssue) -> Document:
    return parse(email.html)


def test_logo_header_uses_alt_text(settings, example_file, project_dir):
    project = project_dir / "newsletter.yaml"
    project.write_text(
        project.read_text().replace(
            "  contact_email: newsletter@example.org\n",
            "  contact_email: newsletter@example.org\n"
            "  logo: {src: 'https://www.example.org/logo.png', alt: Northmoor logo}\n",
        )
    )
    from newsletter.config import load_settings

    with_logo = load_settings(project)
    email = compile_issue(load_issue(example_file, with_logo), with_logo)
    logos = [img for img in _document(email).all("img") if img.attrs["src"].endswith("logo.png")]
    assert logos and logos[0].attrs["alt"] == "Northmoor logo"


def test_merge_tags_written_in_a_url_stay_intact(settings, tmp_path):
    path = tmp_path / "tagged.yaml"
    path.write_text(
        "subject: S\npreview_text: P\nsections:\n  - type: cta\n    heading: H\n"
        "    body: B\n    buttons:\n"
        "      - {text: Go, url: 'https://example.org/s?e=*|EMAIL|*&id=*|UNIQID|*'}\n",
        encoding="utf-8",
    )
    email = compile_issue(load_issue(path, settings), settings, MAILCHIMP_TAGS)
    assert "https://example.org/s?e=*|EMAIL|*&id=*|UNIQID|*" in parse(email.html).hrefs()
    assert "https://example.org/s?e=*|EMAIL|*&id=*|UNIQID|*" in email.text


def test_right_to_left_languages_align_to_the_right(project_dir, example_file):
    from newsletter.config import load_settings

    project = project_dir / "newsletter.yaml"
    project.write_text(
        project.read_text().replace("language: en-GB", "language: ar\ndirection: rtl")
    )
    settings = load_settings(project)
    document = parse(compile_issue(load_issue(example_file, settings), settings).html)
    html = document.all("html")[0]
    assert (html.attrs["lang"], html.attrs["dir"]) == ("ar", "rtl")
    intro = [div for div in document.all("div") if "This season we published" in div.text][-1]
    assert "text-align:right" in intro.attrs["style"].replace(" ", "")
    assert all("padding:024px00" in ul.attrs["style"].replace(" ", "") for ul in document.all("ul"))
    button_cells = [td for td in document.all("td") if td.attrs.get("align") == "right"]
    assert button_cells
