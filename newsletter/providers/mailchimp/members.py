"""The audience's members through the API: batch imports, look-ups and changes."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from newsletter.clock import Clock, utc_now
from newsletter.config import Settings
from newsletter.errors import ProviderAPIError, ProviderError
from newsletter.models import Subscriber, SubscriberStatus
from newsletter.providers.base import ChangeSource, ImportReport, MemberInput, RejectedMember
from newsletter.providers.mailchimp.audience import (
    BATCH_SIZE,
    STATUS_TO_MAILCHIMP,
    InterestMap,
    add_reports,
    batch_report,
    is_subscriber_hash,
    member_payload,
    subscriber_hash,
    to_subscriber,
)
from newsletter.providers.mailchimp.client import MAX_IN_FLIGHT, MailchimpClient
from newsletter.providers.mailchimp.consent import ConsentNote, ConsentNotes, topics_detail
from newsletter.providers.mailchimp.topics import PAGE_SIZE, InterestGroups

MEMBER_FIELDS = "email_address,status,merge_fields,interests"


class Members:
    def __init__(
        self,
        client: MailchimpClient,
        audience_id: str,
        settings: Settings,
        groups: InterestGroups,
        clock: Clock = utc_now,
    ) -> None:
        self.clock = clock
        self.client = client
        self.path = f"/lists/{audience_id}"
        self.settings = settings
        self.groups = groups
        self.notes = ConsentNotes(client, audience_id)
        self._emails: dict[str, str] = {}
        """Addresses by subscriber hash, for answers whose own address does not validate."""

    def _interests(self) -> InterestMap | None:
        return self.groups.lookup() if self.settings.topics else None

    def import_members(self, members: Iterable[MemberInput], *, resubscribe: bool) -> ImportReport:
        """Batches of 500 through ``POST /lists/{id}``, several in flight at once.

        ``status_if_new`` subscribes new addresses only: someone Mailchimp has as
        unsubscribed or cleaned keeps that status (``resubscribe`` asks otherwise for
        unsubscribed ones; Mailchimp itself refuses cleaned addresses). A batch that
        fails is reported row by row; the import is safe to run again.
        """
        unique, rejected = self._screen(members)
        interests = (
            self.groups.required() if any(m.topics or m.default_topics for m in unique) else None
        )
        batches = [unique[i : i + BATCH_SIZE] for i in range(0, len(unique), BATCH_SIZE)]
        if not batches:
            return ImportReport(rejected=tuple(rejected))

        def post(batch: list[MemberInput]) -> ImportReport | ProviderAPIError:
            body = {
                "members": [member_payload(m, interests, resubscribe=resubscribe) for m in batch],
                "update_existing": True,
            }
            try:
                answer = self.client.request("POST", self.path, json_body=body, idempotent=True)
            except ProviderAPIError as exc:
                return exc
            return batch_report(batch, answer)

        with ThreadPoolExecutor(max_workers=min(MAX_IN_FLIGHT, len(batches))) as pool:
            results = list(pool.map(post, batches))
        failures = [result for result in results if isinstance(result, ProviderAPIError)]
        if len(failures) == len(results):
            raise failures[0]
        reports = [ImportReport(rejected=tuple(rejected))]
        for batch, result in zip(batches, results, strict=True):
            if isinstance(result, ProviderAPIError):
                reason = str(result)
                result = ImportReport(
                    rejected=tuple(RejectedMember(m.email, reason, m.source_line) for m in batch)
                )
            reports.append(result)
        for member in unique:
            self._emails[subscriber_hash(member.email)] = member.email
        return add_reports(reports)

    def _screen(
        self, members: Iterable[MemberInput]
    ) -> tuple[list[MemberInput], list[RejectedMember]]:
        """Each address once (the last row wins)."""
        kept: dict[str, MemberInput] = {}
        rejected: list[RejectedMember] = []
        for member in members:
            key = member.email.strip().lower()
            earlier = kept.pop(key, None)
            if earlier is not None:
                again = f" on line {member.source_line}" if member.source_line else ""
                rejected.append(
                    RejectedMember(earlier.email, f"listed again{again}", earlier.source_line)
                )
            kept[key] = member
        return list(kept.values()), rejected

    def list(
        self, *, status: SubscriberStatus | None = None, topic: str | None = None
    ) -> Iterator[Subscriber]:
        interests = self._interests()
        params: dict[str, Any] = {
            "count": PAGE_SIZE,
            "fields": "total_items,"
            + ",".join(f"members.{name}" for name in MEMBER_FIELDS.split(",")),
        }
        if status is not None:
            params["status"] = STATUS_TO_MAILCHIMP[status]
        if topic is not None:
            if interests is None or topic not in interests.by_topic:
                raise ProviderError(f"topic '{topic}' has no Mailchimp interest group")
            params.update(
                interest_category_id=interests.category_id,
                interest_ids=interests.by_topic[topic],
                interest_match="any",
            )
        offset = 0
        while True:
            answer = self.client.get(f"{self.path}/members", offset=offset, **params)
            page = answer.get("members") or []
            for member in page:
                yield to_subscriber(member, interests)
            offset += len(page)
            if not page or offset >= int(answer.get("total_items") or 0):
                return

    def find_by_email(self, email: str) -> Subscriber | None:
        return self._get(subscriber_hash(email), email.strip())

    def get(self, subscriber_id: str) -> Subscriber | None:
        if not is_subscriber_hash(subscriber_id):
            return None
        return self._get(subscriber_id, self._emails.get(subscriber_id))

    def _get(self, member_hash: str, email: str | None) -> Subscriber | None:
        try:
            answer = self.client.get(f"{self.path}/members/{member_hash}", fields=MEMBER_FIELDS)
        except ProviderAPIError as exc:
            if exc.status == 404:
                return None
            raise
        subscriber = to_subscriber(answer, self._interests(), known_email=email)
        self._emails[member_hash] = subscriber.email
        return subscriber

    def change(self, subscriber_id: str, body: dict[str, Any]) -> Subscriber:
        """``PATCH`` one member: only what ``body`` names changes."""
        if not is_subscriber_hash(subscriber_id):
            raise ProviderError(f"no subscriber with id '{subscriber_id}'")
        try:
            answer = self.client.request(
                "PATCH", f"{self.path}/members/{subscriber_id}", json_body=body
            )
        except ProviderAPIError as exc:
            if exc.status == 404:
                raise ProviderError(f"no subscriber with id '{subscriber_id}'") from None
            raise
        return to_subscriber(answer, self._interests(), known_email=self._emails.get(subscriber_id))

    def _existing(self, subscriber_id: str) -> Subscriber:
        found = self.get(subscriber_id)
        if found is None:
            raise ProviderError(f"no subscriber with id '{subscriber_id}'")
        return found

    def set_status(
        self,
        subscriber_id: str,
        status: SubscriberStatus,
        action: str,
        *,
        source: ChangeSource,
        note: str = "",
    ) -> Subscriber:
        """Changes the status only when it differs; a change is noted on the member."""
        before = self._existing(subscriber_id)
        if before.status is status:
            return before
        after = self.change(subscriber_id, {"status": STATUS_TO_MAILCHIMP[status]})
        self.notes.record(subscriber_id, ConsentNote.at_time(self.clock(), action, source, note))
        return after

    def set_topics(
        self, subscriber_id: str, topics: frozenset[str], *, source: ChangeSource
    ) -> Subscriber:
        """Replaces the member's topics when they differ; a change is noted on the member."""
        before = self._existing(subscriber_id)
        if before.topics == topics:
            return before
        interests = self.groups.required().interests(topics, all_topics=True)
        after = self.change(subscriber_id, {"interests": interests})
        names = {topic.id: topic.name for topic in self.settings.topics}
        detail = topics_detail(before.topics, topics, names)
        self.notes.record(
            subscriber_id,
            ConsentNote.at_time(self.clock(), "Topics changed", source, detail=detail),
        )
        return after
