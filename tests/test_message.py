"""The per-recipient fill of a message built once decodes to exactly the filled body."""

from __future__ import annotations

import email
import re
from email.header import decode_header, make_header
from email.policy import default as default_policy
from email.utils import parseaddr

import pytest
from dkim_support import verify_all, write_key
from smtp_sink import line_problems

from newsletter.config import load_settings
from newsletter.delivery.dkim_keys import signer_from_settings
from newsletter.delivery.message import MessageTemplate
from newsletter.render.compile import CompiledIssue
from newsletter.render.merge import Recipient, SlotTemplate

AWKWARD_TEXT = (
    ".starts with a dot\n"
    + "x" * 75
    + "[[nl:email]]"
    + "y" * 80
    + "\n"
    + "." * 200
    + "\ntrailing space  \n"
    + "=" * 90
    + "\n[[nl:first_name]][[nl:greeting]]\n"
    + "é" * 60
    + "\n.[[nl:unsubscribe_url]]\n"
)
AWKWARD_HTML = (
    '<p class="a">[[nl:greeting]]</p>\n<a href="[[nl:preferences_url]]">'
    + "long " * 40
    + "</a>\n.\n"
    + "z" * 74
    + "[[nl:first_name]]\n"
)


def compiled(text: str, html: str, subject: str = "Hello") -> CompiledIssue:
    return CompiledIssue("slug", subject, "pre", "", html, text, "local")


AWKWARD_FIRST_NAME = '<b>&Co "quoted" . ünïcode'
MAILTO = "mailto:hello@example.org?subject=unsubscribe%20abc"


def recipient(first_name: str = AWKWARD_FIRST_NAME, **changes: str) -> Recipient:
    return Recipient(
        **{
            "email": "reader@example.org",
            "first_name": first_name,
            "last_name": "Zoë <b>&Co",
            "unsubscribe_url": "https://news.example.org/unsubscribe/" + "A" * 90,
            "preferences_url": "https://news.example.org/preferences/abc.def?x=1&y=2",
            "archive_url": "https://news.example.org/archive/slug",
            "about_url": "https://news.example.org/about",
            **changes,
        }
    )


def render(template: MessageTemplate, person: Recipient) -> bytes:
    return template.render(person, message_id="<run.abc@example.org>", unsubscribe_mailto=MAILTO)


@pytest.mark.parametrize("first_name", ["", "Ann", AWKWARD_FIRST_NAME, "." + "w" * 100])
def test_filled_bytes_decode_to_the_filled_bodies(settings, first_name):
    template = MessageTemplate(compiled(AWKWARD_TEXT, AWKWARD_HTML, "Grüße – ünïcode"), settings)
    person = recipient(first_name)
    values = person.values(settings.greeting)
    raw = render(template, person)

    body = raw.partition(b"\r\n\r\n")[2]
    lines = body.split(b"\r\n")
    assert max(len(line) for line in lines) <= 76
    assert not [line for line in lines if line.startswith(b".")]
    message = email.message_from_bytes(raw, policy=default_policy)
    assert message["Subject"] == "Grüße – ünïcode"
    name = f"{first_name} Zoë <b>&Co".strip()
    assert rfc2047_address(raw, "To") == (name, "reader@example.org")
    text_part, html_part = message.iter_parts()
    text = text_part.get_content().replace("\r\n", "\n")
    html = html_part.get_content().replace("\r\n", "\n")
    assert text == SlotTemplate(AWKWARD_TEXT, html_escape=False).fill(values)
    assert html == SlotTemplate(AWKWARD_HTML, html_escape=True).fill(values)


def test_dkim_signature_covers_the_unsubscribe_headers_and_verifies(settings, tmp_path):
    key_file = tmp_path / "dkim.pem"
    records = {"news": write_key(key_file)}
    signed_settings = load_settings(
        settings.project_file,
        dkim_selector="news",
        dkim_domain="example.org",
        dkim_key_file=key_file,
    )
    signer = signer_from_settings(signed_settings)
    assert signer is not None and "PRIVATE" not in repr(signer)
    raw = render(
        MessageTemplate(compiled("Hi [[nl:first_name]]\n", "<p>x</p>\n"), settings), recipient()
    )
    signed = signer.sign(raw)
    assert not line_problems(signed)
    assert verify_all(signed, records) == [True]
    header = email.message_from_bytes(signed, policy=default_policy)["DKIM-Signature"]
    signed_headers = str(header).replace(" ", "").split("h=")[1].split(";")[0].lower()
    for name in ("list-unsubscribe", "list-unsubscribe-post", "from", "subject", "list-id"):
        assert name in signed_headers.split(":")
    tampered = signed.replace(b"List-Unsubscribe-Post: List-Unsubscribe=One-Click", b"X: y")
    assert verify_all(tampered, records) == [False]


LONG_NAME = ("Zoë Ångström-" + "Łukasiewicz" * 26)[:296] + " 日本語"
"""A 300-character name, most of it not ASCII."""


