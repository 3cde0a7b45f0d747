"""``newsletter check --spam``: SpamAssassin scores the copy a reader would get.

The tests that need SpamAssassin run the real program (a second or two each),
so there are only two of them: the example issue, and a spammy issue through the CLI.
The rest read canned SpamAssassin output or use a stand-in program.
"""

from __future__ import annotations

import email
import json
import os
import shutil
import stat
import textwrap
from email.message import EmailMessage
from email.policy import default
from pathlib import Path

import jsonschema
import pytest
from typer.testing import CliRunner

from newsletter import checks
from newsletter.campaigns import load_located
from newsletter.checks import spam, spamassassin
from newsletter.checks.context import CheckInput, Delivery
from newsletter.checks.findings import Severity
from newsletter.checks.report import SCHEMA_PATH, spam_line
from newsletter.checks.spamassassin import Hit, Verdict
from newsletter.cli import app
from newsletter.errors import NewsletterError
from newsletter.providers import get_provider
from newsletter.providers.mailchimp.tags import MAILCHIMP_TAGS
from newsletter.render.compile import compile_issue
from newsletter.render.merge import LOCAL_TAGS, MergeTags

SPAMMY = """\
subject: "FREE!!! CLICK HERE TO WIN CASH"
preview_text: Click here to WIN CASH. 100% FREE, no risk, act now!!!
title: WIN CASH NOW
topics: [reviews]
intro: |
  Dear friend, you have been SELECTED!!! Click here to WIN CASH. It is 100% FREE,
  with no obligation and no risk. ACT NOW, this offer is for a limited time only!!!
sections:
  - type: article
    heading: "FREE!!! Click here to WIN CASH"
    body: |
      Claim your FREE CASH prize today!!! Click here, click here, CLICK HERE!!!
    button:
      text: CLICK HERE TO WIN CASH
      url: https://www.example.org/claim
"""

# What `spamassassin -L -t` prints for a spam message with our report template: the
# report sits in the wrapper and again at the end; one rule name overruns its column,
# one description wraps, one rule carries a detail line.
CANNED = """\
X-Spam-Flag: YES
X-Spam-Status: Yes, score=6.4 required=5.0 tests=ADVANCE_FEE_4_NEW_MONEY,
\tDEAR_FRIEND,NO_RECEIVED,SUBJ_ALL_CAPS,URI_EXAMPLE autolearn=disabled
\tversion=4.0.1
Subject: FREE CASH

NEWSLETTER-SPAM-REPORT
-0.0 NO_RECEIVED            Informational: message has no Received headers
 2.7 DEAR_FRIEND            BODY: Dear Friend? That's not very dear!
 0.5 SUBJ_ALL_CAPS          Subject is all capitals
 1.0 ADVANCE_FEE_4_NEW_MONEY Advance Fee fraud and lots of money
 2.2 URI_EXAMPLE            URI: A link to a host that spam uses, and a long
                            description that wraps
                            [URIs: claim.example.com]

the original message
"""


def _needs_spamassassin() -> None:
    if shutil.which("spamassassin") is None:
        message = "SpamAssassin is not installed; scripts/test-setup.sh installs the Debian package"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)


def _check_input(settings, path: Path, tags: MergeTags) -> CheckInput:
    located = load_located(path, settings)
    compiled = compile_issue(located.issue, settings, tags)
    delivery = Delivery(tags.name, tags, list_unsubscribe_header=tags is LOCAL_TAGS)
    return CheckInput(located.issue, compiled, settings, delivery, source=located.source)


def test_the_example_scores_nothing(settings, example_file):
    _needs_spamassassin()
    located = load_located(example_file, settings)
    with get_provider(settings, "local") as provider:
        check = provider.check_input(located.issue, source=located.source)
    extra = spam.run(check)
    assert extra.name == "spam"
    assert extra.findings == []
    assert extra.summary["score"] <= 0.5, extra.summary
    assert extra.summary["score"] == 0.0, "the example scored 0.0 with SpamAssassin 4.0.1"
    names = {rule["name"] for rule in extra.summary["rules"]}
    assert "HTML_FONT_LOW_CONTRAST" not in names, "the hidden preheader reads as hidden text"
    assert "HTML_MESSAGE" in names, "the report's rules were read"


