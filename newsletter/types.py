"""Small validated string types shared by the project file and campaign files."""

from __future__ import annotations

import re
from typing import Annotated
from urllib.parse import urlsplit

from email_validator import EmailNotValidError, validate_email
from pydantic import AfterValidator, StringConstraints

AT = "at"
"""An error's context key naming where, below its own location, the problem was written.

A validator on a list can only fail the whole list; raising
``PydanticCustomError(kind, message, {AT: (1, "id")})`` points at ``sections[1].id``.
"""


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_CONTROL_NAMES = {"\r": "a carriage return", "\n": "a line break", "\t": "a tab"}


def control_character(value: str) -> str | None:
    """How to name the first control character (line breaks among them) in ``value``."""
    found = _CONTROL.search(value)
    if found is None:
        return None
    char = found.group()
    return f"{_CONTROL_NAMES.get(char, 'a control character')} (U+{ord(char):04X})"


def _one_line(value: str) -> str:
    value = value.strip()
    if not value:
        raise ValueError("is blank")
    found = control_character(value)
    if found:
        raise ValueError(f"contains {found}; it goes into an email header and must be one line")
    return value


def check_address(address: str) -> str:
    """The address normalised (lower case, the domain in ASCII); ``ValueError`` with why.

    The one way every command and setting reads an address, so a member added as
    ``bob@exämple.org`` is found again under the same spelling (``bob@xn--exmple-cua.org``).
    """
    try:
        checked = validate_email(address, check_deliverability=False, allow_smtputf8=False)
    except EmailNotValidError as exc:
        raise ValueError(str(exc).rstrip(".")) from None
    return checked.ascii_email or checked.normalized


def _address(value: str) -> str:
    try:
        return check_address(value)
    except ValueError as exc:
        raise ValueError(f"'{value}' is not a valid email address: {exc}") from None


def _https(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme != "https" or not parts.netloc:
        raise ValueError(f"'{value}' is not an absolute https:// URL")
    if any(ch.isspace() for ch in value):
        raise ValueError(f"'{value}' contains white space")
    found = control_character(value)
    if found:
        raise ValueError(f"the URL contains {found}")
    return value


def _link(value: str) -> str:
    if value.startswith("mailto:"):
        if "@" not in value:
            raise ValueError(f"'{value}' is not a valid mailto: link")
        return value
    try:
        return _https(value)
    except ValueError:
        raise ValueError(f"'{value}' must be an absolute https:// URL or a mailto: link") from None


def _colour(value: str) -> str:
    if not re.fullmatch(r"#[0-9a-fA-F]{6}", value):
        raise ValueError(f"'{value}' is not a colour like #1d4f91")
    return value.lower()


HttpsUrl = Annotated[str, AfterValidator(_https)]
LinkUrl = Annotated[str, AfterValidator(_link)]
Colour = Annotated[str, AfterValidator(_colour)]
HeaderText = Annotated[str, AfterValidator(_one_line)]
"""Text that goes into an email header: one line, no control characters, outer spaces dropped."""
EmailAddress = Annotated[str, AfterValidator(_address)]
"""An address as headers and SMTP carry it: ASCII, the domain in punycode, lower case."""
Identifier = Annotated[
    str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]*$", min_length=1, max_length=64)
]
"""Lower-case letters, digits and hyphens: section ids, topic ids, slugs."""
