"""Spam: how SpamAssassin's own rules score a copy of the issue, before anyone gets one.

Runs only with ``newsletter check --spam``: it needs the ``spamassassin`` program and a
second or two. The copy is the message the local provider would send to the sample
reader that ``render`` and ``preview`` show: the same headers, both bodies, the
personalised links. Providers that fill their own merge tags (Mailchimp) build their own
headers, so for them the body is compiled with the local slots and filled the same way,
which reads like the copy a reader gets. The copy is not DKIM-signed: checking a
signature needs DNS, which local-only scoring does not use.
"""

from __future__ import annotations

from newsletter.checks import spamassassin
from newsletter.checks.context import CheckInput
from newsletter.checks.findings import Finding, Severity
from newsletter.checks.optional import Extra
from newsletter.checks.rules import Rule
from newsletter.checks.spamassassin import Hit, Verdict
from newsletter.delivery.message import MessageTemplate, message_id, unsubscribe_mailto
from newsletter.render.compile import compile_issue, sample_recipient
from newsletter.render.merge import LOCAL_TAGS

WARN_ABOVE = 2.0
"""Filters that weigh SpamAssassin's points start sending mail to junk well below 5."""
ERROR_ABOVE = 5.0
"""SpamAssassin's own default for calling a message spam."""
TOP_RULES = 3

RULES = (
    Rule(
        "spam.score",
        Severity.ERROR,
        f"SpamAssassin's rules are the basis of many filters: above {WARN_ABOVE:g} points "
        f"(a warning) part of the list may find the issue in junk; above {ERROR_ABOVE:g} "
        "(an error) it is spam by SpamAssassin's own default.",
    ),
)

_FIX = (
    "reword what those rules point at (capitals, exclamation marks, 'free', 'click here', "
    "money and prizes), then run `newsletter check --spam` again"
)
_KINDS = ("BODY: ", "HEADER: ", "URI: ", "RAW: ", "FULL: ")


def run(check: CheckInput) -> Extra:
    """Score a sample copy; a finding when it scores above ``WARN_ABOVE``."""
    verdict = spamassassin.score(sample_message(check))
    summary = {
        "score": verdict.score,
        "rules": [
            {"name": hit.name, "score": hit.score, "description": hit.description}
            for hit in verdict.hits
        ],
    }
    own_tags = check.delivery.provider if _needs_local_tags(check) else None
    return Extra("spam", findings(verdict, own_tags=own_tags), summary)


def sample_message(check: CheckInput) -> bytes:
    """The message the local provider would send the sample reader, as bytes."""
    compiled = check.compiled
    if _needs_local_tags(check):
        compiled = compile_issue(check.issue, check.settings, LOCAL_TAGS)
    settings = check.settings
    template = MessageTemplate(compiled, settings)
    reader = sample_recipient(settings, check.issue.slug)
    token = reader.unsubscribe_url.rpartition("/")[2]
    return template.render(
        reader,
        message_id=message_id("sample", "check", template.domain),
        unsubscribe_mailto=unsubscribe_mailto(settings, token),
    )


def _needs_local_tags(check: CheckInput) -> bool:
    return check.compiled.merge_tags != LOCAL_TAGS.name


def findings(verdict: Verdict, *, own_tags: str | None = None) -> list[Finding]:
    """A warning above ``WARN_ABOVE``, an error above ``ERROR_ABOVE``, naming the rules
    that added the most. ``own_tags``: the provider whose merge tags the sample copy
    replaced with the local ones."""
    if verdict.score <= WARN_ABOVE:
        return []
    severity = Severity.ERROR if verdict.score > ERROR_ABOVE else Severity.WARNING
    message = f"SpamAssassin gives a sample copy {verdict.score:.1f} points"
    if own_tags:
        message += (
            f" (its merge tags filled in as the local provider would; {own_tags} fills its own)"
        )
    message += f"; over {WARN_ABOVE:.1f} risks the junk folder and over {ERROR_ABOVE:.1f} is spam"
    top = [hit for hit in verdict.hits if hit.score > 0][:TOP_RULES]
    if top:
        message += "; most from " + ", ".join(_named(hit) for hit in top)
    return [Finding("spam.score", severity, message, _FIX)]


def _named(hit: Hit) -> str:
    description = hit.description
    for kind in _KINDS:
        description = description.removeprefix(kind)
    return f"{hit.name} {hit.score:.1f}" + (f" ({description})" if description else "")
