"""An in-process Mailchimp: an httpx transport answering the calls the provider makes,
the way the Marketing API does (batch-subscribe rules, campaign states, problem
documents). For tests and benchmarks; ``latency`` makes each call take that long, and
``max_in_flight`` records the most calls it ever served at once."""

from __future__ import annotations

import base64
import hashlib
import itertools
import json
import re
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

Fault = httpx.Response | Exception | Callable[[httpx.Request], httpx.Response]


def _hash(email: str) -> str:
    return hashlib.md5(email.strip().lower().encode(), usedforsecurity=False).hexdigest()


def problem(
    status: int, title: str, detail: str = "", errors: list[dict[str, str]] | None = None
) -> httpx.Response:
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": title,
        "status": status,
        "detail": detail,
    }
    if errors:
        body["errors"] = errors
    return httpx.Response(status, json=body, headers={"Content-Type": "application/problem+json"})


@dataclass
class FakeMailchimp(httpx.BaseTransport):
    latency: float = 0.0
    api_key: str | None = None
    members: dict[str, dict[str, Any]] = field(default_factory=dict)
    campaigns: dict[str, dict[str, Any]] = field(default_factory=dict)
    categories: dict[str, dict[str, Any]] = field(default_factory=dict)
    notes: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    """Member notes by subscriber hash, oldest first."""
    calls: list[tuple[str, str]] = field(default_factory=list)
    bodies: list[Any] = field(default_factory=list)
    max_in_flight: int = 0
    _in_flight: int = 0
    _faults: dict[tuple[str, str], deque[Fault]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _ids: Any = field(default_factory=lambda: itertools.count(1))

    def fail_next(self, method: str, path: str, *faults: Fault) -> None:
        """The next calls to ``method path`` get these answers (or raise these errors)."""
        self._faults.setdefault((method.upper(), path), deque()).extend(faults)

    def add_member(self, email: str, status: str = "subscribed", **merge: str) -> str:
        member_hash = _hash(email)
        self.members[member_hash] = {
            "id": member_hash,
            "email_address": email,
            "status": status,
            "merge_fields": dict(merge),
            "interests": {},
        }
        return member_hash

    def count(self, method: str, pattern: str) -> int:
        return sum(1 for m, p in self.calls if m == method and re.fullmatch(pattern, p))

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        method, path = request.method, request.url.path.removeprefix("/3.0")
        body = json.loads(request.content) if request.content else None
        with self._lock:
            self.calls.append((method, path))
            self.bodies.append(body)
            self._in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self._in_flight)
            queued = self._faults.get((method, path))
            fault = queued.popleft() if queued else None
        try:
            if self.latency:
                time.sleep(self.latency)
            if fault is not None:
                if isinstance(fault, Exception):
                    raise fault
                return fault(request) if callable(fault) else fault
            if self.api_key is not None and not _authorised(request, self.api_key):
                return problem(
                    401,
                    "API Key Invalid",
                    "Your API key may be invalid, or you've attempted to access the wrong "
                    "datacenter.",
                )
            with self._lock:
                return self._route(method, path, request, body)
        finally:
            with self._lock:
                self._in_flight -= 1

    def _route(self, method: str, path: str, request: httpx.Request, body: Any) -> httpx.Response:
        parts = path.strip("/").split("/")
        params = request.url.params
        if parts[0] == "lists" and len(parts) == 2 and method == "POST":
            return self._batch(body)
        if parts[0] == "lists" and len(parts) == 3 and parts[2] == "members" and method == "GET":
            return self._list_members(params)
        if parts[0] == "lists" and len(parts) == 4 and parts[2] == "members":
            return self._member(method, parts[3], body)
        if parts[0] == "lists" and len(parts) == 5 and parts[2:5:2] == ["members", "notes"]:
            return self._notes(method, parts[3], body, params)
        if parts[0] == "lists" and len(parts) >= 3 and parts[2] == "interest-categories":
            return self._interests(method, parts[3:], body)
        if parts == ["campaigns"] and method == "POST":
            campaign_id = f"c{next(self._ids)}"
            self.campaigns[campaign_id] = {"id": campaign_id, "status": "save", **body}
            return httpx.Response(200, json=self.campaigns[campaign_id])
        if parts == ["campaigns"] and method == "GET":
            return httpx.Response(
                200,
                json={
                    "campaigns": list(self.campaigns.values()),
                    "total_items": len(self.campaigns),
                },
            )
        if parts[0] in ("campaigns", "reports") and len(parts) >= 2:
            campaign = self.campaigns.get(parts[1])
            if campaign is None:
                return problem(
                    404, "Resource Not Found", "The requested resource could not be found."
                )
            return self._campaign(method, parts[0], parts[2:], campaign, body)
        return problem(404, "Resource Not Found", f"no route for {method} {path}")

    def _batch(self, body: dict[str, Any]) -> httpx.Response:
        members = body.get("members") or []
        if len(members) > 500:
            return problem(400, "Invalid Resource", "Batch subscribe accepts at most 500 members.")
        new, updated, errors = [], [], []
        for item in members:
            existing = self.members.get(_hash(item["email_address"]))
            if existing is None:
                outcome, refusal = self._batch_add(item)
                (new if outcome else errors).append(outcome or refusal)
            else:
                refusal = self._batch_update(existing, item, body.get("update_existing"))
                (errors if refusal else updated).append(refusal or existing)
        return httpx.Response(
            200,
            json={
                "new_members": new,
                "updated_members": updated,
                "errors": errors,
                "total_created": len(new),
                "total_updated": len(updated),
                "error_count": len(errors),
            },
        )

    def _batch_add(self, item: dict[str, Any]) -> tuple[dict[str, Any] | None, dict[str, Any]]:
        """(the new member, or None with the batch error)."""
        address = item["email_address"]
        status = item.get("status") or item.get("status_if_new")
        if status is None:
            return None, _batch_error(address, "status is required", "ERROR_GENERIC")
        member = self.members[_hash(address)] = {
            "id": _hash(address),
            "email_address": address,
            "status": status,
            "merge_fields": dict(item.get("merge_fields") or {}),
            "interests": dict(item.get("interests") or {}),
        }
        return member, {}

    @staticmethod
    def _batch_update(
        existing: dict[str, Any], item: dict[str, Any], update_existing: object
    ) -> dict[str, Any] | None:
        """The batch error for ``item``, or None once ``existing`` is updated."""
        address = item["email_address"]
        if not update_existing:
            return _batch_error(
                address, f"{address} is already a list member", "ERROR_CONTACT_EXISTS"
            )
        if "status" in item:
            if existing["status"] == "cleaned":
                return _batch_error(
                    address, "This address is cleaned and cannot be resubscribed", "ERROR_GENERIC"
                )
            existing["status"] = item["status"]
        existing["merge_fields"].update(item.get("merge_fields") or {})
        existing["interests"].update(item.get("interests") or {})
        return None

    def _list_members(self, params: httpx.QueryParams) -> httpx.Response:
        wanted = [
            m
            for m in self.members.values()
            if not params.get("status") or m["status"] == params["status"]
        ]
        interest = params.get("interest_ids")
        if interest:
            wanted = [m for m in wanted if m["interests"].get(interest)]
        offset, count = int(params.get("offset", 0)), int(params.get("count", 10))
        return httpx.Response(
            200, json={"members": wanted[offset : offset + count], "total_items": len(wanted)}
        )

    def _member(self, method: str, member_hash: str, body: Any) -> httpx.Response:
        member = self.members.get(member_hash)
        if method == "PUT":
            if member is None:
                status = body.get("status") or body.get("status_if_new")
                member = self.members[member_hash] = {
                    "id": member_hash,
                    "email_address": body["email_address"],
                    "status": status,
                    "merge_fields": {},
                    "interests": {},
                }
            elif "status" in body:
                member["status"] = body["status"]
            member["merge_fields"].update(body.get("merge_fields") or {})
            member["interests"].update(body.get("interests") or {})
            return httpx.Response(200, json=member)
        if member is None:
            return problem(404, "Resource Not Found", "The requested resource could not be found.")
        if method == "PATCH":
            if "status" in body:
                member["status"] = body["status"]
            member["interests"].update(body.get("interests") or {})
        return httpx.Response(200, json=member)

    def note_texts(self, email: str) -> list[str]:
        """The notes on one member, oldest first."""
        return [item["note"] for item in self.notes.get(_hash(email), [])]

    def _notes(
        self, method: str, member_hash: str, body: Any, params: httpx.QueryParams
    ) -> httpx.Response:
        if member_hash not in self.members:
            return problem(404, "Resource Not Found", "The requested resource could not be found.")
        kept = self.notes.setdefault(member_hash, [])
        if method == "POST":
            text = (body or {}).get("note")
            if not isinstance(text, str) or not text:
                return problem(400, "Invalid Resource", "The note must be a non-empty string.")
            if len(text) > 1000:
                return problem(400, "Invalid Resource", "A note holds at most 1,000 characters.")
            item = {
                "id": next(self._ids),
                "note": text,
                "created_at": time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime()),
            }
            kept.append(item)
            return httpx.Response(200, json=item)
        listed = list(reversed(kept)) if params.get("sort_dir") == "DESC" else list(kept)
        offset, count = int(params.get("offset", 0)), int(params.get("count", 10))
        return httpx.Response(
            200, json={"notes": listed[offset : offset + count], "total_items": len(kept)}
        )

    def _interests(self, method: str, rest: list[str], body: Any) -> httpx.Response:
        if not rest:
            if method == "POST":
                category_id = f"cat{next(self._ids)}"
                self.categories[category_id] = {
                    "id": category_id,
                    "title": body["title"],
                    "interests": {},
                }
                return httpx.Response(200, json={"id": category_id, "title": body["title"]})
            listed = [{"id": c["id"], "title": c["title"]} for c in self.categories.values()]
            return httpx.Response(200, json={"categories": listed, "total_items": len(listed)})
        category = self.categories.get(rest[0])
        if category is None:
            return problem(404, "Resource Not Found", "The requested resource could not be found.")
        if method == "POST":
            interest_id = f"i{next(self._ids)}"
            category["interests"][interest_id] = body["name"]
            return httpx.Response(200, json={"id": interest_id, "name": body["name"]})
        listed = [{"id": k, "name": v} for k, v in category["interests"].items()]
        return httpx.Response(200, json={"interests": listed, "total_items": len(listed)})

    def _campaign(
        self, method: str, kind: str, rest: list[str], campaign: dict[str, Any], body: Any
    ) -> httpx.Response:
        if kind == "reports":
            return httpx.Response(
                200,
                json={
                    "id": campaign["id"],
                    "emails_sent": 120,
                    "opens": {"unique_opens": 80},
                    "clicks": {"unique_subscriber_clicks": 30},
                    "bounces": {"hard_bounces": 2, "soft_bounces": 1, "syntax_errors": 0},
                    "unsubscribed": 3,
                },
            )
        if not rest:
            if method == "PATCH":
                if campaign["status"] not in ("save", "paused"):
                    return problem(400, "Bad Request", "This campaign cannot be updated.")
                campaign.update(body)
            recipients = {
                **campaign.get("recipients", {}),
                "recipient_count": sum(m["status"] == "subscribed" for m in self.members.values()),
            }
            return httpx.Response(200, json={**campaign, "recipients": recipients})
        if rest == ["content"]:
            campaign["content"] = body
            return httpx.Response(200, json={"html": body.get("html", "")})
        if rest == ["send-checklist"]:
            return httpx.Response(200, json={"is_ready": True, "items": []})
        action = rest[-1]
        moves = {
            "send": ("save", "sending"),
            "schedule": ("save", "schedule"),
            "unschedule": ("schedule", "save"),
        }
        if action == "test":
            return httpx.Response(204)
        if action in moves:
            before, after = moves[action]
            if campaign["status"] != before:
                return problem(
                    400,
                    "Bad Request",
                    f"Cannot {action} a campaign whose status is '{campaign['status']}'.",
                )
            campaign["status"] = after
            return httpx.Response(204)
        return problem(404, "Resource Not Found", "The requested resource could not be found.")


def _authorised(request: httpx.Request, key: str) -> bool:
    header = request.headers.get("Authorization", "")
    if not header.startswith("Basic "):
        return False
    _, _, password = base64.b64decode(header[6:]).decode().partition(":")
    return password == key


def _batch_error(address: str, error: str, code: str) -> dict[str, Any]:
    return {"email_address": address, "error": error, "error_code": code}
