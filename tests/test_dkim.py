"""Our DKIM signatures verify with dkimpy's verifier, also on messages that break naive
canonicalisation; the keys are checked before a send and never shown."""

from __future__ import annotations

import random

import pytest
from dkim.canonicalization import Relaxed
from dkim_support import DOMAIN, signature_count, verify_all, write_key
from smtp_sink import line_problems

from newsletter.config import load_settings
from newsletter.delivery.canonical import relaxed_body, relaxed_header, relaxed_headers
from newsletter.delivery.dkim_keys import signer_from_settings
from newsletter.delivery.headers import unstructured_field

HEAD = (
    b"From: Newsletter <newsletter@example.org>\r\n"
    b"To: reader@example.org\r\n"
    b"Subject: Hello\r\n"
    b"Date: Mon, 30 Nov 2026 10:00:00 +0000\r\n"
    b"Message-ID: <a@example.org>\r\n"
    b"MIME-Version: 1.0\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\n"
)
LONG_URL = b"https://news.example.org/unsubscribe/" + b"A" * 200


@pytest.fixture
def rsa_signing(settings, tmp_path):
    """A signer with one RSA key and the records that publish it."""
    records = {"news": write_key(tmp_path / "rsa.pem")}
    signer = signer_from_settings(
        load_settings(
            settings.project_file,
            dkim_selector="news",
            dkim_domain=DOMAIN,
            dkim_key_file=tmp_path / "rsa.pem",
        )
    )
    return signer, records


def test_relaxed_canonicalisation_matches_the_rfc_example():
    """RFC 6376 3.4.5."""
    assert relaxed_header(b"A: X") == b"a:X\r\n"
    assert relaxed_header(b"B : Y\t\r\n\tZ  ") == b"b:Y Z\r\n"
    assert relaxed_body(b" C \r\nD \t E\r\n\r\n\r\n") == b" C\r\nD E\r\n"


@pytest.mark.parametrize(
    ("body", "canonical"),
    [
        (b"", b""),
        (b"\r\n", b""),
        (b"\r\n\r\n\r\n", b""),
        (b"x", b"x\r\n"),
        (b"x \t ", b"x\r\n"),
        (b"a\t\tb  c\r\n \t\r\n", b"a b c\r\n"),
        (b"\r\nx\r\n", b"\r\nx\r\n"),
    ],
)
def test_relaxed_body_edge_cases(body, canonical):
    assert relaxed_body(body) == canonical


def test_relaxed_body_agrees_with_dkimpy_on_random_bodies():
    """dkimpy differs only on a last line without CRLF, which SMTP never delivers."""
    pieces = [b" ", b"\t", b"  ", b"\r\n", b"a", b"b c", b"\xc3\xa9", b"="]
    chooser = random.Random(6376)
    for _ in range(2000):
        body = b"".join(chooser.choices(pieces, k=chooser.randint(0, 30))) + b"\r\n"
        assert relaxed_body(body) == Relaxed.canonicalize_body(body), body


def test_headers_are_taken_from_the_bottom_and_absent_ones_add_nothing():
    fields = [b"To: first", b"Subject: one", b"To: second", b"X: not signed"]
    assert relaxed_headers(fields, [b"to", b"reply-to", b"to", b"subject", b"to"]) == (
        b"to:second\r\nto:first\r\nsubject:one\r\n"
    )


