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


def plan(issue: Issue, provider: Provider) -> SendPlan:
    provider.require(Capability.SEND, "send a campaign")
    return provider.plan_send(issue)


def send_issue(
    issue: Issue,
    provider: Provider,
    *,
    resend: bool = False,
    confirm: Callable[[SendPlan], bool] | None = None,
    progress: Progress | None = None,
) -> SendReport | None:
    """Plan, ask ``confirm`` (None: no question), then send; None when not confirmed."""
    planned = plan(issue, provider)
    if planned.problems:
        raise ProviderError(f"'{issue.slug}' cannot be sent: {'; '.join(planned.problems)}")
    if confirm is not None and not confirm(planned):
        return None
    return provider.send(issue, resend=resend, progress=progress)


def send_test(issue: Issue, provider: Provider, recipients: Sequence[str]) -> SendReport:
    provider.require(Capability.TEST_SEND, "send a test copy")
    return provider.send_test(issue, recipients)


@dataclass(frozen=True)
class DryRun:
    plan: SendPlan
    report: SendReport
    sample: list[str]


def dry_run(issue: Issue, provider: Provider) -> DryRun:
    """Who would receive the issue, with a sample rendered through the in-memory provider;
    nothing is sent and nothing is recorded."""
    planned = plan(issue, provider)
    wanted = set(issue.topics)
    audience = (
        member
        for member in provider.members(status=SubscriberStatus.SUBSCRIBED)
        if not wanted or wanted & member.topics
    )
    memory = MemoryProvider(provider.settings)
    memory.subscribers = {m.id: m for m in itertools.islice(audience, DRY_RUN_SAMPLE)}
    report = memory.send(issue)
    return DryRun(planned, report, [message.to for message in memory.sent])
