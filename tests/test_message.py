"""The per-recipient fill of a message built once decodes to exactly the filled body."""

from __future__ import annotations

import email
from email.policy import default as default_policy

import dkim
import pytest

from newsletter.config import load_settings
from newsletter.delivery.dkim import DkimSigner
from newsletter.delivery.message import MessageTemplate, Recipient
from newsletter.render.compile import CompiledIssue
from newsletter.render.merge import SlotTemplate

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


VALUES = {
    "email": "reader@example.org",
    "first_name": '<b>&Co "quoted" . ünïcode',
    "greeting": "Dear <b>&Co,",
    "unsubscribe_url": "https://news.example.org/unsubscribe/" + "A" * 90,
    "preferences_url": "https://news.example.org/preferences/abc.def?x=1&y=2",
    "archive_url": "https://news.example.org/archive/slug",
    "about_url": "https://news.example.org/about",
}


def recipient(values=VALUES) -> Recipient:
    return Recipient(
        email="reader@example.org",
        name="Zoë <b>&Co",
        message_id="<run.abc@example.org>",
        values=values,
        unsubscribe_url=values["unsubscribe_url"],
        unsubscribe_mailto="mailto:hello@example.org?subject=unsubscribe%20abc",
    )


@pytest.mark.parametrize("first_name", ["", "Ann", VALUES["first_name"], "." + "w" * 100])
def test_filled_bytes_decode_to_the_filled_bodies(settings, first_name):
    template = MessageTemplate(compiled(AWKWARD_TEXT, AWKWARD_HTML, "Grüße – ünïcode"), settings)
    values = {**VALUES, "first_name": first_name}
    raw = template.render(recipient(values))

    body = raw.partition(b"\r\n\r\n")[2]
    lines = body.split(b"\r\n")
    assert max(len(line) for line in lines) <= 76
    assert not [line for line in lines if line.startswith(b".")]
    message = email.message_from_bytes(raw, policy=default_policy)
    assert message["Subject"] == "Grüße – ünïcode"
    assert message["To"].addresses[0].display_name == "Zoë <b>&Co"
    text_part, html_part = message.iter_parts()
    text = text_part.get_content().replace("\r\n", "\n")
    html = html_part.get_content().replace("\r\n", "\n")
    assert text == SlotTemplate(AWKWARD_TEXT, html_escape=False).fill(values)
    assert html == SlotTemplate(AWKWARD_HTML, html_escape=True).fill(values)


def test_dkim_signature_covers_the_unsubscribe_headers_and_verifies(settings, tmp_path):
    key_file = tmp_path / "dkim.pem"
    public = _make_key(key_file)
    signed_settings = load_settings(
        settings.project_file,
        dkim_selector="news",
        dkim_domain="example.org",
        dkim_key_file=key_file,
    )
    signer = DkimSigner.from_settings(signed_settings)
    assert signer is not None and "PRIVATE" not in repr(signer)
    raw = MessageTemplate(compiled("Hi [[nl:first_name]]\n", "<p>x</p>\n"), settings).render(
        recipient()
    )
    signed = signer.sign(raw)

    def dns(name, timeout=5):
        assert name == b"news._domainkey.example.org."
        return b"v=DKIM1; k=rsa; p=" + public

    assert dkim.verify(signed, dnsfunc=dns)
    header = email.message_from_bytes(signed, policy=default_policy)["DKIM-Signature"]
    signed_headers = str(header).replace(" ", "").split("h=")[1].split(";")[0].lower()
    for name in ("list-unsubscribe", "list-unsubscribe-post", "from", "subject", "list-id"):
        assert name in signed_headers.split(":")
    tampered = signed.replace(b"List-Unsubscribe-Post: List-Unsubscribe=One-Click", b"X: y")
    assert not dkim.verify(tampered, dnsfunc=dns)


def _make_key(path) -> bytes:
    import shutil
    import subprocess

    if shutil.which("openssl") is None:
        pytest.skip("openssl is needed to make a test DKIM key")
    subprocess.run(
        ["openssl", "genrsa", "-out", str(path), "2048"], check=True, capture_output=True
    )
    der = subprocess.run(
        ["openssl", "rsa", "-in", str(path), "-pubout", "-outform", "DER"],
        check=True,
        capture_output=True,
    ).stdout
    import base64

    return base64.b64encode(der)
