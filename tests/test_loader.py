"""Campaign and project files: every problem reported at its line, column and field."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from newsletter.campaigns import load_issue
from newsletter.config import load_settings
from newsletter.errors import CampaignError, ConfigError
from newsletter.models import Article, Event

HEAD = """\
subject: Winter news
preview_text: What is new this winter.
"""

ARTICLE = """\
sections:
  - type: article
    heading: First story
    body: Some words.
"""

# (name, file text, expected line prefix after "FILE:", expected fragment of the message)
BAD_FILES: list[tuple[str, str, str, str]] = [
    (
        "wrong type",
        HEAD + "topics: reviews\n" + ARTICLE,
        "3:9: topics: ",
        "valid list",
    ),
    (
        "missing field",
        "subject: Winter news\n" + ARTICLE,
        "1:1: preview_text: ",
        "Field required",
    ),
    (
        "missing field in a section",
        HEAD + "sections:\n  - type: article\n    heading: First story\n",
        "4:5: sections[0].body: ",
        "Field required",
    ),
    (
        "unknown key with a hint",
        HEAD + "subjcet: typo\n" + ARTICLE,
        "3:1: subjcet: ",
        "unknown field 'subjcet'; did you mean 'subject'?",
    ),
    (
        "unknown key in a section with a hint",
        HEAD + ARTICLE + "    headline: Another\n",
        "7:5: sections[0].headline: ",
        "unknown field 'headline'; did you mean 'heading'?",
    ),
    (
        "unknown key in an image with a hint",
        HEAD
        + ARTICLE
        + "    image:\n      src: https://example.org/a.png\n      alt: A cat\n      widht: 300\n",
        "10:7: sections[0].image.widht: ",
        "did you mean 'width'?",
    ),
    (
        "bad URL",
        HEAD + ARTICLE + "    button:\n      text: Go\n      url: not a url\n",
        "9:12: sections[0].button.url: ",
        "must be an absolute https:// URL or a mailto: link",
    ),
    (
        "http URL",
        HEAD + ARTICLE + "    button:\n      text: Go\n      url: http://example.org/\n",
        "9:12: sections[0].button.url: ",
        "'http://example.org/' must be an absolute https:// URL",
    ),
    (
        "image src over http",
        HEAD + ARTICLE + "    image:\n      src: http://example.org/a.png\n      alt: A cat\n",
        "8:12: sections[0].image.src: ",
        "is not an absolute https:// URL",
    ),
    (
        "duplicate section id",
        HEAD
        + ARTICLE
        + "    id: story\n  - type: article\n    id: story\n    heading: Two\n    body: More.\n",
        "9:9: sections[1].id: ",
        "section id 'story' is already used by sections[0]",
    ),
    (
        "image without alt",
        HEAD + ARTICLE + "    image:\n      src: https://example.org/a.png\n",
        "8:7: sections[0].image.alt: ",
        "Field required",
    ),
    (
        "image with empty alt",
        HEAD + ARTICLE + "    image:\n      src: https://example.org/a.png\n      alt: ''\n",
        "9:12: sections[0].image.alt: ",
        "at least 1 character",
    ),
    (
        "bad date",
        HEAD
        + "sections:\n  - type: event\n    heading: Webinar\n    title: Learning\n"
        + "    starts_at: next Tuesday\n    location: Online\n    body: Join us.\n",
        "7:16: sections[0].starts_at: ",
        "valid datetime",
    ),
    (
        "event ends before it starts",
        HEAD
        + "sections:\n  - type: event\n    heading: Webinar\n    title: Learning\n"
        + "    starts_at: 2027-01-14 10:00\n    ends_at: 2027-01-14 09:00\n"
        + "    location: Online\n    body: Join us.\n",
        "8:14: sections[0].ends_at: ",
        "must be after starts_at",
    ),
    (
        "empty sections",
        HEAD + "sections: []\n",
        "3:11: sections: ",
        "at least 1 item",
    ),
    (
        "YAML syntax error",
        HEAD + "sections:\n  - type: article\n    heading: [unclosed\n",
        "6:1: YAML syntax error: ",
        "expected ',' or ']'",
    ),
    (
        "tab indentation",
        HEAD + "sections:\n\t- type: article\n",
        "4:1: YAML syntax error: ",
        "tabs are not allowed for indentation; use spaces",
    ),
    (
        "unknown topic",
        HEAD + "topics: [reviews, gardening]\n" + ARTICLE,
        "3:9: topics: ",
        "unknown topic 'gardening' (topics in newsletter.yaml: events, resources, reviews)",
    ),
    (
        "bad section type",
        HEAD + "sections:\n  - type: poem\n    heading: Verse\n",
        "4:11: sections[0].type: ",
        "unknown type 'poem'; it is one of: article, news, event, cta",
    ),
    (
        "Markdown link not https",
        HEAD
        + "sections:\n  - type: article\n    heading: One\n"
        + "    body: See [our site](http://example.org).\n",
        "6:11: sections[0].body: ",
        "link 'http://example.org' must be an absolute https:// URL or a mailto: link",
    ),
    (
        "Markdown link in the intro",
        HEAD + "intro: See [here](/relative).\n" + ARTICLE,
        "3:8: intro: ",
        "link '/relative' must be an absolute https:// URL",
    ),
    (
        "image in Markdown",
        HEAD + "intro: 'Look: ![](https://example.org/a.png)'\n" + ARTICLE,
        "3:8: intro: ",
        "images in Markdown are not supported",
    ),
    (
        "impossible calendar date",
        HEAD + "send_at: 2026-13-45\n" + ARTICLE,
        "3:10: send_at: ",
        "month value is outside expected range of 1-12",
    ),
    (
        "a list as a key",
        HEAD + "[a, b]: 1\n" + ARTICLE,
        "3:1: (top level): ",
        "a key must be plain text",
    ),
    (
        "a Python tag",
        HEAD + "title: !!python/object/apply:os.system [echo]\n" + ARTICLE,
        "3:8: title: ",
        "cannot read this value: unsupported tag 'tag:yaml.org,2002:python/object/apply:os.system'",
    ),
    (
        "a Python tag on a text value",
        HEAD + "title: !!python/name:os.system x\n" + ARTICLE,
        "3:8: title: ",
        "cannot read this value: could not determine a constructor",
    ),
    (
        "duplicate key",
        HEAD + "subject: Again\n" + ARTICLE,
        "3:1: subject: ",
        "duplicate key",
    ),
    (
        "news without items",
        HEAD + "sections:\n  - type: news\n    heading: Updates\n    items: []\n",
        "6:12: sections[0].items: ",
        "at least 1 item",
    ),
    (
        "cta without buttons",
        HEAD + "sections:\n  - type: cta\n    heading: Say\n    body: Tell us.\n",
        "4:5: sections[0].buttons: ",
        "Field required",
    ),
    (
        "bad section id",
        HEAD + ARTICLE + "    id: Not An Id\n",
        "7:9: sections[0].id: ",
        "should match pattern",
    ),
    (
        "section type with a hint",
        HEAD + "sections:\n  - type: artcle\n    heading: Verse\n",
        "4:11: sections[0].type: ",
        "did you mean 'article'?",
    ),
    (
        "section without a type",
        HEAD + "sections:\n  - heading: Verse\n",
        "4:5: sections[0]: ",
        "'type' is missing; it is one of: article, news, event, cta",
    ),
    (
        "a line break in the subject",
        'subject: "Winter news\\r\\nBcc: x@example.net"\npreview_text: What is new.\n' + ARTICLE,
        "1:10: subject: ",
        "contains a carriage return (U+000D); it goes into an email header",
    ),
    (
        "a control character in the preview text",
        'subject: Winter news\npreview_text: "What is\\x07 new."\n' + ARTICLE,
        "2:15: preview_text: ",
        "contains a control character (U+0007)",
    ),
    (
        "not a mapping",
        "- just\n- a list\n",
        "1:1: ",
        "a campaign file must be a mapping",
    ),
]


@pytest.mark.parametrize(
    ("text", "where", "message"),
    [case[1:] for case in BAD_FILES],
    ids=[case[0] for case in BAD_FILES],
)
def test_bad_file_names_line_column_and_field(settings, tmp_path, text, where, message):
    path = tmp_path / "bad.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(CampaignError) as caught:
        load_issue(path, settings)
    lines = caught.value.lines
    matching = [line for line in lines if line.startswith(f"{path}:{where}")]
    assert matching, f"no line starts with {path}:{where} in {lines}"
    assert message in matching[0]
    assert all("\n" not in line for line in lines)


def test_every_problem_is_reported_in_file_order(settings, tmp_path):
    path = tmp_path / "many.yaml"
    path.write_text(
        "subject: ''\n"
        "preview_txt: x\n"
        "sections:\n"
        "  - type: article\n"
        "    heading: One\n"
        "    body: Text.\n"
        "    button: {text: Go, url: 'http://example.org'}\n"
        "  - type: event\n"
        "    heading: Two\n"
        "    title: T\n"
        "    starts_at: soon\n"
        "    location: Online\n"
        "    body: B\n",
        encoding="utf-8",
    )
    with pytest.raises(CampaignError) as caught:
        load_issue(path, settings)
    where = [line.removeprefix(f"{path}:").split(": ")[0:2] for line in caught.value.lines]
    assert where == [
        ["1:1", "preview_text"],
        ["1:10", "subject"],
        ["2:1", "preview_txt"],
        ["7:29", "sections[0].button.url"],
        ["11:16", "sections[1].starts_at"],
    ]
    assert "did you mean 'preview_text'?" in caught.value.lines[2]


def test_every_structural_problem_is_reported(settings, tmp_path):
    path = tmp_path / "twice.yaml"
    path.write_text(HEAD + "subject: Again\n" + ARTICLE + "    heading: Twice\n", encoding="utf-8")
    with pytest.raises(CampaignError) as caught:
        load_issue(path, settings)
    assert caught.value.lines == [
        f"{path}:3:1: subject: duplicate key",
        f"{path}:8:5: sections[0].heading: duplicate key",
    ]


def test_times_without_a_zone_take_the_project_zone(settings, tmp_path):
    path = tmp_path / "zones.yaml"
    path.write_text(
        HEAD
        + "send_at: 2027-07-01 09:00\n"
        + "sections:\n  - type: event\n    heading: W\n    title: T\n"
        + "    starts_at: 2027-01-14T10:00:00\n    ends_at: 2027-01-14T12:30:00+00:00\n"
        + "    location: Online\n    body: B\n",
        encoding="utf-8",
    )
    issue = load_issue(path, settings)
    london = ZoneInfo("Europe/London")
    assert issue.send_at == datetime(2027, 7, 1, 9, 0, tzinfo=london)
    assert issue.send_at.utcoffset().total_seconds() == 3600
    event = issue.sections[0]
    assert isinstance(event, Event)
    assert event.starts_at.tzinfo == london
    assert event.ends_at.utcoffset().total_seconds() == 0


def test_slug_defaults_to_file_name_and_ids_to_heading_slugs(settings, tmp_path):
    path = tmp_path / "spring-2027.yaml"
    path.write_text(
        HEAD + ARTICLE + "  - type: article\n    heading: First story!\n    body: Again.\n",
        encoding="utf-8",
    )
    issue = load_issue(path, settings)
    assert issue.slug == "spring-2027"
    assert [s.id for s in issue.sections] == ["first-story", "first-story-2"]
    assert isinstance(issue.sections[0], Article)


def test_yaml_12_booleans_keep_words_as_text(settings, tmp_path):
    path = tmp_path / "words.yaml"
    path.write_text(
        HEAD + "sections:\n  - type: article\n    heading: no\n    body: on\n", encoding="utf-8"
    )
    section = load_issue(path, settings).sections[0]
    assert (section.heading, section.body) == ("no", "on")


def test_missing_campaign_file_is_one_line(settings, tmp_path):
    with pytest.raises(CampaignError, match=r"missing\.yaml: no such file"):
        load_issue(tmp_path / "missing.yaml", settings)


# --- the project file and its environment overrides ---------------------------------


def _project(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "newsletter.yaml"
    path.write_text(text, encoding="utf-8")
    return path


GOOD_PROJECT = """\
organisation:
  name: Example
  address: [1 Road, Town]
  website: https://www.example.org
  contact_email: hello@example.org