AWKWARD = {
    "folded header whitespace": (
        HEAD.replace(b"Subject: Hello", b"Subject:   Hello \t\r\n\t  there  \r\n   again"),
        b"Body\r\n",
    ),
    "trailing whitespace on body lines": (HEAD, b"one  \r\ntwo\t\r\n \t \r\nthree\r\n"),
    "whitespace runs inside lines": (HEAD, b"a \t b\t\tc    d\r\n"),
    "empty trailing lines": (HEAD, b"text\r\n\r\n\r\n\r\n"),
    "a body of CRLFs only": (HEAD, b"\r\n\r\n\r\n"),
    "an empty body": (HEAD, b""),
    "a body without its last CRLF": (HEAD, b"no end  "),
    "lines starting with dots and spaces": (HEAD, b".\r\n  .x\r\n\t.\r\n"),
    "non-ASCII subject": (
        HEAD.replace(
            b"Subject: Hello",
            unstructured_field("Subject", "Grüße – ünïcode " * 8).encode("ascii"),
        ),
        "Grüße\r\n".encode(),
    ),
    "long folded headers": (
        HEAD
        + b"List-Unsubscribe: <"
        + LONG_URL
        + b">,\r\n <mailto:hello@example.org?subject="
        + b"x" * 120
        + b">\r\n"
        + b"List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n",
        b"Body\r\n",
    ),
    "a header twice": (HEAD + b"Subject: second\r\n", b"Body\r\n"),
    "8-bit body": (HEAD, "Zoë  Ångström\t\r\n".encode() * 50),
}


@pytest.mark.parametrize("case", AWKWARD)
def test_awkward_messages_verify_with_dkimpy(rsa_signing, case):
    signer, records = rsa_signing
    head, body = AWKWARD[case]
    signed = signer.sign(head + b"\r\n" + body)
    assert signed.endswith(b"\r\n")
    assert not line_problems(signed)
    assert verify_all(signed, records) == [True]


def test_relaxed_signatures_survive_whitespace_changes_but_not_word_changes(rsa_signing):
    signer, records = rsa_signing
    signed = signer.sign(HEAD + b"\r\nHello  reader\r\nbye\r\n")
    respaced = signed.replace(b"Subject: Hello", b"SUBJECT:\r\n   Hello  ").replace(
        b"Hello  reader\r\n", b"Hello\treader \r\n"
    )
    assert verify_all(respaced, records) == [True]
    for changed in (
        signed.replace(b"Hello  reader", b"Hello  header"),
        signed.replace(b"Subject: Hello", b"Subject: Hallo"),
        signed.replace(b"\r\n\r\n", b"\r\nReply-To: attacker@example.net\r\n\r\n", 1),
        signed.replace(b"bye\r\n", b"bye\r\nmore\r\n"),
    ):
        assert verify_all(changed, records) == [False]


def test_the_signature_field_is_folded_and_names_what_it_covers(rsa_signing):
    signer, _ = rsa_signing
    signed = signer.sign(HEAD + b"\r\nBody\r\n")
    field = signed.partition(b"\r\nFrom:")[0]
    lines = field.split(b"\r\n")
    assert len(lines) > 3 and all(len(line) <= 78 for line in lines)
    value = b"".join(line.strip() for line in lines).partition(b":")[2]
    tags = dict(tag.strip().split(b"=", 1) for tag in value.split(b";"))
    assert tags[b"a"] == b"rsa-sha256" and tags[b"c"] == b"relaxed/relaxed"
    assert (tags[b"d"], tags[b"s"]) == (DOMAIN.encode(), b"news")
    signed_names = tags[b"h"].split(b":")
    for name in (b"from", b"subject", b"list-unsubscribe", b"list-unsubscribe-post"):
        assert name in signed_names


def test_ed25519_signs_beside_rsa_and_both_verify(settings, tmp_path):
    import nacl  # noqa: F401  (dkimpy verifies Ed25519 through it)

    records = {
        "news": write_key(tmp_path / "rsa.pem"),
        "edkey": write_key(tmp_path / "ed.pem", "ed25519"),
    }
    signer = signer_from_settings(
        load_settings(
            settings.project_file,
            dkim_selector="news",
            dkim_domain=DOMAIN,
            dkim_key_file=tmp_path / "rsa.pem",
            dkim_ed25519_selector="edkey",
            dkim_ed25519_key_file=tmp_path / "ed.pem",
        )
    )
    signed = signer.sign(HEAD + b"\r\nBody \r\n\r\n")
    assert signature_count(signed) == 2
    assert b"a=ed25519-sha256;" in signed and b"a=rsa-sha256;" in signed
    assert verify_all(signed, records) == [True, True]
    assert verify_all(signed.replace(b"Body", b"Bodx"), records) == [False, False]
