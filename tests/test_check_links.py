"""The links family: where each link goes and what it says, offline in every gate; and
``newsletter check --links``, which asks a real web server on 127.0.0.1 about each one.

Campaign files take only https:// and mailto: links (the model refuses the rest), so the
rules about other addresses are reached the way such links get in: through a template.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import jsonschema
import pytest
from typer.testing import CliRunner

from newsletter.campaigns import load_located
from newsletter.checks import CheckInput, Finding, Place, Severity, Source, links, links_online
from newsletter.checks.report import SCHEMA_PATH
from newsletter.cli import app
from newsletter.config import Settings
from newsletter.errors import CampaignError
from newsletter.providers import get_provider

FOOTER = "footer.mjml.j2"
MAIN = "newsletter.mjml.j2"


def check_of(settings: Settings, path: Path, provider: str = "local") -> CheckInput:
    located = load_located(path, settings)
    with get_provider(settings, provider) as chosen:
        return chosen.check_input(located.issue, source=located.source)


def found(check: CheckInput) -> list[Finding]:
    return links.findings(check)


def edit(project_dir: Path, template: str, old: str, new: str) -> None:
    path = project_dir / "templates" / template
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{template} no longer has {old!r}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def footer_link(project_dir: Path, href: str, text: str = "Our annual report") -> None:
    """A link written into the footer template, as a template override would."""
    edit(project_dir, FOOTER, "<p>This email", f'<p><a href="{href}">{text}</a></p>\n<p>This email')


def line_of(path: Path, needle: str) -> int:
    lines = path.read_text(encoding="utf-8").splitlines()
    return next(number for number, line in enumerate(lines, 1) if needle in line)


@pytest.mark.parametrize("provider", ["local", "mailchimp"])
def test_the_example_issue_passes_clean(settings, example_file, provider):
    check = check_of(settings, example_file, provider)
    assert found(check) == []
    hrefs = [element.get("href") for element in check.elements("a")]
    assert any(href and href.startswith(("[[nl:", "*|")) for href in hrefs), "slots are links"
    assert any(href and href.startswith("#") for href in hrefs), "the TOC is in the issue"


FOOTER_CASES = [
    ("http://www.example.org/old-site", "links.insecure", Severity.WARNING),
    ("HTTP://www.example.org/old-site", "links.insecure", Severity.WARNING),
    ("javascript:alert(1)", "links.javascript", Severity.ERROR),
    ("JaVaScRiPt:void(0)", "links.javascript", Severity.ERROR),
    ("  java&#x09;script:alert(1)", "links.javascript", Severity.ERROR),
    ("&#106;avascript:alert(1)", "links.javascript", Severity.ERROR),
    ("java&#x0A;script&#58;alert(1)", "links.javascript", Severity.ERROR),
    ("&amp;#106;avascript:alert(1)", "links.javascript", Severity.ERROR),
    ("vbscript:msgbox(1)", "links.javascript", Severity.ERROR),
    ("ftp://files.example.org/report.pdf", "links.scheme", Severity.ERROR),
    ("data:text/html,hello", "links.scheme", Severity.ERROR),
    ("file:///C:/reports/annual.pdf", "links.scheme", Severity.ERROR),
    ("reports/annual.pdf", "links.scheme", Severity.ERROR),
    ("//www.example.org/annual", "links.scheme", Severity.ERROR),
    ("*|UNSUB|*", "links.scheme", Severity.ERROR),
    ("", "links.empty", Severity.ERROR),
    ("   ", "links.empty", Severity.ERROR),
    ("#", "links.empty", Severity.ERROR),
    ("#no-such-place", "links.anchor", Severity.ERROR),
]


@pytest.mark.parametrize(("href", "rule", "severity"), FOOTER_CASES)
def test_a_footer_link_is_judged_by_where_it_goes(
    project_dir, settings, example_file, href, rule, severity
):
    footer_link(project_dir, href)
    result = found(check_of(settings, example_file))
    assert [(f.rule, f.severity) for f in result] == [(rule, severity)], result
    assert result[0].place == Place(Source.TEMPLATE, name=FOOTER)
    assert "Our annual report" in result[0].message and result[0].fix


@pytest.mark.parametrize(
    "href",
    [
        "https://www.example.org/annual",
        "mailto:hello@example.org",
        "MAILTO:hello@example.org",
        "tel:+441234567890",
        "[[nl:preferences_url]]",
        "#spotlight",
        "https://www.example.org/annual?who=[[nl:email]]",
    ],
)
def test_addresses_that_work_in_an_email_pass(project_dir, settings, example_file, href):
    footer_link(project_dir, href)
    assert found(check_of(settings, example_file)) == []


def test_each_provider_accepts_only_its_own_merge_tags(project_dir, settings, example_file):
    footer_link(project_dir, "[[nl:unsubscribe_url]]")
    edit(
        project_dir,
        FOOTER,
        "<p>This email",
        '<p><a href="*|FORWARD|*">Forward it</a></p><p>This email',
    )
    local = found(check_of(settings, example_file, "local"))
    assert [(f.rule, "*|FORWARD|*" in f.message) for f in local] == [("links.scheme", True)]
    mailchimp = found(check_of(settings, example_file, "mailchimp"))
    assert [(f.rule, "[[nl:unsubscribe_url]]" in f.message) for f in mailchimp] == [
        ("links.scheme", True)
    ]


def test_an_invisible_character_is_shown_in_the_message(project_dir, settings, example_file):
    footer_link(project_dir, "java&#x09;script:alert(1)")
    (finding,) = found(check_of(settings, example_file))
    assert "'java\\tscript:alert(1)'" in finding.message


def test_a_link_from_a_section_template_names_the_section(project_dir, settings, example_file):
    edit(
        project_dir,
        "sections/event.mjml.j2",
        "{{ section.body | markdown }}",
        '{{ section.body | markdown }}<p><a href="http://maps.example.org/venue">Map</a></p>',
    )
    check = check_of(settings, example_file)
    (finding,) = found(check)
    assert (finding.rule, finding.place) == ("links.insecure", Place(field=("sections", 2)))
    assert check.line_of(finding.place) == line_of(example_file, "- type: event")


def test_the_plain_text_part_is_checked_for_http_too(project_dir, settings, example_file):
    edit(
        project_dir, "newsletter.txt.j2", "{{ organisation.website }}", "http://www.example.org/old"
    )
    (finding,) = found(check_of(settings, example_file))
    assert (finding.rule, finding.severity) == ("links.insecure", Severity.WARNING)
    assert finding.place == Place(Source.TEMPLATE, name="newsletter.txt.j2")
    assert "plain-text part" in finding.message


def test_an_http_link_in_both_parts_is_reported_once(project_dir, settings, example_file):
    footer_link(project_dir, "http://www.example.org/old")
    edit(
        project_dir, "newsletter.txt.j2", "{{ organisation.website }}", "http://www.example.org/old"
    )
    result = found(check_of(settings, example_file))
    assert [f.place.name for f in result] == [FOOTER]


def test_the_campaign_file_lets_only_https_and_mailto_links_through(
    project_dir, settings, example_file
):
    """Why the rules above are reached through templates: the model refuses other links
    in Markdown, and the Markdown renderer leaves a javascript: link as plain text."""
    text = example_file.read_text(encoding="utf-8")

    def with_link(href: str) -> None:
        example_file.write_text(
            text.replace("Tell us what you think", f"[Tell us]({href}) what you think"),
            encoding="utf-8",
        )

    for href in ("http://www.example.org/x", "ftp://files.example.org/a", "#", "page.html"):
        with_link(href)
        with pytest.raises(CampaignError):
            load_located(example_file, settings)
    with_link("javascript:alert(1)")
    check = check_of(settings, example_file)
    assert found(check) == []
    assert "[Tell us](javascript:alert(1))" in check.compiled.html


def test_invisible_characters_do_not_hide_a_script():
    for href in ("java\u200bscript:alert(1)", "\u00adjavascript:x", "java\u00a0script:x"):
        verdict = links.address_verdict(href, "Go", (), frozenset())
        assert verdict is not None and verdict.rule == "links.javascript", href


# -- the "In this issue" list


def test_a_toc_pointing_at_a_missing_id_is_an_error(project_dir, settings, example_file):
    edit(project_dir, MAIN, '<a href="#{{ id }}">', '<a href="#section-{{ id }}">')
    check = check_of(settings, example_file)
    result = found(check)
    assert len(result) == len(check.issue.sections) == 6
    assert {(f.rule, f.severity, f.place) for f in result} == {
        ("links.anchor", Severity.ERROR, Place(Source.TEMPLATE, name=MAIN))
    }
    assert "'#section-spotlight'" in result[0].message


def test_section_headings_without_ids_leave_the_toc_pointing_nowhere(
    project_dir, settings, example_file
):
    edit(project_dir, "sections/_heading.mjml.j2", '<a name="{{ section.id }}"></a>', "")
    edit(project_dir, "sections/_heading.mjml.j2", ' id="{{ section.id }}"', "")
    result = found(check_of(settings, example_file))
    assert [f.rule for f in result] == ["links.anchor"] * 6


def test_a_named_anchor_alone_is_a_target(project_dir, settings, example_file):
    edit(project_dir, "sections/_heading.mjml.j2", ' id="{{ section.id }}"', "")
    assert found(check_of(settings, example_file)) == []


# -- link text


WORDS = """\
subject: Links in the body
preview_text: A test of link wording.
sections:
  - type: article
    heading: Where we stand
    body: |
      Our review is out: [click here](https://www.example.org/reviews/one).

      The full list is at [https://www.example.org/list](https://www.example.org/list),
      and <https://www.example.org/auto> too, and [the list of members](https://www.example.org/members).
  - type: cta
    heading: Your views
    body: |
      [Read more…](https://www.example.org/reviews/two)
    buttons:
      - text: Here
        url: https://www.example.org/reviews/three
      - text: Email the team
        url: mailto:team@example.org
  - type: article
    heading: Photos
    body: Our photos from the day.
    image:
      src: https://www.example.org/a.jpg
      alt: Link
      href: https://www.example.org/gallery
  - type: news
    heading: From the board
    items:
      - title: More
        body: The board met in January.
        url: https://www.example.org/board
"""


def test_link_text_that_does_not_say_where_it_goes_is_a_warning(project_dir, settings):
    path = project_dir / "campaigns" / "words.yaml"
    path.write_text(WORDS, encoding="utf-8")
    check = check_of(settings, path)
    result = found(check)
    assert {f.rule for f in result} == {"links.text"}
    assert {f.severity for f in result} == {Severity.WARNING}
    seen = sorted((f.place.dotted, check.line_of(f.place), f.message) for f in result)
    body_line, cta_body = line_of(path, "Where we stand") + 1, line_of(path, "Your views") + 1
    assert seen == sorted(
        [
            (
                "sections[0].body",
                body_line,
                "the link text 'click here' does not say where the link goes",
            ),
            (
                "sections[0].body",
                body_line,
                "the link text is the bare address 'https://www.example.org/list'",
            ),
            (
                "sections[0].body",
                body_line,
                "the link text is the bare address 'https://www.example.org/auto'",
            ),
            (
                "sections[1].body",
                cta_body,
                "the link text 'Read more…' does not say where the link goes",
            ),
            (
                "sections[1].buttons[0].text",
                line_of(path, "text: Here"),
                "the link text 'Here' does not say where the link goes",
            ),
            (
                "sections[2].image.alt",
                line_of(path, "alt: Link"),
                "the link text 'Link' does not say where the link goes",
            ),
            (
                "sections[3].items[0].title",
                line_of(path, "title: More"),
                "the link text 'More' does not say where the link goes",
            ),
        ]
    )


def test_a_link_with_nothing_to_read_out_is_a_warning(project_dir, settings, example_file):
    footer_link(
        project_dir,
        "https://www.example.org/",
        '<img src="https://www.example.org/logo.png" alt="">',
    )
    (finding,) = found(check_of(settings, example_file))
    assert (finding.rule, finding.place.name) == ("links.text", FOOTER)
    assert "no text" in finding.message


def test_an_aria_label_names_the_link(project_dir, settings, example_file):
    footer_link(
        project_dir, 'https://www.example.org/report" aria-label="The annual report', "More"
    )
    assert found(check_of(settings, example_file)) == []


def test_the_rules_are_fast_on_the_example(settings, example_file):
    check = check_of(settings, example_file)
    assert len(check.document) > 0
    started = time.perf_counter()
    for _ in range(20):
        links.findings(check)
    assert (time.perf_counter() - started) / 20 < 0.01


# -- newsletter check --links, against a web server on 127.0.0.1


class LinkServer(ThreadingHTTPServer):
    """Answers each path the way one kind of website does, and keeps what it was asked."""

    daemon_threads = True
    block_on_close = False
    request_queue_size = 64

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.asked: list[tuple[str, str, str]] = []
        self.release = threading.Event()
        self.lock = threading.Lock()
        self.busy = 0
        self.most_busy = 0

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


ROUTES: dict[str, tuple[int, str]] = {
    "/ok": (200, ""),
    "/missing": (404, ""),
    "/moved": (301, "/ok"),
    "/moved-twice": (302, "/moved"),
    "/gone": (301, "/missing"),
    "/loop-a": (307, "/loop-b"),
    "/loop-b": (307, "/loop-a"),
    "/failing": (503, ""),
}


class _Handler(BaseHTTPRequestHandler):
    server: LinkServer

    def do_HEAD(self) -> None:
        self._answer("HEAD")

    def do_GET(self) -> None:
        self._answer("GET")

    def _answer(self, method: str) -> None:
        path = self.path.partition("?")[0]
        with self.server.lock:
            self.server.asked.append((method, self.path, self.headers.get("User-Agent", "")))
            self.server.busy += 1
            self.server.most_busy = max(self.server.most_busy, self.server.busy)
        try:
            self._respond(method, path)
        finally:
            with self.server.lock:
                self.server.busy -= 1

    def _respond(self, method: str, path: str) -> None:
        if path == "/never":
            self.server.release.wait(30)
            status, location = 200, ""
        elif path == "/busy":
            time.sleep(0.15)
            status, location = 200, ""
        elif path == "/no-head":
            status, location = (405, "") if method == "HEAD" else (200, "")
        else:
            status, location = ROUTES.get(path, (404, ""))
        body = b"<!doctype html><title>page</title>" if method == "GET" else b""
        self.send_response(status)
        if location:
            self.send_header("Location", location)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass

    def handle_one_request(self) -> None:
        try:
            super().handle_one_request()
        except ConnectionError:
            self.close_connection = True  # the checker gave up on a slow answer


@pytest.fixture
def server() -> Iterator[LinkServer]:
    running = LinkServer()
    thread = threading.Thread(target=running.serve_forever, daemon=True)
    thread.start()
    yield running
    running.release.set()
    running.shutdown()
    running.server_close()


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


QUIET = """\
subject: Links to check
preview_text: Every web link in this issue points at a test server.
table_of_contents: false
sections:
  - type: cta
    heading: Write to us
    body: Tell us what you think of the briefing.
    buttons:
      - text: Email the team
        url: mailto:team@example.org
"""


def issue_linking_to(project_dir: Path, urls: list[str]) -> Path:
    """An issue whose only web links are ``urls``, put where the organisation's website
    link was, in the main template (campaign files take only https:// links)."""
    items = "".join(f'<a href="{url}">Page {n}</a> ' for n, url in enumerate(urls, 1))
    edit(
        project_dir, MAIN, '<a href="{{ organisation.website }}">{{ organisation.name }}</a>', items
    )
    path = project_dir / "campaigns" / "quiet.yaml"
    path.write_text(QUIET, encoding="utf-8")
    return path


def by_url(result: list[Finding]) -> dict[str, Finding]:
    return {f.message.split("'")[1]: f for f in result}


def test_links_are_asked_and_judged_by_their_answers(project_dir, settings, server):
    base = server.base
    names = [
        "ok",
        "missing",
        "moved",
        "moved-twice",
        "gone",
        "loop-a",
        "failing",
        "no-head",
        "never",
    ]
    refused = f"http://127.0.0.1:{closed_port()}/page"
    path = issue_linking_to(project_dir, [f"{base}/{name}" for name in names] + [refused])
    started = time.perf_counter()
    extra = links_online.run(check_of(settings, path), timeout=1.0)
    assert time.perf_counter() - started < 4, "the link that never answers is given up on"
    assert extra.name == "links"
    assert extra.summary == {"checked": 10, "broken": 6, "redirected": 2}, [
        f.message for f in extra.findings
    ]
    found = by_url(extra.findings)
    assert set(found) == {
        f"{base}/{name}"
        for name in ("missing", "moved", "moved-twice", "gone", "loop-a", "failing", "never")
    } | {refused}
    assert {f.place for f in extra.findings} == {Place(Source.TEMPLATE, name=MAIN)}
    moved = found[f"{base}/moved"]
    assert (moved.rule, moved.severity) == ("links.redirected", Severity.WARNING)
    assert moved.message == f"the link '{base}/moved' redirects to '{base}/ok'"
    assert moved.fix == f"link to {base}/ok instead"
    assert found[f"{base}/moved-twice"].message.endswith(f"redirects in 2 steps to '{base}/ok'")
    broken = {url: f.message for url, f in found.items() if f.rule == "links.broken"}
    assert {found[url].severity for url in broken} == {Severity.ERROR}
    assert broken[f"{base}/missing"].endswith("answers 404 Not Found")
    assert broken[f"{base}/gone"].endswith(
        f"leads to '{base}/missing', which answers 404 Not Found"
    )
    assert broken[f"{base}/loop-a"].endswith("redirects in a loop")
    assert broken[f"{base}/failing"].endswith("answers 503 Service Unavailable")
    assert broken[f"{base}/never"].endswith("did not answer within 1 seconds")
    assert "could not connect" in broken[refused]


def test_head_comes_first_and_get_only_when_head_is_refused(project_dir, settings, server):
    path = issue_linking_to(project_dir, [f"{server.base}/ok", f"{server.base}/no-head"])
    extra = links_online.run(check_of(settings, path), timeout=5.0)
    assert extra.findings == []
    assert extra.summary == {"checked": 2, "broken": 0, "redirected": 0}
    asked = sorted((method, path) for method, path, _ in server.asked)
    assert asked == [("GET", "/no-head"), ("HEAD", "/no-head"), ("HEAD", "/ok")]
    assert {agent for _, _, agent in server.asked} == {links_online.USER_AGENT}
    assert links_online.USER_AGENT.startswith("newsletter/")


def test_each_address_is_asked_once_and_slots_mail_and_anchors_never(project_dir, settings, server):
    urls = [
        f"{server.base}/ok",
        f"{server.base}/ok#part",
        f"{server.base}/ok",
        f"{server.base}/busy",
    ]
    path = issue_linking_to(project_dir, urls)
    check = check_of(settings, path)
    hrefs = {element.get("href") for element in check.elements("a")}
    assert {"[[nl:unsubscribe_url]]", "mailto:team@example.org"} <= hrefs
    extra = links_online.run(check, timeout=5.0)
    assert extra.summary["checked"] == 2
    assert sorted(path for _, path, _ in server.asked) == ["/busy", "/ok"]


def test_no_more_than_the_limit_are_asked_at_once(project_dir, settings, server):
    path = issue_linking_to(project_dir, [f"{server.base}/busy?n={n}" for n in range(12)])
    extra = links_online.run(check_of(settings, path), timeout=5.0, in_flight=3)
    assert extra.summary == {"checked": 12, "broken": 0, "redirected": 0}
    assert 2 <= server.most_busy <= 3
    assert links_online.MAX_IN_FLIGHT == 8 and links_online.TIMEOUT_SECONDS == 10


def test_check_links_at_the_command_line_reports_json_the_schema_describes(
    project_dir, settings, server
):
    names = ["ok", "missing", "moved", "no-head"]
    path = issue_linking_to(project_dir, [f"{server.base}/{name}" for name in names])
    result = CliRunner().invoke(app, ["check", str(path), "--links", "--format", "json"])
    assert result.exit_code == 1, result.output
    document = json.loads(result.stdout)
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    jsonschema.validate(document, schema, cls=jsonschema.Draft202012Validator)
    assert document["links"] == {"checked": 4, "broken": 1, "redirected": 1}
    rules = sorted(
        item["rule"] for item in document["findings"] if item["rule"].startswith("links.")
    )
    assert rules == [
        "links.broken",
        "links.insecure",
        "links.insecure",
        "links.insecure",
        "links.insecure",
        "links.redirected",
    ]
    broken = next(item for item in document["findings"] if item["rule"] == "links.broken")
    assert (broken["severity"], broken["source"], broken["place"]) == (
        "error",
        "template",
        f"template {MAIN}",
    )
    assert document["findings"][0]["severity"] == "error", "worst first"


def test_without_links_nothing_is_asked(project_dir, settings, server):
    path = issue_linking_to(project_dir, [f"{server.base}/ok"])
    result = CliRunner().invoke(app, ["check", str(path), "--format", "json"])
    document = json.loads(result.stdout)
    assert document["links"] is None
    assert server.asked == []
