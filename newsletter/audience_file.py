"""Audience CSV files: reading with loosely matched headers, checking every row, writing.

Reading never stops at a bad row: each one becomes a ``FILE:LINE: reason`` line and the
rest are returned. Rows for the same address are merged into one member.

Written cells are safe to open in a spreadsheet (OWASP's rule against CSV injection): a
value that a spreadsheet would run as a formula is written with a leading ``'``, and
reading drops that ``'`` again, so an exported file imports back to the same values.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from newsletter.errors import ConfigError
from newsletter.models import Subscriber
from newsletter.providers.base import MemberInput
from newsletter.types import check_address

COLUMNS = ("email", "first_name", "last_name", "topics")
_ALIASES = {
    "email": {"email", "emailaddress", "mail", "address", "emailaddr"},
    "first_name": {"firstname", "first", "givenname", "forename", "fname", "name"},
    "last_name": {"lastname", "last", "surname", "familyname", "lname"},
    "topics": {"topics", "topic", "interests", "interest", "lists", "groups"},
}
_TOPIC_SPLIT = re.compile(r"[,;|\s]+")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")
_FORMULA = re.compile(r"'*[=+\-@\t\r]")
"""What a spreadsheet may run as a formula: ``=``, ``+``, ``-``, ``@``, tab or carriage
return first, after any quotes (so that a value already starting with ``'=`` survives)."""


def to_spreadsheet(value: str) -> str:
    """``value`` as a cell no spreadsheet runs: a leading ``'`` before a formula."""
    return "'" + value if _FORMULA.match(value) else value


def from_spreadsheet(cell: str) -> str:
    """The value ``to_spreadsheet`` wrote: one leading ``'`` before a formula dropped."""
    return cell[1:] if cell.startswith("'") and _FORMULA.match(cell, 1) else cell


def _column(header: str) -> str | None:
    key = re.sub(r"[^a-z]", "", header.lower())
    for column, aliases in _ALIASES.items():
        if key in aliases:
            return column
    return None


@dataclass
class ReadResult:
    members: list[MemberInput] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    merged: int = 0


def read_members(path: Path, known_topics: Iterable[str]) -> ReadResult:
    """Every valid row as a member (duplicates merged), every bad row as a problem line."""
    known = frozenset(known_topics)
    result = ReadResult()
    by_key: dict[str, MemberInput] = {}
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            for line, values in _rows(path, handle):
                member = _member(path, line, values, known, result.problems)
                if member is None:
                    continue
                key = member.email.lower()
                earlier = by_key.get(key)
                if earlier is not None:
                    result.merged += 1
                    member = MemberInput(
                        email=earlier.email,
                        first_name=member.first_name or earlier.first_name,
                        last_name=member.last_name or earlier.last_name,
                        topics=earlier.topics | member.topics,
                        source_line=earlier.source_line,
                    )
                by_key[key] = member
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not UTF-8 text; save the file as CSV UTF-8") from None
    except csv.Error as exc:
        raise ConfigError(f"{path}: not a CSV file: {exc}") from None
    result.members = list(by_key.values())
    return result


def _rows(path: Path, handle: Iterable[str]) -> Iterator[tuple[int, dict[str, str]]]:
    reader = csv.reader(handle)
    header = next(reader, None)
    if header is None:
        raise ConfigError(f"{path}:1: the file is empty; the first line names the columns")
    columns = [_column(name) for name in header]
    if "email" not in columns:
        found = ", ".join(repr(h) for h in header) or "nothing"
        raise ConfigError(f"{path}:1: no email column in the header (found {found})")
    line = reader.line_num + 1
    for row in reader:
        if any(cell.strip() for cell in row):
            values: dict[str, str] = {}
            for column, cell in zip(columns, row, strict=False):
                if column is not None and column not in values:
                    values[column] = _CONTROL.sub(" ", from_spreadsheet(cell)).strip()
            yield line, values
        line = reader.line_num + 1


def _member(
    path: Path, line: int, values: dict[str, str], known: frozenset[str], problems: list[str]
) -> MemberInput | None:
    raw_email = values.get("email", "")
    if not raw_email:
        problems.append(f"{path}:{line}: no email address")
        return None
    try:
        email = check_address(raw_email)
    except ValueError as exc:
        problems.append(f"{path}:{line}: '{raw_email}' is not a valid email address: {exc}")
        return None
    topics = frozenset(t for t in _TOPIC_SPLIT.split(values.get("topics", "").lower()) if t)
    unknown = sorted(topics - known)
    if unknown:
        choices = ", ".join(sorted(known)) or "none are defined"
        problems.append(
            f"{path}:{line}: unknown topic '{unknown[0]}' (topics in newsletter.yaml: {choices})"
        )
        return None
    return MemberInput(
        email=email,
        first_name=values.get("first_name", "")[:200],
        last_name=values.get("last_name", "")[:200],
        topics=topics,
        source_line=line,
    )


def write_members(path: Path, members: Iterable[Subscriber]) -> int:
    """Write members as CSV (email, first_name, last_name, topics, status), each cell safe
    for a spreadsheet; returns the count."""
    count = 0
    temporary = path.with_name(f".{path.name}.tmp")
    try:
        with temporary.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow([*COLUMNS, "status"])
            for member in members:
                cells = (
                    member.email,
                    member.first_name,
                    member.last_name,
                    ";".join(sorted(member.topics)),
                    member.status.value,
                )
                writer.writerow([to_spreadsheet(cell) for cell in cells])
                count += 1
        temporary.replace(path)
    except OSError as exc:
        temporary.unlink(missing_ok=True)
        raise ConfigError(f"{path}: cannot write: {exc.strerror}") from None
    return count