def test_a_spammy_issue_is_warned_and_the_json_follows_the_schema(project_dir):
    _needs_spamassassin()
    path = project_dir / "campaigns" / "spammy.yaml"
    path.write_text(SPAMMY, encoding="utf-8")
    result = CliRunner().invoke(app, ["check", str(path), "--spam", "--format", "json"])
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    jsonschema.validate(document, json.loads(SCHEMA_PATH.read_text(encoding="utf-8")))
    score = document["spam"]["score"]
    assert spam.WARN_ABOVE < score <= spam.ERROR_ABOVE, document["spam"]
    rules = {rule["name"]: rule for rule in document["spam"]["rules"]}
    assert rules["SUBJ_ALL_CAPS"]["score"] > 0
    assert rules["SUBJ_ALL_CAPS"]["description"] == "Subject is all capitals"
    found = [f for f in document["findings"] if f["rule"] == "spam.score"]
    assert len(found) == 1 and found[0]["severity"] == "warning"
    assert f"{score:.1f} points" in found[0]["message"]
    top = max(document["spam"]["rules"], key=lambda rule: rule["score"])
    assert f"most from {top['name']}" in found[0]["message"]
    assert found[0]["place"] == "" and found[0]["source"] == "campaign"


def test_the_report_is_read_from_the_status_header_and_the_table():
    verdict = spamassassin.parse(CANNED)
    assert verdict.score == 6.4
    assert verdict.hits == (
        Hit("DEAR_FRIEND", 2.7, "BODY: Dear Friend? That's not very dear!"),
        Hit(
            "URI_EXAMPLE",
            2.2,
            "URI: A link to a host that spam uses, and a long description that wraps",
        ),
        Hit("ADVANCE_FEE_4_NEW_MONEY", 1.0, "Advance Fee fraud and lots of money"),
        Hit("SUBJ_ALL_CAPS", 0.5, "Subject is all capitals"),
        Hit("NO_RECEIVED", 0.0, "Informational: message has no Received headers"),
    )
    assert str(spamassassin.parse(CANNED.replace("score=6.4", "score=-0.0")).score) == "0.0"


def test_an_answer_without_a_score_is_one_line():
    with pytest.raises(NewsletterError, match="no X-Spam-Status header"):
        spamassassin.parse("Subject: hello\n\nbody\n")


def _verdict(score: float) -> Verdict:
    return Verdict(
        score,
        (
            Hit("DEAR_FRIEND", 2.7, "BODY: Dear Friend? That's not very dear!"),
            Hit("URI_EXAMPLE", 2.2, "URI: A link to a host that spam uses"),
            Hit("SUBJ_ALL_CAPS", 0.5, "Subject is all capitals"),
            Hit("ACT_NOW_CAPS", 0.1, "BODY: Talks about 'acting now' with capitals"),
            Hit("NO_RELAYS", 0.0, "Informational: message was not relayed via SMTP"),
        ),
    )


@pytest.mark.parametrize(
    ("score", "severity"),
    [(2.0, None), (2.1, Severity.WARNING), (5.0, Severity.WARNING), (5.1, Severity.ERROR)],
)
def test_the_severity_follows_the_score(score, severity):
    found = spam.findings(_verdict(score))
    assert [finding.severity for finding in found] == ([severity] if severity else [])
    assert all(finding.rule == "spam.score" for finding in found)


def test_the_message_names_the_top_rules():
    (finding,) = spam.findings(_verdict(5.5))
    assert finding.message.startswith("SpamAssassin gives a sample copy 5.5 points; over 2.0")
    assert finding.message.endswith(
        "most from DEAR_FRIEND 2.7 (Dear Friend? That's not very dear!), "
        "URI_EXAMPLE 2.2 (A link to a host that spam uses), "
        "SUBJ_ALL_CAPS 0.5 (Subject is all capitals)"
    )
    assert "ACT_NOW_CAPS" not in finding.message
    assert finding.fix.endswith("then run `newsletter check --spam` again")
    (mailchimp,) = spam.findings(_verdict(3.0), own_tags="mailchimp")
    assert "(its merge tags filled in as the local provider would; mailchimp fills its own)" in (
        mailchimp.message
    )


