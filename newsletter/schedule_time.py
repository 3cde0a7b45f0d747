"""Times for ``schedule`` and ``run-due``: written in the project's zone or with an offset.

A wall-clock time written without an offset is refused where the zone makes it
unclear: in the spring-forward gap it never happens, in the autumn repeat it happens
twice. Written with an offset (``+01:00``, ``Z``) it is always one instant.
"""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo
from zoneinfo import ZoneInfo

from newsletter.errors import ConfigError


def parse_time(text: str, zone: tzinfo, option: str = "--at") -> datetime:
    """``2027-01-14T09:00`` in ``zone``, or with an offset or ``Z``; checked by
    ``exact_instant``."""
    try:
        when = datetime.fromisoformat(text.strip().replace(" ", "T", 1))
    except ValueError:
        raise ConfigError(
            f"{option} '{text}' is not a time; write it as 2027-01-14T09:00 (project time "
            "zone) or 2027-01-14T09:00Z (UTC)"
        ) from None
    return exact_instant(when if when.tzinfo else when.replace(tzinfo=zone))


def exact_instant(when: datetime) -> datetime:
    """``when`` if it names exactly one instant; a local time in a zone's gap or repeat
    is refused with one line saying how to write it."""
    zone = when.tzinfo
    if not isinstance(zone, ZoneInfo):
        return when
    wall = when.replace(tzinfo=None, fold=0)
    first = wall.replace(tzinfo=zone)
    if first.astimezone(UTC).astimezone(zone).replace(tzinfo=None) != wall:
        raise ConfigError(
            f"{wall:%Y-%m-%d %H:%M} does not exist in {zone.key} (the clocks go forward); "
            "choose another time or write it with an offset"
        )
    second = wall.replace(tzinfo=zone, fold=1)
    if first.utcoffset() != second.utcoffset():
        raise ConfigError(
            f"{wall:%Y-%m-%d %H:%M} happens twice in {zone.key} (the clocks go back); "
            f"write it with an offset: {first.isoformat()} or {second.isoformat()}"
        )
    return when


def zone_name(when: datetime) -> str:
    """How the zone was given: an IANA name, or the offset."""
    zone = when.tzinfo
    if isinstance(zone, ZoneInfo):
        return zone.key
    if zone is UTC:
        return "UTC"
    return when.strftime("%z") or "UTC"
