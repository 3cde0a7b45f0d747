"""The API key taken out of any text we show: as typed, and in its HTTP Basic form.

An answer can echo the request's ``Authorization: Basic base64(user:KEY)`` header, in
which the key is not visible as typed. Whatever the user name before the colon, the key
starts at one of three positions in base64's 3-byte groups, and for each position the
complete groups after it encode to text that depends on the key alone. Any base64 word
that holds one of those three texts is masked whole, as is any ``Basic`` or ``Bearer``
credential.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable, Mapping
from typing import Any

MASK = "**********"
_CREDENTIAL = re.compile(r"\b(Basic|Bearer)(\s+)[A-Za-z0-9+/=._~-]{8,}", re.IGNORECASE)
_BASE64_CHARS = "[A-Za-z0-9+/_-]*"
_SHORTEST_FORM = 8
"""Shorter fragments are not looked for: they would mask ordinary words."""


def key_forms(key: str) -> set[str]:
    """The key as typed, its part before the data centre, and its base64 cores."""
    forms = {key, key.rpartition("-")[0]}
    data = key.encode()
    for skip in range(3):
        tail = data[skip:]
        complete = 4 * (len(tail) // 3)
        core = base64.b64encode(tail).decode()[:complete]
        forms |= {core, core.replace("+", "-").replace("/", "_")}
    return {form for form in forms if len(form) >= _SHORTEST_FORM}


class Redactor:
    """Masks one key in every form ``key_forms`` names, and any Basic or Bearer credential."""

    def __init__(self, key: str) -> None:
        forms = sorted(key_forms(key.strip()), key=len, reverse=True)
        alternatives = "|".join(re.escape(form) for form in forms)
        self._pattern = (
            re.compile(f"{_BASE64_CHARS}(?:{alternatives}){_BASE64_CHARS}=*")
            if alternatives
            else None
        )

    def __repr__(self) -> str:
        return "Redactor(key=**********)"

    def __call__(self, text: str) -> str:
        text = mask_credentials(text)
        if self._pattern is not None:
            text = self._pattern.sub(MASK, text)
        return text


def mask_credentials(text: str) -> str:
    """``text`` with any ``Basic ...`` or ``Bearer ...`` credential masked."""
    return _CREDENTIAL.sub(rf"\1\2{MASK}", text)


def redact_data(value: Any, redact: Callable[[str], str]) -> Any:
    """``value`` (data read from JSON) with ``redact`` applied to every string in it."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, Mapping):
        return {redact(str(key)): redact_data(item, redact) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [redact_data(item, redact) for item in value]
    return value
