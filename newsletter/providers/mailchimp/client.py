"""The Mailchimp Marketing API over httpx: auth, one shared limiter, retries, errors.

Mailchimp allows 10 connections in flight per user and 120 s per call. Reads and
idempotent writes are retried with exponential backoff and jitter on 429, a bare 403
(the edge's answer, not a problem document), 5xx and transport errors. Other writes
(creating a campaign, ``actions/send``, ``actions/schedule``, ``actions/test``) are
sent once: the caller reads the campaign's state to decide what happened.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

import httpx
import tenacity
from pydantic import SecretStr

from newsletter.errors import ProviderAPIError
from newsletter.providers.mailchimp.redact import Redactor, mask_credentials, redact_data

log = logging.getLogger("newsletter.mailchimp")

MAX_IN_FLIGHT = 10
TIMEOUT = httpx.Timeout(connect=10.0, read=120.0, write=120.0, pool=None)
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "PUT", "PATCH", "DELETE"})

_limiters: dict[str, threading.BoundedSemaphore] = {}
_limiters_lock = threading.Lock()


class MailchimpUnreachable(ProviderAPIError):
    """No answer came back (timeout, refused or dropped connection): the outcome is unknown."""


def outcome_unknown(error: ProviderAPIError) -> bool:
    """No answer, or a server error: a write may have happened."""
    return isinstance(error, MailchimpUnreachable) or (error.status or 0) >= 500


def shared_limiter(api_root: str, key: SecretStr, size: int = MAX_IN_FLIGHT) -> threading.Semaphore:
    """One limiter per account and API address, shared by every client in the process."""
    digest = hashlib.sha256(key.get_secret_value().encode()).hexdigest()[:16]
    name = f"{api_root}#{digest}#{size}"
    with _limiters_lock:
        return _limiters.setdefault(name, threading.BoundedSemaphore(size))


class MailchimpClient:
    """A thin, thread-safe client: ``request`` returns the JSON answer or raises."""

    def __init__(
        self,
        api_key: SecretStr,
        api_root: str,
        *,
        transport: httpx.BaseTransport | None = None,
        limiter: threading.Semaphore | None = None,
        attempts: int = 5,
        backoff: float = 0.5,
        max_backoff: float = 30.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.api_root = api_root.rstrip("/")
        self._key = api_key
        self._redact = Redactor(api_key.get_secret_value())
        self._limiter = limiter or shared_limiter(self.api_root, api_key)
        self.attempts = attempts
        self.backoff = backoff
        self.max_backoff = max_backoff
        self._sleep = sleep
        self._http = httpx.Client(
            base_url=self.api_root,
            # httpx keeps only the finished header, and its repr is the default
            # ``<httpx.BasicAuth object at ...>``: the key is not in it.
            auth=httpx.BasicAuth("newsletter", api_key.get_secret_value()),
            timeout=TIMEOUT,
            limits=httpx.Limits(max_connections=MAX_IN_FLIGHT, max_keepalive_connections=10),
            headers={"Accept": "application/json", "User-Agent": "newsletter"},
            transport=transport,
        )

    def __repr__(self) -> str:
        return f"MailchimpClient(api_root={self.api_root!r})"

    def close(self) -> None:
        self._http.close()

    def get(self, path: str, **params: Any) -> dict[str, Any]:
        return self.request("GET", path, params=params or None)

    def request(
        self,
        method: str,
        path: str,
        *,
        json_body: Mapping[str, Any] | None = None,
        params: Mapping[str, Any] | None = None,
        idempotent: bool | None = None,
    ) -> dict[str, Any]:
        """Send one call; retried only when ``idempotent`` (default: by method)."""
        method = method.upper()
        retry = method in IDEMPOTENT_METHODS if idempotent is None else idempotent
        what = f"{method} {path}"
        retrying = self._retrying(what, self.attempts if retry else 1)
        # ``statistics["attempt_number"]`` counts the tries made. tenacity may change these
        # keys in a major release: hence the <10 bound, and tests pin "after N tries".
        try:
            response = retrying(self._send, method, path, json_body, params)
        except httpx.TransportError as exc:
            raise self._transport_error(exc, what, retrying.statistics["attempt_number"]) from None
        if response.is_success:
            return _json_object(response)
        tries = retrying.statistics["attempt_number"] if _retryable(response) else 1
        raise self._api_error(response, what, tries)

    def _retrying(self, what: str, attempts: int) -> tenacity.Retrying:
        """Up to ``attempts`` tries on a transport error or a retryable answer; the last
        answer (or error) comes back as it is, for ``request`` to turn into one error."""
        # Equal jitter: half the capped exponential delay, plus up to as much again.
        half = {"multiplier": self.backoff / 2, "max": self.max_backoff / 2}
        backoff = tenacity.wait_exponential(**half) + tenacity.wait_random_exponential(**half)

        def wait(state: tenacity.RetryCallState) -> float:
            delay = backoff(state)
            retry_after = _retry_after(state)
            if retry_after is not None:
                delay = min(self.max_backoff, max(delay, retry_after))
            return delay

        return tenacity.Retrying(
            stop=tenacity.stop_after_attempt(attempts),
            wait=wait,
            retry=(
                tenacity.retry_if_exception_type(httpx.TransportError)
                | tenacity.retry_if_result(lambda r: not r.is_success and _retryable(r))
            ),
            sleep=self._sleep,
            before_sleep=lambda state: self._log_retry(what, state),
            retry_error_callback=lambda state: state.outcome.result(),
        )

    def _send(
        self,
        method: str,
        path: str,
        json_body: Mapping[str, Any] | None,
        params: Mapping[str, Any] | None,
    ) -> httpx.Response:
        started = time.perf_counter()
        with self._limiter:
            response = self._http.request(
                method, path, json=json_body, params=_query(params) if params else None
            )
        log.debug(
            "%s %s -> %s in %.2f s",
            method,
            path,
            response.status_code,
            time.perf_counter() - started,
        )
        return response

    def _log_retry(self, what: str, state: tenacity.RetryCallState) -> None:
        answer = _answer(state)
        error = state.outcome.exception() if state.outcome is not None else None
        log.warning(
            "Mailchimp: %s answered %s; retrying in %.1f s (attempt %d of %d)",
            what,
            answer.status_code if answer is not None else type(error).__name__,
            state.upcoming_sleep,
            state.attempt_number + 1,
            self.attempts,
        )

    def _transport_error(
        self, exc: httpx.TransportError, what: str, tries: int
    ) -> MailchimpUnreachable:
        kind = "timed out" if isinstance(exc, httpx.TimeoutException) else "failed"
        after = f" after {tries} tries" if tries > 1 else ""
        return MailchimpUnreachable(
            self.scrub(f"Mailchimp: {what} {kind} ({type(exc).__name__}){after}"),
            status=None,
            title=type(exc).__name__,
        )

    def _api_error(self, response: httpx.Response, what: str, tries: int) -> ProviderAPIError:
        return api_error(response, what, tries, scrub=self.scrub)

    def scrub(self, text: str) -> str:
        """The text with the key replaced by stars: as typed, in base64 (the Basic-auth
        form of ``anything:KEY``) and inside any ``Authorization`` value."""
        return self._redact(text)


def _query(params: Mapping[str, Any]) -> dict[str, str]:
    out: dict[str, str] = {}
    for name, value in params.items():
        if value is None:
            continue
        if isinstance(value, bool):
            out[name] = "true" if value else "false"
        elif isinstance(value, list | tuple):
            out[name] = ",".join(str(item) for item in value)
        else:
            out[name] = str(value)
    return out


def _json_object(response: httpx.Response) -> dict[str, Any]:
    if response.status_code == 204 or not response.content:
        return {}
    try:
        data = response.json()
    except ValueError:
        raise ProviderAPIError(
            f"Mailchimp answered {response.status_code} with a body that is not JSON",
            status=response.status_code,
        ) from None
    return data if isinstance(data, dict) else {"items": data}


def _problem(response: httpx.Response) -> dict[str, Any] | None:
    try:
        data = response.json()
    except ValueError:
        return None
    return data if isinstance(data, dict) and ("title" in data or "detail" in data) else None


def _answer(state: tenacity.RetryCallState) -> httpx.Response | None:
    """The last try's answer; ``None`` when it ended in a transport error."""
    if state.outcome is None or state.outcome.failed:
        return None
    return state.outcome.result()


