"""Merge slots: the recipient-specific parts of an email, in each provider's syntax.

An issue is compiled once with slots in place of the recipient's address, name and
links; the provider fills them (Mailchimp on its side, the local provider per message).
The local ``[[nl:...]]`` slots live here; other providers' tags live in their packages.
The ``Recipient`` each copy is filled for, its greeting (``greeting_line``) and the
cutting of a body at its slots (which ``delivery.message`` uses too) live here as well.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal, get_args

from markupsafe import Markup, escape

from newsletter.config import Greeting

SlotName = Literal[
    "email",
    "first_name",
    "greeting",
    "unsubscribe_url",
    "preferences_url",
    "archive_url",
    "about_url",
]
SLOT_NAMES: tuple[SlotName, ...] = get_args(SlotName)


@dataclass(frozen=True)
class IfFirstName:
    """A provider's own "if the first name is known", around the two greetings.

    The line is ``start``, the named greeting, ``otherwise``, the anonymous one, ``end``.
    """

    start: str
    otherwise: str
    end: str


@dataclass(frozen=True)
class MergeTags:
    """How one provider writes each slot. ``address_line`` None: we print the address.

    ``if_first_name`` None: the greeting is a slot filled per recipient; otherwise the
    provider chooses between the named and the anonymous greeting itself.
    """

    name: str
    slots: Mapping[str, str]
    address_line: str | None = None
    if_first_name: IfFirstName | None = None
    preview_block: str | None = None

    def greeting(self, named: str, anonymous: str, *, html: bool = True) -> str:
        """The greeting line: a slot, or the provider's conditional on the first name."""
        if self.if_first_name is None:
            return Markup(self.slots["greeting"]) if html else self.slots["greeting"]
        quote = escape if html else str
        before, _, after = named.partition("{first_name}")
        when = self.if_first_name
        line = (
            f"{when.start}{quote(before)}{self.slots['first_name']}{quote(after)}"
            f"{when.otherwise}{quote(anonymous)}{when.end}"
        )
        return Markup(line) if html else line


_SLOT_START, _SLOT_END = "[[nl:", "]]"

LOCAL_TAGS = MergeTags(
    name="local",
    slots={name: f"{_SLOT_START}{name}{_SLOT_END}" for name in SLOT_NAMES},
)
"""The default: the tool fills these slots itself, per recipient, HTML-escaped.

Providers that fill recipients' details on their side keep their own tags in their
package and name them in ``newsletter.providers.registry``.
"""

_LOCAL_SLOT = re.compile(
    re.escape(_SLOT_START) + "(" + "|".join(SLOT_NAMES) + ")" + re.escape(_SLOT_END)
)
"""Any of ``LOCAL_TAGS.slots``; the group is the slot's name."""


def split_at_slots(text: str) -> tuple[list[str], list[SlotName]]:
    """``text`` cut at its local slots: the static parts, one more than the slots, and
    the names of the slots between them. Text that only looks like a slot is kept as
    text, as it would be sent."""
    pieces = _LOCAL_SLOT.split(text)
    return pieces[0::2], pieces[1::2]


_DEFAULT_GREETING = Greeting()


def greeting_line(greeting: Greeting | None, first_name: str) -> str:
    """The greeting a recipient reads: the named one with ``{first_name}`` filled in
    when the first name is known, otherwise the anonymous one."""
    greeting = greeting or _DEFAULT_GREETING
    if first_name:
        return greeting.named.replace("{first_name}", first_name)
    return greeting.anonymous


@dataclass(frozen=True, slots=True)
class Recipient:
    """Who one copy is for, and the links it carries. The message-specific details a
    provider adds (Message-ID, the mailto: half of List-Unsubscribe) are passed beside it.
    """

    email: str
    first_name: str = ""
    last_name: str = ""
    unsubscribe_url: str = ""
    preferences_url: str = ""
    archive_url: str = ""
    about_url: str = ""

    @property
    def display_name(self) -> str:
        """The name for the ``To`` header: first and last name, or empty."""
        return f"{self.first_name} {self.last_name}".strip()

    def values(self, greeting: Greeting | None) -> dict[SlotName, str]:
        """What each local slot is filled with for this recipient (unescaped)."""
        return {
            "email": self.email,
            "first_name": self.first_name,
            "greeting": greeting_line(greeting, self.first_name),
            "unsubscribe_url": self.unsubscribe_url,
            "preferences_url": self.preferences_url,
            "archive_url": self.archive_url,
            "about_url": self.about_url,
        }


class SlotTemplate:
    """A compiled body split once at its local slots, so each fill is a join."""

    __slots__ = ("_escape", "_names", "_parts")

    def __init__(self, text: str, *, html_escape: bool) -> None:
        self._parts, self._names = split_at_slots(text)
        self._escape = html_escape

    @property
    def names(self) -> frozenset[str]:
        return frozenset(self._names)

    def fill(self, values: Mapping[str, str]) -> str:
        if self._escape:
            filled = {name: html.escape(values[name], quote=True) for name in set(self._names)}
        else:
            filled = {name: values[name] for name in set(self._names)}
        out = [self._parts[0]]
        for name, part in zip(self._names, self._parts[1:], strict=True):
            out.append(filled[name])
            out.append(part)
        return "".join(out)
