"""One recipient type and one greeting: what each slot is filled with."""

from __future__ import annotations

from newsletter.config import Greeting
from newsletter.render.merge import LOCAL_TAGS, Recipient, greeting_line

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
