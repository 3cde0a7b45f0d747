"""The project's topics as interest groups of one Mailchimp interest category."""

from __future__ import annotations

import threading

from newsletter.config import Settings
from newsletter.errors import ProviderError
from newsletter.providers.base import TopicSync
from newsletter.providers.mailchimp.audience import InterestMap
from newsletter.providers.mailchimp.client import MailchimpClient

PAGE_SIZE = 1000
SYNC_HINT = "run: newsletter audience sync-topics"


class InterestGroups:
    """Looks the category and its interests up once per provider, by name."""

    def __init__(self, client: MailchimpClient, audience_id: str, settings: Settings) -> None:
        self.client = client
        self.path = f"/lists/{audience_id}/interest-categories"
        self.settings = settings
        self._found: InterestMap | None = None
        self._looked_up = False
        self._lock = threading.Lock()

    @property
    def title(self) -> str:
        return self.settings.mailchimp.interest_category

    def lookup(self) -> InterestMap | None:
        """Topic ids to interest ids; None when the category does not exist."""
        with self._lock:
            if self._looked_up:
                return self._found
        category = self._category()
        found = None if category is None else self._map(category, self._interests_in(category))
        with self._lock:
            self._found, self._looked_up = found, True
        return found

    def required(self) -> InterestMap:
        found = self.lookup()
        if found is None:
            raise ProviderError(
                f"the interest category '{self.title}' does not exist in Mailchimp; {SYNC_HINT}"
            )
        return found

    def sync(self) -> TopicSync:
        """Create the category and one interest per topic, where missing."""
        category = self._category()
        category_created = category is None
        existing: dict[str, str] = {}
        if category is None:
            answer = self.client.request(
                "POST", self.path, json_body={"title": self.title, "type": "checkboxes"}
            )
            category = str(answer["id"])
        else:
            existing = self._interests_in(category)
        created = []
        for order, topic in enumerate(self.settings.topics):
            if topic.name in existing:
                continue
            answer = self.client.request(
                "POST",
                f"{self.path}/{category}/interests",
                json_body={"name": topic.name, "display_order": order},
            )
            existing[topic.name] = str(answer["id"])
            created.append(topic.name)
        with self._lock:
            self._found, self._looked_up = self._map(category, existing), True
        kept = tuple(t.name for t in self.settings.topics if t.name not in created)
        return TopicSync(self.title, category_created, tuple(created), kept)

    def _map(self, category: str, by_name: dict[str, str]) -> InterestMap:
        return InterestMap(
            category, {t.id: by_name[t.name] for t in self.settings.topics if t.name in by_name}
        )

    def _category(self) -> str | None:
        answer = self.client.get(
            self.path, count=PAGE_SIZE, fields="categories.id,categories.title"
        )
        for category in answer.get("categories") or []:
            if category.get("title") == self.title:
                return str(category["id"])
        return None

    def _interests_in(self, category_id: str) -> dict[str, str]:
        answer = self.client.get(
            f"{self.path}/{category_id}/interests",
            count=PAGE_SIZE,
            fields="interests.id,interests.name",
        )
        return {str(i["name"]): str(i["id"]) for i in answer.get("interests") or []}
