"""Clients: HTML and CSS that Gmail, Outlook for Windows, Apple Mail or Yahoo Mail do not
support, where the email carries no fallback.

Every element, attribute, CSS property, value, function, unit and at-rule of the compiled
HTML is looked up in caniemail's tables (``client_support``); which verdicts count is
stated in ``client_gaps`` and the fallbacks that excuse a gap in ``client_fallbacks``.
One warning per feature, placed at the first element that uses it.
"""

from __future__ import annotations

from newsletter.checks.client_fallbacks import Facts
from newsletter.checks.client_gaps import gaps
from newsletter.checks.client_html import uses
from newsletter.checks.client_support import Feature, Use, table
from newsletter.checks.context import CheckInput
from newsletter.checks.findings import Finding, Severity
from newsletter.checks.rules import Rule

RULES = (
    Rule(
        "clients.unsupported",
        Severity.WARNING,
        "Gmail, Outlook for Windows, Apple Mail and Yahoo Mail each ignore some HTML and "
        "CSS (caniemail.com's tests): without a fallback, a layout built on it falls apart "
        "or content disappears for their readers.",
    ),
)

_FEATURES_URL = "https://www.caniemail.com/features/{slug}/"


def findings(check: CheckInput) -> list[Finding]:
    used = list(uses(check.document))
    facts = Facts.gather(check.compiled.html, check.document, used)
    features = table().features
    first: dict[str, Use] = {}
    missing: dict[str, dict[str, list[str]]] = {}
    for use in used:
        feature = features.get(use.slug)
        if feature is None:
            continue
        found = gaps(use, feature, facts)
        if not found:
            continue
        first.setdefault(use.slug, use)
        merged = missing.setdefault(use.slug, {})
        for client, platforms in found.items():
            known = merged.setdefault(client, [])
            known += [platform for platform in platforms if platform not in known]
    return [_finding(check, features[slug], use, missing[slug]) for slug, use in first.items()]


def _finding(
    check: CheckInput, feature: Feature, use: Use, missing: dict[str, list[str]]
) -> Finding:
    where = _where(missing)
    verb = "ignores" if len(missing) == 1 else "ignore"
    message = f"{where} {verb} {_what(feature, use)}"
    details = _FEATURES_URL.format(slug=feature.slug)
    if feature.category == "html":
        fix = (
            "take it out of the template, or put something these clients show in its place "
            f"(an image that links to the video or form on the website, say); details: {details}"
        )
    else:
        fix = (
            "take it out of the template or give it a fallback these clients understand "
            "(a table for layout); as an extra it may stay inside an @media rule; "
            f"details: {details}"
        )
    values = [value for value in (use.element.get("src"), use.element.get("href")) if value]
    return Finding(
        "clients.unsupported", Severity.WARNING, message, fix, check.place_of(use.element, *values)
    )


def _what(feature: Feature, use: Use) -> str:
    title = feature.title
    if feature.category == "html":
        if "<" not in title:
            return f"the HTML feature '{title}'"
        return f"the HTML {title[:1].lower() + title[1:] if title[1:2].islower() else title}"
    if not use.prop:
        return f"the CSS {title}"
    value = use.value if len(use.value) <= 40 else use.value[:39] + "…"
    declaration = f"`{use.prop}: {value}`"
    said = declaration.replace(" ", "")
    if title.split()[0].rstrip(":") == use.prop or title.replace(" ", "") in said:
        return f"the CSS {declaration}"
    return f"the CSS {declaration} ({title})"


def _where(missing: dict[str, list[str]]) -> str:
    names = []
    for client in table().clients:
        platforms = missing.get(client.key)
        if not platforms:
            continue
        if len(platforms) == len(client.platforms):
            names.append(client.name)
        else:
            labels = ", ".join(client.platforms[platform] for platform in platforms)
            names.append(f"{client.name} ({labels})")
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
