"""Sending an issue through any provider: plan, confirm, send, report.

The provider does the work (the local one compiles once, streams the audience from the
database and records each delivery); this module is the flow around it that the
``send`` and ``test`` commands, and scheduled sends, share.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass

from newsletter.errors import ProviderError
from newsletter.models import Issue, SendReport, SubscriberStatus
from newsletter.providers.base import Progress, Provider, SendPlan
from newsletter.providers.memory import MemoryProvider

DRY_RUN_SAMPLE = 20


StopScope = Callable[[], AbstractContextManager[threading.Event]]
"""Entered around the send itself: yields the event that stops it (the CLI's is set by
Ctrl-C and SIGTERM)."""


@contextmanager
def _unstoppable() -> Iterator[threading.Event]:
    yield threading.Event()


def send_issue(
    issue: Issue,
    provider: Provider,
    *,
    resend: bool = False,
    retry_failed: bool = False,
    confirm: Callable[[SendPlan], bool] | None = None,
    progress: Progress | None = None,
    stop_scope: StopScope = _unstoppable,
    skip: frozenset[str] = frozenset(),
) -> SendReport | None:
    """Plan, ask ``confirm`` (None: no question), then send; None when not confirmed.
    ``skip``: pre-send checks whose errors are let through (``--skip-check``)."""
    planned = provider.plan_send(issue, retry_failed=retry_failed, skip=skip)
    if planned.problems:
        raise ProviderError(f"'{issue.slug}' cannot be sent: {'; '.join(planned.problems)}")
    if planned.finished and not (resend or retry_failed):
        raise ProviderError(provider.already_sent(issue.slug))
    if confirm is not None and not confirm(planned):
        return None
    with stop_scope() as stop:
        return provider.send(
            issue,
            resend=resend,
            retry_failed=retry_failed,
            progress=progress,
            stop=stop,
            skip=skip,
        )


@dataclass(frozen=True)
class DryRun:
    plan: SendPlan
    report: SendReport
    sample: list[str]


def dry_run(
    issue: Issue, provider: Provider, *, resend: bool = False, skip: frozenset[str] = frozenset()
) -> DryRun:
    """Who would receive the issue, with a sample rendered through the in-memory provider;
    nothing is sent and nothing is recorded. An issue already sent renders no sample
    (nobody would receive it) unless ``resend``."""
    planned = provider.plan_send(issue, skip=skip)
    wanted = set(issue.topics)
    audience = (
        member
        for member in provider.members(status=SubscriberStatus.SUBSCRIBED)
        if not wanted or wanted & member.topics
    )
    size = DRY_RUN_SAMPLE if resend else min(DRY_RUN_SAMPLE, planned.recipients)
    memory = MemoryProvider(provider.settings)
    memory.subscribers = {m.id: m for m in itertools.islice(audience, size)}
    # The sample is not the audience: who the issue reaches was checked by the plan.
    report = memory.send(issue, skip=skip | {"audience"})
    return DryRun(planned, report, [message.to for message in memory.sent])
