"""Audience: an issue that reaches nobody, and members its topics leave out.

Runs only where the provider counted who the issue reaches (``check.reach``): in
``newsletter check`` and before ``send`` and ``run-due``. An issue that names topics goes
only to members who chose one of them, so members who never chose a topic (a list
imported without a topics column) miss it.
"""

from __future__ import annotations

from collections.abc import Sequence

from newsletter.checks.context import CheckInput, Reach
from newsletter.checks.findings import ISSUE, Finding, Place, Severity
from newsletter.checks.rules import Rule

RULES = (
    Rule(
        "audience.nobody",
        Severity.ERROR,
        "An issue that reaches nobody sends nothing: usually the issue names topics that "
        "no subscribed member chose, often because the list was imported without topics.",
    ),
    Rule(
        "audience.left-out",
        Severity.WARNING,
        "Subscribed members who chose no topic receive no issue that names topics; they "
        "signed up for the newsletter and may never hear from it.",
    ),
)

TOPICS = Place(field=("topics",))
REMOVE_TOPICS = "remove topics: from the issue to send to everyone"


def findings(check: CheckInput) -> list[Finding]:
    reach = check.reach
    if reach is None:
        return []
    place = TOPICS if reach.topics else ISSUE
    if reach.reached == 0:
        return [Finding("audience.nobody", Severity.ERROR, why_nobody(reach), _fix(reach), place)]
    if reach.chose_no_topic:
        missed = reach.chose_no_topic
        message = (
            f"{missed:,} of the {members(reach.subscribed)} chose no topic and "
            f"{'misses' if missed == 1 else 'miss'} this issue, which goes only to those "
            f"who chose {either(reach.topics)}"
        )
        return [Finding("audience.left-out", Severity.WARNING, message, _give(reach), place)]
    return []


def why_nobody(reach: Reach) -> str:
    """Why an issue reaches nobody: an empty audience, or who chose what instead."""
    if reach.subscribed == 0:
        return "the audience has no subscribed members"
    if reach.subscribed == 1:
        why = "they chose no topic" if reach.chose_no_topic else "they chose only other topics"
        return f"the only subscribed member did not choose {either(reach.topics)}; {why}"
    left = []
    if reach.chose_no_topic:
        left.append(f"{reach.chose_no_topic:,} chose no topic")
    if reach.chose_other_topics:
        left.append(f"{reach.chose_other_topics:,} only other topics")
    return f"none of the {members(reach.subscribed)} chose {either(reach.topics)}; " + " and ".join(
        left
    )


def _fix(reach: Reach) -> str:
    if reach.subscribed == 0:
        topics = f" --topics {','.join(reach.topics)}" if reach.topics else ""
        return f"import members first: newsletter audience import FILE{topics}"
    if reach.chose_no_topic:
        return _give(reach)
    return f"name a topic they chose in topics:, or {REMOVE_TOPICS}"


def _give(reach: Reach) -> str:
    return (
        f"give them topics: newsletter audience import FILE --topics {','.join(reach.topics)}, "
        f"or {REMOVE_TOPICS}"
    )


def members(count: int) -> str:
    return f"{count:,} subscribed member{'' if count == 1 else 's'}"


def either(topics: Sequence[str]) -> str:
    """``reviews, events or resources``."""
    if len(topics) < 2:
        return "".join(topics)
    return f"{', '.join(topics[:-1])} or {topics[-1]}"
