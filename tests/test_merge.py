"""One recipient type, one greeting, one slot syntax: what each slot is filled with."""

from __future__ import annotations

import email
from email.policy import default as default_policy

from newsletter.config import Greeting
from newsletter.delivery.message import MessageTemplate
from newsletter.render.compile import CompiledIssue
from newsletter.render.merge import LOCAL_TAGS, Recipient, SlotTemplate, greeting_line

OURS = Greeting(named="Dear {first_name},", anonymous="Dear colleague,")


def test_the_greeting_names_the_recipient_only_when_the_first_name_is_known():
    assert greeting_line(OURS, "Ann") == "Dear Ann,"
    assert greeting_line(OURS, "") == "Dear colleague,"
    assert greeting_line(None, "Ann") == "Hello Ann,"
    assert greeting_line(None, "") == "Hello,"


def test_a_recipient_fills_every_local_slot():
    person = Recipient("ann@example.org", "Ann", "Lee", unsubscribe_url="https://u.example/x")
    values = person.values(OURS)
    assert set(values) == set(LOCAL_TAGS.slots)
    assert values["greeting"] == "Dear Ann," and values["unsubscribe_url"] == "https://u.example/x"
    assert person.display_name == "Ann Lee"
    assert Recipient("x@example.org", last_name="Lee").display_name == "Lee"
    assert Recipient("x@example.org").display_name == ""


def test_slot_values_are_escaped_with_quotes_in_html_and_as_written_in_text(settings):
    name = '<b>&Co "it\'s"'
    body = '<a title="[[nl:first_name]]">[[nl:greeting]]</a>\n'
    escaped = "&lt;b&gt;&amp;Co &quot;it&#x27;s&quot;"
    expected = f'<a title="{escaped}">Dear {escaped},</a>\n'
    values = Recipient("ann@example.org", name).values(settings.greeting)
    assert SlotTemplate(body, html_escape=True).fill(values) == expected
    assert SlotTemplate("[[nl:first_name]]\n", html_escape=False).fill(values) == name + "\n"

    compiled = CompiledIssue("slug", "S", "P", "", body, "[[nl:first_name]]\n", "local")
    raw = MessageTemplate(compiled, settings).render(
        Recipient("ann@example.org", name), message_id="<a@example.org>", unsubscribe_mailto="m"
    )
    text, html = email.message_from_bytes(raw, policy=default_policy).iter_parts()
    assert html.get_content().replace("\r\n", "\n") == expected
    assert text.get_content().replace("\r\n", "\n") == name + "\n"


def test_text_that_only_looks_like_a_slot_is_kept_as_written_everywhere(settings):
    body = "[[nl:email]] [[nl:nickname]] [[nl:EMAIL]]\n"
    person = Recipient("ann@example.org")
    filled = "ann@example.org [[nl:nickname]] [[nl:EMAIL]]\n"
    assert SlotTemplate(body, html_escape=False).fill(person.values(None)) == filled

    compiled = CompiledIssue("slug", "S", "P", "", "<p>x</p>\n", body, "local")
    raw = MessageTemplate(compiled, settings).render(
        person, message_id="<a@example.org>", unsubscribe_mailto="m"
    )
    text, _ = email.message_from_bytes(raw, policy=default_policy).iter_parts()
    assert text.get_content().replace("\r\n", "\n") == filled