sender:
  from_name: Example
  from_email: news@example.org
audience:
  name: Readers
  description: You asked for it.
public_url: https://news.example.org
"""


def test_good_project_file_loads(tmp_path):
    settings = load_settings(_project(tmp_path, GOOD_PROJECT))
    assert settings.organisation.address_line == "1 Road, Town"
    assert settings.timezone == "UTC"


@pytest.mark.parametrize(
    ("text", "where", "message"),
    [
        (
            GOOD_PROJECT.replace("public_url: https://", "public_url: http://"),
            "12:13: public_url: ",
            "is not an absolute https:// URL",
        ),
        (
            GOOD_PROJECT + "timezone: Mars/Olympus\n",
            "13:11: timezone: ",
            "unknown time zone 'Mars/Olympus'",
        ),
        (
            GOOD_PROJECT.replace("  name: Example\n", "  nmae: Example\n", 1),
            "2:3: organisation.nmae: ",
            "did you mean 'name'?",
        ),
        (
            GOOD_PROJECT + "brand:\n  primary: blue\n",
            "14:12: brand.primary: ",
            "'blue' is not a colour like #1d4f91",
        ),
        (
            GOOD_PROJECT + "provder: local\n",
            "13:1: provder: ",
            "did you mean 'provider'?",
        ),
        (
            GOOD_PROJECT.replace("from_name: Example", 'from_name: "Example\\r\\nBcc: x@y.org"'),
            "7:14: sender.from_name: ",
            "contains a carriage return (U+000D); it goes into an email header and must be "
            "one line",
        ),
        (
            GOOD_PROJECT.replace("  name: Readers", '  name: "Readers\\nX-Evil: 1"'),
            "10:9: audience.name: ",
            "contains a line break (U+000A)",
        ),
        (
            GOOD_PROJECT.replace(
                "from_email: news@example.org", 'from_email: "news@exa\\nmple.org"'
            ),
            "8:15: sender.from_email: ",
            "is not a valid email address",
        ),
        (
            GOOD_PROJECT.replace(
                "  from_email: news@example.org\n",
                '  from_email: news@example.org\n  reply_to: "hi@example.org\\r"\n',
            ),
            "9:13: sender.reply_to: ",
            "is not a valid email address",
        ),
        (
            GOOD_PROJECT.replace(
                "public_url: https://news.example.org",
                'public_url: "https://news.example.org/\\x00"',
            ),
            "12:13: public_url: ",
            "the URL contains a control character (U+0000)",
        ),
        (
            GOOD_PROJECT + 'dkim_selector: "news\\r\\nX: y"\n',
            "13:16: dkim_selector: ",
            "should match pattern",
        ),
    ],
    ids=[
        "http public url",
        "unknown zone",
        "unknown key",
        "bad colour",
        "top-level typo",
        "line break in from_name",
        "line break in the audience name",
        "line break in from_email",
        "carriage return in reply_to",
        "control character in public_url",
        "line break in the DKIM selector",
    ],
)
def test_bad_project_file_names_line_and_field(tmp_path, text, where, message):
    path = _project(tmp_path, text)
    with pytest.raises(CampaignError) as caught:
        load_settings(path)
    matching = [line for line in caught.value.lines if line.startswith(f"{path}:{where}")]
    assert matching, caught.value.lines
    assert message in matching[0]


def test_sender_addresses_are_kept_as_headers_and_smtp_carry_them(tmp_path):
    text = GOOD_PROJECT.replace("news@example.org", "news@Exämple.ORG")
    text = text.replace("from_name: Example", "from_name: '  Example  '")
    sender = load_settings(_project(tmp_path, text)).sender
    assert sender.from_email == "news@xn--exmple-cua.org"
    assert sender.from_name == "Example"


def test_environment_overrides_the_project_file(tmp_path, monkeypatch):
    path = _project(tmp_path, GOOD_PROJECT)
    monkeypatch.setenv("NEWSLETTER_PUBLIC_URL", "https://elsewhere.example.org")
    monkeypatch.setenv("NEWSLETTER_ORGANISATION__NAME", "Renamed")
    settings = load_settings(path)
    assert settings.public_url == "https://elsewhere.example.org"
    assert settings.organisation.name == "Renamed"
    assert settings.organisation.website == "https://www.example.org"


def test_bad_environment_override_names_the_variable(tmp_path, monkeypatch):
    path = _project(tmp_path, GOOD_PROJECT)
    monkeypatch.setenv("NEWSLETTER_PROVIDER", "carrier-pigeon")
    monkeypatch.setenv("NEWSLETTER_TIMEZONE", "Nowhere/Town")
    with pytest.raises(CampaignError) as caught:
        load_settings(path)
    lines = caught.value.lines
    assert (
        "environment NEWSLETTER_PROVIDER: unknown provider 'carrier-pigeon'; "
        "it is one of: local, mailchimp, memory"
    ) in lines
    assert "environment NEWSLETTER_TIMEZONE: unknown time zone 'Nowhere/Town'" in lines


def test_missing_project_file_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="no project file"):
        load_settings(tmp_path / "absent.yaml")
