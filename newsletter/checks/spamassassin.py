"""Running SpamAssassin on one message and reading its verdict.

Local rules only (``-L``): no DNS blocklists or other network tests, so the score is what
the content and headers earn and is the same on any machine. Each run gets an empty
home folder and no Bayes database, so neither the user's training nor earlier runs
change the score, and nothing is learnt from the sample.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass

from newsletter.errors import ConfigError, NewsletterError

PROGRAM = "spamassassin"
TIMEOUT_SECONDS = 60.0
INSTALL_HINT = (
    "install SpamAssassin: `sudo apt-get install spamassassin` on Debian or Ubuntu, "
    "`brew install spamassassin` on macOS"
)
_MARK = "NEWSLETTER-SPAM-REPORT"
"""Heads the report we ask for, so the table is found whatever the site's templates say."""
_OPTIONS = (
    "-L",
    "-t",
    "-x",
    "--cf",
    "use_bayes 0",
    "--cf",
    "clear_report_template",
    "--cf",
    f"report {_MARK}",
    "--cf",
    "report _SUMMARY_",
)
_STATUS = re.compile(r"^X-Spam-Status:(.*(?:\n[ \t].*)*)", re.M | re.I)
_SCORE = re.compile(r"\bscore=(-?\d+(?:\.\d+)?)")
_TESTS = re.compile(r"\btests=((?:[^\s,]+,\s*)*[^\s,]+)")
_ROW = re.compile(r"^\s*(-?\d+(?:\.\d+)?)\s+(\S+)\s+(.*)$")


@dataclass(frozen=True)
class Hit:
    """A SpamAssassin rule that matched: its name, the points it adds, what it means."""

    name: str
    score: float
    description: str


@dataclass(frozen=True)
class Verdict:
    score: float
    hits: tuple[Hit, ...]
    """Every rule that matched, highest score first."""


def score(message: bytes, timeout: float = TIMEOUT_SECONDS) -> Verdict:
    """SpamAssassin's verdict on ``message``."""
    return parse(run(message, timeout))


def run(message: bytes, timeout: float = TIMEOUT_SECONDS) -> str:
    """``spamassassin -L -t`` on ``message``: the message back with its headers and report."""
    program = shutil.which(PROGRAM)
    if program is None:
        raise ConfigError(f"newsletter check --spam needs the spamassassin program; {INSTALL_HINT}")
    with tempfile.TemporaryDirectory(prefix="newsletter-spam-") as home:
        try:
            done = subprocess.run(
                [program, *_OPTIONS],
                input=message,
                capture_output=True,
                timeout=timeout,
                env={**os.environ, "HOME": home},
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise NewsletterError(
                f"SpamAssassin gave no answer within {timeout:g} seconds; "
                "try again, or check without --spam"
            ) from None
        except OSError as exc:
            raise NewsletterError(f"SpamAssassin could not be started: {exc}") from None
    if done.returncode != 0:
        said = done.stderr.decode("utf-8", "replace").strip().splitlines()
        reason = said[-1] if said else "no message"
        raise NewsletterError(f"SpamAssassin failed (exit status {done.returncode}): {reason}")
    return done.stdout.decode("utf-8", "replace")


def parse(output: str) -> Verdict:
    """The score and matched rules from the ``X-Spam-Status`` header, with each rule's
    points and description from the report's table."""
    headers = output.replace("\r\n", "\n").partition("\n\n")[0]
    status = _STATUS.search(headers)
    found = _SCORE.search(status.group(1)) if status else None
    if status is None or found is None:
        raise NewsletterError("SpamAssassin's answer has no X-Spam-Status header with a score")
    tests = _TESTS.search(status.group(1))
    names = [name.strip() for name in tests.group(1).split(",")] if tests else []
    table = _table(output)
    hits = [table.get(name, Hit(name, 0.0, "")) for name in names if name and name != "none"]
    hits.sort(key=lambda hit: (-hit.score, hit.name))
    return Verdict(_points(found.group(1)), tuple(hits))


def _table(output: str) -> dict[str, Hit]:
    """The rows of the last report in ``output``: name to hit, wrapped descriptions joined."""
    lines = output.replace("\r\n", "\n").split("\n")
    starts = [index for index, line in enumerate(lines) if line.strip() == _MARK]
    if not starts:
        return {}
    rows: list[list[str]] = []
    for line in lines[starts[-1] + 1 :]:
        row = _ROW.match(line)
        if row:
            rows.append([row.group(2), row.group(1), row.group(3).strip()])
        elif line.strip() and rows and line[:1].isspace():
            if not line.strip().startswith("["):
                rows[-1][2] += " " + line.strip()
        else:
            break
    return {name: Hit(name, _points(points), text) for name, points, text in rows}


def _points(text: str) -> float:
    """A score as a float, with SpamAssassin's ``-0.0`` read as 0."""
    return float(text) + 0.0
