"""The every-minute question ``run-due`` asks, answered with the standard library alone.

Loading SQLAlchemy costs about 100 ms, two thirds of what a ``run-due`` with nothing to
do adds to ``newsletter --help``. On the embedded SQLite store this module answers
"nothing to do" with one read-only query; whenever it cannot be sure (another database,
a store not yet made or on an older schema, any error) it says so and the full path
decides.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import unquote, urlsplit

_ANYTHING_TO_DO = """
SELECT 1 FROM campaigns WHERE
  (provider = 'local' AND (
     (state = 'scheduled' AND julianday(scheduled_at) <= julianday(:now))
     OR (state = 'sending' AND approved_hash IS NOT NULL)))
  OR (provider != 'local' AND state IN ('scheduled', 'sending'))
LIMIT 1
"""


def sqlite_file(url: str, root: Path) -> Path | None:
    """The file of a plain ``sqlite:///PATH`` URL (relative to ``root``), else None."""
    parts = urlsplit(url)
    if parts.scheme != "sqlite" or parts.netloc or not parts.path.startswith("/"):
        return None
    name = unquote(parts.path[1:])
    if not name or name == ":memory:":
        return None
    path = Path(name)
    return path if path.is_absolute() else root / path


def nothing_to_do(url: str, root: Path, now: datetime) -> bool:
    """True only when the store certainly holds nothing ``run-due`` acts on at ``now``."""
    path = sqlite_file(url, root)
    if path is None:
        return False
    if not path.exists():
        return True
    at = now.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5) as connection:
            row = connection.execute(_ANYTHING_TO_DO, {"now": at}).fetchone()
    except sqlite3.Error:
        return False
    return row is None