def _retry_after(state: tenacity.RetryCallState) -> float | None:
    """The seconds an answer's ``Retry-After`` asks for; ``None`` for a date or no answer."""
    answer = _answer(state)
    value = answer.headers.get("Retry-After", "") if answer is not None else ""
    return float(value) if value.isdigit() else None


def _retryable(response: httpx.Response) -> bool:
    status = response.status_code
    if status == 429 or status >= 500:
        return True
    return status == 403 and _problem(response) is None


def api_error(
    response: httpx.Response,
    what: str,
    tries: int = 1,
    *,
    scrub: Callable[[str], str] = mask_credentials,
) -> ProviderAPIError:
    """One line from Mailchimp's problem document (or the mock's ``sl-violations``)."""
    status = response.status_code
    problem = _problem(response) or {}
    title = str(problem.get("title") or response.reason_phrase or "error")
    detail = str(problem.get("detail") or "")
    field_errors = [
        {"field": str(item.get("field", "")), "message": str(item.get("message", ""))}
        for item in problem.get("errors") or []
        if isinstance(item, dict)
    ]
    violations = [scrub(violation) for violation in _violations(response)]
    parts = [f"Mailchimp: {what} failed with {status} {title}"]
    if detail:
        parts.append(f": {detail.rstrip('.')}")
    if field_errors:
        listed = "; ".join(
            f"{item['field']}: {item['message']}" if item["field"] else item["message"]
            for item in field_errors
        )
        parts.append(f" ({listed})")
    if violations:
        parts.append(f" (request violates the API description: {'; '.join(violations)})")
    if tries > 1:
        parts.append(f" after {tries} tries")
    if status == 401:
        parts.append("; check MAILCHIMP_API_KEY")
    elif status == 429 or status >= 500:
        parts.append("; try again later")
    message = scrub("".join(parts))
    return ProviderAPIError(
        message,
        status=status,
        title=scrub(title),
        detail=scrub(detail),
        field_errors=[{k: scrub(v) for k, v in item.items()} for item in field_errors],
        raw={"problem": redact_data(problem, scrub), "violations": violations},
    )


def _violations(response: httpx.Response) -> list[str]:
    header = response.headers.get("sl-violations")
    if not header:
        return []
    try:
        items = json.loads(header)
    except ValueError:
        return [header]
    out = []
    for item in items if isinstance(items, list) else [items]:
        if isinstance(item, dict):
            location = ".".join(str(part) for part in item.get("location", []))
            out.append(f"{location}: {item.get('message', '')}".strip(": "))
        else:
            out.append(str(item))
    return out
