"""``newsletter check --links``: ask every web address the issue links to whether it is
still there, and where it sends readers.

Each distinct http(s) link is asked once with HEAD (GET when HEAD is refused or fails),
a few at a time, with one time limit for the whole answer. Redirects are followed by
hand so the report can name where a link ends up. Merge tags, mailto: and in-page links
are not fetched.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from urllib.parse import urldefrag, urljoin

import httpx
from lxml.html import HtmlElement

from newsletter import __version__
from newsletter.checks.context import CheckInput
from newsletter.checks.findings import Finding, Severity
from newsletter.checks.links import place_of_link
from newsletter.checks.optional import Extra
from newsletter.checks.rules import Rule

RULES = (
    Rule(
        "links.broken",
        Severity.ERROR,
        "A link that answers 'not found' or a server error, or does not answer at all, "
        "leaves readers at a dead end and makes the whole issue look careless.",
    ),
    Rule(
        "links.redirected",
        Severity.WARNING,
        "A link that redirects still works today, but the old address can stop "
        "redirecting at any time, and a chain of redirects slows readers down.",
    ),
)

MAX_IN_FLIGHT = 8
"""Links asked at the same time."""
TIMEOUT_SECONDS = 10.0
"""How long one link may take to answer, its redirects included."""
MAX_REDIRECTS = 5
USER_AGENT = f"newsletter/{__version__} (link check)"

REDIRECTS = frozenset({301, 302, 303, 307, 308})
_HTTP = re.compile(r"https?://", re.IGNORECASE)
_ERRNO = re.compile(r"^\[Errno -?\d+\]\s*")


@dataclass(frozen=True)
class Answer:
    """What asking one link came to."""

    url: str
    final: str
    """The address the last answer came from (``url`` unless it redirected)."""
    status: int | None = None
    problem: str = ""
    """Why there is no usable answer: a time-out, a refused connection, a redirect loop."""
    hops: int = 0

    @property
    def broken(self) -> bool:
        return bool(self.problem) or self.status is None or self.status >= 400

    @property
    def redirected(self) -> bool:
        return self.hops > 0


def run(
    check: CheckInput,
    *,
    timeout: float = TIMEOUT_SECONDS,
    in_flight: int = MAX_IN_FLIGHT,
    transport: httpx.AsyncBaseTransport | None = None,
) -> Extra:
    links = web_links(check)
    answers = asyncio.run(
        ask_all(list(links), timeout=timeout, in_flight=in_flight, transport=transport)
    )
    found = [
        finding
        for answer in answers
        if (finding := _finding(check, links[answer.url], answer)) is not None
    ]
    summary = {
        "checked": len(answers),
        "broken": sum(1 for answer in answers if answer.broken),
        "redirected": sum(1 for answer in answers if answer.redirected and not answer.broken),
    }
    return Extra("links", found, summary)


def web_links(check: CheckInput) -> dict[str, HtmlElement]:
    """Each distinct http(s) address the HTML links to (without its #fragment), with the
    first element that links to it."""
    links: dict[str, HtmlElement] = {}
    for element in check.elements("a", "area"):
        href = (element.get("href") or "").strip()
        if _HTTP.match(href):
            links.setdefault(urldefrag(href).url, element)
    return links


async def ask_all(
    urls: list[str],
    *,
    timeout: float = TIMEOUT_SECONDS,
    in_flight: int = MAX_IN_FLIGHT,
    transport: httpx.AsyncBaseTransport | None = None,
) -> list[Answer]:
    """Every URL asked, at most ``in_flight`` at a time, each within ``timeout`` seconds."""
    limit = asyncio.Semaphore(in_flight)
    async with httpx.AsyncClient(
        headers={"User-Agent": USER_AGENT},
        timeout=timeout,
        follow_redirects=False,
        limits=httpx.Limits(max_connections=in_flight),
        transport=transport,
    ) as client:

        async def one(url: str) -> Answer:
            async with limit:
                return await ask(client, url, timeout)

        return list(await asyncio.gather(*(one(url) for url in urls)))


async def ask(client: httpx.AsyncClient, url: str, timeout: float) -> Answer:
    """Where ``url`` leads, following redirects by hand, within ``timeout`` seconds."""
    current, seen = url, {url}
    try:
        async with asyncio.timeout(timeout):
            for hops in range(MAX_REDIRECTS + 1):
                status, location = await _status(client, current)
                if status not in REDIRECTS or not location:
                    return Answer(url, current, status, hops=hops)
                current = urljoin(current, location)
                if current in seen:
                    return Answer(url, current, problem="redirects in a loop", hops=hops + 1)
                seen.add(current)
    except (TimeoutError, httpx.TimeoutException):
        return Answer(url, current, problem=f"did not answer within {timeout:g} seconds")
    except (httpx.HTTPError, httpx.InvalidURL) as exc:
        return Answer(url, current, problem=_describe(exc))
    return Answer(url, current, problem=f"redirects more than {MAX_REDIRECTS} times")


async def _status(client: httpx.AsyncClient, url: str) -> tuple[int, str | None]:
    """HEAD, or GET (without reading the body) when HEAD is refused, answers with an
    error or fails: some servers answer HEAD wrongly."""
    try:
        response = await client.head(url)
        if response.status_code < 400:
            return response.status_code, response.headers.get("location")
    except httpx.TimeoutException:
        raise
    except httpx.HTTPError:
        pass
    async with client.stream("GET", url) as response:
        return response.status_code, response.headers.get("location")


def _describe(exc: Exception) -> str:
    reason = _ERRNO.sub("", str(exc)).strip() or type(exc).__name__
    if isinstance(exc, httpx.ConnectError):
        return f"could not connect ({reason})"
    return f"failed ({reason})"


def _finding(check: CheckInput, element: HtmlElement, answer: Answer) -> Finding | None:
    place = place_of_link(check, element, element.get("href") or "")
    if answer.broken:
        if answer.problem:
            what = answer.problem
        else:
            what = f"answers {answer.status} {httpx.codes.get_reason_phrase(answer.status or 0)}"
        if answer.redirected and answer.status is not None:
            what = f"leads to '{answer.final}', which {what}"
        return Finding(
            "links.broken",
            Severity.ERROR,
            f"the link '{answer.url}' {what}",
            "open it in a browser; correct the address, or remove the link if the page is gone",
            place,
        )
    if answer.redirected:
        steps = f" in {answer.hops} steps" if answer.hops > 1 else ""
        return Finding(
            "links.redirected",
            Severity.WARNING,
            f"the link '{answer.url}' redirects{steps} to '{answer.final}'",
            f"link to {answer.final} instead",
            place,
        )
    return None