def head_lines(raw: bytes) -> list[bytes]:
    return raw.partition(b"\r\n\r\n")[0].split(b"\r\n")


def rfc2047_decoded(raw: bytes, name: str) -> str:
    """A header as RFC 2047 6.2 reads it: white space between adjacent encoded words
    dropped. (The ``email.policy`` parser keeps it inside display names before the fix
    for CPython gh-128110, so the compat32 parser and ``decode_header`` read it here.)"""
    return str(make_header(decode_header(email.message_from_bytes(raw)[name])))


def rfc2047_address(raw: bytes, name: str) -> tuple[str, str]:
    """The display name and address of an address header, the name decoded as above."""
    display_name, address = parseaddr(email.message_from_bytes(raw)[name])
    return str(make_header(decode_header(display_name))), address


def short_links(name: str) -> Recipient:
    """A recipient named ``name`` (in full, as the first name) whose links are short, so
    that no header holds a long token."""
    return recipient(name, last_name="", unsubscribe_url="https://news.example.org/u/abc")


def with_sender(settings, **changes):
    sender = settings.sender.model_copy(update=changes.pop("sender", {}))
    audience = settings.audience.model_copy(update=changes.pop("audience", {}))
    return settings.model_copy(update={"sender": sender, "audience": audience, **changes})


def test_a_300_character_non_ascii_name_is_folded_and_read_back_exactly(settings):
    assert len(LONG_NAME) == 300
    raw = render(MessageTemplate(compiled("x\n", "<p>x</p>\n"), settings), short_links(LONG_NAME))
    lines = head_lines(raw)
    assert max(len(line) for line in lines) <= 78
    words = re.findall(rb"=\?[^?]+\?[bBqQ]\?[^?]*\?=", b"\n".join(lines))
    assert len(words) > 4 and max(len(word) for word in words) <= 75
    assert rfc2047_address(raw, "To") == (LONG_NAME, "reader@example.org")


@pytest.mark.parametrize(
    "display_name",
    ["Ann", "Zoë", 'Smith, "Ann" \\ Co.', "=?utf-8?q?not_encoded?=", "x" * 120, "ø" * 40],
)
def test_names_in_from_and_to_read_back_exactly(settings, display_name):
    template = MessageTemplate(
        compiled("x\n", "<p>x</p>\n"), with_sender(settings, sender={"from_name": display_name})
    )
    raw = render(template, short_links(display_name))
    assert not line_problems(raw)
    assert all(len(line) <= 78 for line in head_lines(raw))
    for header, address in (("From", "newsletter@example.org"), ("To", "reader@example.org")):
        assert rfc2047_address(raw, header) == (display_name, address)


def test_control_characters_in_a_subscriber_name_never_reach_a_header(settings):
    name = "Eve\r\nBcc: victim@example.net\r\n\r\nInjected body\x00\x7f"
    raw = render(MessageTemplate(compiled("x\n", "<p>x</p>\n"), settings), short_links(name))
    message = email.message_from_bytes(raw, policy=default_policy)
    assert message["Bcc"] is None
    assert message["To"].addresses[0].display_name == "Eve Bcc: victim@example.net Injected body"
    assert b"\r\nBcc" not in raw and b"\r\nInjected" not in raw
    assert not line_problems(raw)


def test_long_subject_list_id_and_sender_stay_within_78_and_read_back(settings):
    subject = "An ASCII subject with many words in it, " * 3 + "and a tail"
    changed = with_sender(
        settings,
        sender={"from_name": " ".join(["Größe, Ärzte & Co"] * 6)},
        audience={"name": " ".join(['Zoë\'s "practitioners"'] * 5)},
    )
    raw = render(
        MessageTemplate(compiled("x\n", "<p>x</p>\n", subject), changed), short_links("Ann")
    )
    assert not line_problems(raw)  # the List-Id identifier alone is over 78: one token
    message = email.message_from_bytes(raw, policy=default_policy)
    assert message["Subject"] == subject
    identifier = re.search(rb"\r\n <(zoe-s-practitioners[a-z-]*\.news\.example\.org)>\r\n", raw)
    assert identifier, "the List-Id identifier is written as is, never encoded"
    list_id = rfc2047_decoded(raw, "List-Id")
    assert list_id == f"{changed.audience.name} <{identifier.group(1).decode()}>"
    assert rfc2047_address(raw, "From")[0] == changed.sender.from_name


def test_ascii_header_lines_are_folded_at_spaces_and_unfold_to_the_value(settings):
    subject = " ".join(f"word{n}" for n in range(40))
    raw = render(
        MessageTemplate(compiled("x\n", "<p>x</p>\n", subject), settings), short_links("Ann")
    )
    subject_lines = re.search(rb"Subject: .*?\r\n(?! )", raw, re.S).group()
    assert b"=?" not in subject_lines
    assert all(len(line) <= 78 for line in subject_lines.split(b"\r\n"))
    assert subject_lines.replace(b"\r\n ", b" ") == f"Subject: {subject}\r\n".encode()
