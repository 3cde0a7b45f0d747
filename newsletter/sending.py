"""Sending an issue through any provider: plan, confirm, send, report.

The provider does the work (the local one compiles once, streams the audience from the
database and records each delivery); this module is the flow around it that the
``send`` and ``test`` commands, and scheduled sends, share.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from newsletter.errors import ProviderError
from newsletter.models import Issue, SendReport, SubscriberStatus
from newsletter.providers.base import Capability, Progress, Provider, SendPlan
from newsletter.providers.memory import MemoryProvider

DRY_RUN_SAMPLE = 20


def plan(issue: Issue, provider: Provider, *, retry_failed: bool = False) -> SendPlan:
    provider.require(Capability.SEND, "send a campaign")
    return provider.plan_send(issue, retry_failed=retry_failed)


def send_issue(
    issue: Issue,
    provider: Provider,
    *,
    resend: bool = False,
    retry_failed: bool = False,
    confirm: Callable[[SendPlan], bool] | None = None,
    progress: Progress | None = None,
) -> SendReport | None:
    """Plan, ask ``confirm`` (None: no question), then send; None when not confirmed."""
    planned = plan(issue, provider, retry_failed=retry_failed)
    if planned.problems:
        raise ProviderError(f"'{issue.slug}' cannot be sent: {'; '.join(planned.problems)}")
    if planned.finished and not (resend or retry_failed):
        raise ProviderError(already_sent(planned))
    if confirm is not None and not confirm(planned):
        return None
    return provider.send(issue, resend=resend, retry_failed=retry_failed, progress=progress)


def already_sent(planned: SendPlan) -> str:
    hint = (
        f"; {planned.deferred:,} deferred recipient(s) can be tried again with --retry-failed"
        if planned.deferred
        else ""
    )
    return f"'{planned.slug}' was already sent; pass --resend to send it to everyone again{hint}"


def send_test(issue: Issue, provider: Provider, recipients: Sequence[str]) -> SendReport:
    provider.require(Capability.TEST_SEND, "send a test copy")
    return provider.send_test(issue, recipients)


@dataclass(frozen=True)
class DryRun:
    plan: SendPlan
    report: SendReport
    sample: list[str]


def dry_run(issue: Issue, provider: Provider, *, resend: bool = False) -> DryRun:
    """Who would receive the issue, with a sample rendered through the in-memory provider;
    nothing is sent and nothing is recorded. An issue already sent renders no sample
    (nobody would receive it) unless ``resend``."""
    planned = plan(issue, provider)
    wanted = set(issue.topics)
    audience = (
        member
        for member in provider.members(status=SubscriberStatus.SUBSCRIBED)
        if not wanted or wanted & member.topics
    )
    size = DRY_RUN_SAMPLE if resend else min(DRY_RUN_SAMPLE, planned.recipients)
    memory = MemoryProvider(provider.settings)
    memory.subscribers = {m.id: m for m in itertools.islice(audience, size)}
    report = memory.send(issue)
    return DryRun(planned, report, [message.to for message in memory.sent])
