"""Small validated string types shared by the project file and campaign files."""

from __future__ import annotations

import re
from typing import Annotated
from urllib.parse import urlsplit

from pydantic import AfterValidator, StringConstraints

AT = "at"
"""An error's context key naming where, below its own location, the problem was written.

A validator on a list can only fail the whole list; raising
``PydanticCustomError(kind, message, {AT: (1, "id")})`` points at ``sections[1].id``.
"""


def _https(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme != "https" or not parts.netloc:
        raise ValueError(f"'{value}' is not an absolute https:// URL")
    if any(ch.isspace() for ch in value):
        raise ValueError(f"'{value}' contains white space")
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
Identifier = Annotated[
    str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]*$", min_length=1, max_length=64)
]
"""Lower-case letters, digits and hyphens: section ids, topic ids, slugs."""