def _bodies(sample: bytes) -> tuple[str, str]:
    message = email.message_from_bytes(sample, policy=default)
    assert isinstance(message, EmailMessage)
    text, html = (message.get_body((kind,)) for kind in ("plain", "html"))
    assert text is not None and html is not None
    return text.get_content(), html.get_content()


def test_the_sample_is_the_local_message_for_the_sample_reader(settings, example_file):
    local = spam.sample_message(_check_input(settings, example_file, LOCAL_TAGS))
    headers = local.split(b"\r\n\r\n", 1)[0].decode("ascii")
    assert headers.startswith("To: Sam <reader@example.org>\r\n")
    assert "Message-ID: <sample.check@example.org>" in headers
    assert "List-Unsubscribe: <https://news.example.org/unsubscribe/sample>" in headers
    assert "mailto:hello@example.org?subject=unsubscribe%20sample" in headers
    assert "Subject: Safer sleep, a new review and our first webinar" in headers
    text, html = _bodies(local)
    assert "Dear Sam," in text and "Dear Sam," in html
    assert "[[nl:" not in text + html


def test_a_mailchimp_issue_is_scored_with_the_local_slots_filled(settings, example_file):
    check = _check_input(settings, example_file, MAILCHIMP_TAGS)
    assert "*|UNSUB|*" in check.compiled.html
    text, html = _bodies(spam.sample_message(check))
    assert "*|" not in text + html and "[[nl:" not in text + html
    assert "Dear Sam," in html
    assert 'href="https://news.example.org/unsubscribe/sample"' in html
    assert "Our safer sleep findings are out" in html, "the preheader, not Mailchimp's tag"


def test_without_spamassassin_the_command_says_how_to_install_it(
    project_dir, example_file, monkeypatch, tmp_path
):
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    result = CliRunner().invoke(app, ["check", str(example_file), "--spam"])
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "needs the spamassassin program" in lines[0]
    assert "apt-get install spamassassin" in lines[0]


def _stand_in(folder: Path, script: str) -> None:
    folder.mkdir()
    program = folder / "spamassassin"
    program.write_text("#!/bin/sh\n" + textwrap.dedent(script), encoding="utf-8")
    program.chmod(program.stat().st_mode | stat.S_IXUSR)


def test_a_spamassassin_that_hangs_is_given_up(monkeypatch, tmp_path):
    _stand_in(tmp_path / "bin", "exec sleep 30\n")
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}")
    with pytest.raises(NewsletterError, match=r"no answer within 0\.3 seconds"):
        spamassassin.run(b"Subject: hi\r\n\r\nhello\r\n", timeout=0.3)


def test_a_spamassassin_that_fails_says_why(monkeypatch, tmp_path):
    _stand_in(tmp_path / "bin", "echo 'config: cannot read rules' >&2\nexit 3\n")
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}")
    with pytest.raises(NewsletterError, match=r"exit status 3\): config: cannot read rules$"):
        spamassassin.run(b"Subject: hi\r\n\r\nhello\r\n")


def test_spam_score_is_a_known_rule_for_skip_check():
    assert checks.rules()["spam.score"].severity is Severity.ERROR
    assert checks.waivers(["spam"]) == frozenset({"spam"})


def test_the_text_report_gives_the_score_and_the_rules_that_added_points():
    summary = {
        "score": 3.3,
        "rules": [
            {"name": "DEAR_FRIEND", "score": 2.7, "description": "BODY: Dear Friend?"},
            {"name": "SUBJ_ALL_CAPS", "score": 0.6, "description": "Subject is all capitals"},
            {"name": "NO_RELAYS", "score": 0.0, "description": "Informational"},
        ],
    }
    assert spam_line(summary) == (
        "SpamAssassin (local rules) gives a sample copy 3.3 points: "
        "DEAR_FRIEND 2.7, SUBJ_ALL_CAPS 0.6"
    )
    clean = spam_line({"score": 0.0, "rules": summary["rules"][2:]})
    assert clean == "SpamAssassin (local rules) gives a sample copy 0.0 points"
