"""Compliance: what the law and the big mailbox providers ask of every bulk email.

A visible way to unsubscribe and to change preferences, the sender's postal address,
a "why did I get this" link, one-click unsubscribe headers, and a From address whose
domain the organisation owns and signs for. Everything is read from the compiled HTML
and text, so a changed template is checked as strictly as the example one.
"""

from __future__ import annotations

from dataclasses import dataclass

from lxml.html import HtmlElement

from newsletter.checks import domains
from newsletter.checks.context import FOOTER_TEMPLATE, TEXT_TEMPLATE, CheckInput
from newsletter.checks.findings import Finding, Place, Severity, Source
from newsletter.checks.rules import Rule

FROM_FIELD = Place(Source.PROJECT, ("sender", "from_email"))

RULES = (
    Rule(
        "compliance.unsubscribe-link",
        Severity.ERROR,
        "The law (CAN-SPAM, PECR/GDPR) and Gmail's and Yahoo's sender rules require a "
        "clear way to unsubscribe in every email; a hidden or missing link also makes "
        "readers press 'Report spam' instead.",
    ),
    Rule(
        "compliance.preferences-link",
        Severity.ERROR,
        "Letting readers choose topics keeps them subscribed; without the link, the only "
        "way to get fewer emails is to leave.",
    ),
    Rule(
        "compliance.postal-address",
        Severity.ERROR,
        "CAN-SPAM and most providers' terms require the sender's postal address in every "
        "commercial email; without it the email is unlawful in the US.",
    ),
    Rule(
        "compliance.about-link",
        Severity.ERROR,
        "Readers who forgot signing up report the email as spam; the 'Why did I get "
        "this?' link opens a page that explains it (the about page shows audience."
        "description from newsletter.yaml; Mailchimp shows the audience's permission "
        "reminder).",
    ),
    Rule(
        "compliance.list-unsubscribe",
        Severity.ERROR,
        "Gmail and Yahoo require List-Unsubscribe and List-Unsubscribe-Post (one-click "
        "unsubscribe, RFC 8058) on bulk email since 2024; without them mail goes to spam "
        "or is refused.",
    ),
    Rule(
        "compliance.from-domain",
        Severity.ERROR,
        "Mail from a domain the organisation does not control fails SPF, DKIM and DMARC "
        "checks and looks like impersonation; Gmail and Yahoo reject it from bulk senders.",
    ),
    Rule(
        "compliance.dkim-alignment",
        Severity.ERROR,
        "DMARC passes on DKIM only when the signing domain matches the From domain; a "
        "signature for another domain does not count, and bulk mail without a passing "
        "DMARC check is rejected by Gmail and Yahoo.",
    ),
)


@dataclass(frozen=True)
class _Link:
    slot: str
    rule: str
    label: str
    words: str


_LINKS = (
    _Link("unsubscribe_url", "compliance.unsubscribe-link", "unsubscribe", "Unsubscribe"),
    _Link(
        "preferences_url",
        "compliance.preferences-link",
        "preferences",
        "Update your preferences",
    ),
    _Link("about_url", "compliance.about-link", "'Why did I get this?'", "Why did I get this?"),
)


def findings(check: CheckInput) -> list[Finding]:
    found: list[Finding] = []
    for link in _LINKS:
        found.extend(_link_findings(check, link))
    found.extend(_address_findings(check))
    found.extend(_header_findings(check))
    found.extend(_domain_findings(check))
    return found


def template_path(check: CheckInput, name: str) -> str:
    return (check.settings.templates_dir / name).as_posix()


def _where(check: CheckInput, place: Place) -> str:
    if place.source is Source.TEMPLATE:
        return template_path(check, place.name)
    return f"{place.dotted} of the campaign file" if place.dotted else "the campaign file"


def _link_findings(check: CheckInput, link: _Link) -> list[Finding]:
    url = check.delivery.merge_tags.slots.get(link.slot)
    if not url:
        return []
    found = []
    anchors = [a for a in check.elements("a") if (a.get("href") or "").strip() == url]
    html = _html_link_finding(check, link, anchors)
    if html is not None:
        found.append(html)
    if url not in check.compiled.text:
        found.append(
            Finding(
                link.rule,
                Severity.ERROR,
                f"the plain-text part has no {link.label} link",
                f"restore {{{{ slot.{link.slot} }}}} under '{link.words}' in "
                f"{template_path(check, TEXT_TEMPLATE)}",
                Place(Source.TEMPLATE, name=TEXT_TEMPLATE),
            )
        )
    return found


def _html_link_finding(
    check: CheckInput, link: _Link, anchors: list[HtmlElement]
) -> Finding | None:
    tag = f'<a href="{{{{ slot.{link.slot} }}}}">{link.words}</a>'
    if not anchors:
        footer = template_path(check, FOOTER_TEMPLATE)
        about = (
            "; the page it opens tells readers why they are on the list (audience.description "
            "in newsletter.yaml, or the provider's permission reminder)"
            if link.slot == "about_url"
            else ""
        )
        return Finding(
            link.rule,
            Severity.ERROR,
            f"the HTML has no {link.label} link",
            f"restore the {link.label} link in {footer}: {tag}{about}",
            Place(Source.TEMPLATE, name=FOOTER_TEMPLATE),
        )
    problems = []
    for anchor in anchors:
        reason = check.styles.hidden(anchor)
        if reason is None and check.styles.text(anchor):
            return None
        problems.append((anchor, reason))
    anchor, reason = problems[0]
    place = check.place_of(anchor, link.words)
    if reason is None:
        message = f"the {link.label} link has no text a reader can see"
        fix = f"give the {link.label} link visible words in {_where(check, place)}: {tag}"
    else:
        message = f"the {link.label} link cannot be seen: {reason}"
        fix = f"make the {link.label} link visible again in {_where(check, place)}: {tag}"
    return Finding(link.rule, Severity.ERROR, message, fix, place)


def _address_forms(check: CheckInput) -> list[list[str]]:
    """Each way the postal address may appear: the whole line, the provider's tag, or
    every line of the address on its own."""
    organisation = check.settings.organisation
    forms = [[organisation.address_line], list(organisation.address)]
    if check.delivery.merge_tags.address_line:
        forms.append([check.delivery.merge_tags.address_line])
    return [[" ".join(part.split()).casefold() for part in form] for form in forms]


def _has_address(text: str, forms: list[list[str]]) -> bool:
    text = " ".join(text.split()).casefold()
    return any(all(part in text for part in form) for form in forms)


def _address_findings(check: CheckInput) -> list[Finding]:
    forms = _address_forms(check)
    address = "{{ tags.address_line or organisation.address_line }}"
    found = []
    if not _has_address(check.styles.page_text, forms):
        holder = _address_holder(check, forms)
        if holder is None:
            message = "the HTML has no postal address"
            place = Place(Source.TEMPLATE, name=FOOTER_TEMPLATE)
            fix = f"restore the postal address in {_where(check, place)}: {address}"
        else:
            reason = check.styles.hidden(holder) or "it is hidden"
            message = f"the postal address in the HTML cannot be seen: {reason}"
            place = check.place_of(holder)
            fix = f"make the postal address visible again in {_where(check, place)}"
        found.append(Finding("compliance.postal-address", Severity.ERROR, message, fix, place))
    if not _has_address(check.compiled.text, forms):
        found.append(
            Finding(
                "compliance.postal-address",
                Severity.ERROR,
                "the plain-text part has no postal address",
                f"restore {address} in {template_path(check, TEXT_TEMPLATE)}",
                Place(Source.TEMPLATE, name=TEXT_TEMPLATE),
            )
        )
    return found


def _address_holder(check: CheckInput, forms: list[list[str]]) -> HtmlElement | None:
    """The innermost element of the body whose text holds the address, hidden or not."""
    holder = None
    body = check.document.find("body")
    for element in body.iter() if body is not None else ():
        if isinstance(element.tag, str) and _has_address(element.text_content(), forms):
            holder = element
    return holder


def _header_findings(check: CheckInput) -> list[Finding]:
    """The local provider sets both headers on every message (``delivery.message``);
    others, such as Mailchimp, add them when the body carries their unsubscribe tag."""
    delivery = check.delivery
    if delivery.list_unsubscribe_header:
        return []
    tag = delivery.merge_tags.slots.get("unsubscribe_url")
    if tag and (tag in check.compiled.html or tag in check.compiled.text):
        return []
    place = Place(Source.TEMPLATE, name=FOOTER_TEMPLATE)
    if tag:
        message = (
            f"the {delivery.provider} provider adds the List-Unsubscribe and "
            f"List-Unsubscribe-Post headers only to an email that contains {tag}, "
            "and this one does not"
        )
        fix = (
            f"restore the unsubscribe link in {_where(check, place)}: "
            '<a href="{{ slot.unsubscribe_url }}">Unsubscribe</a>'
        )
    else:
        message = (
            f"the {delivery.provider} provider sets no List-Unsubscribe header and has "
            "no unsubscribe link to put in one"
        )
        fix = "send with a provider that sets List-Unsubscribe (the local one does)"
    return [Finding("compliance.list-unsubscribe", Severity.ERROR, message, fix, place)]


def _domain_findings(check: CheckInput) -> list[Finding]:
    settings = check.settings
    address = settings.sender.from_email
    sender = domains.address_domain(address)
    home = domains.website_domain(settings.organisation.website)
    extra = [domains.normalised(name) for name in settings.sending_domains]
    found = []
    if not (domains.related(sender, home) or any(domains.within(sender, d) for d in extra)):
        others = f" or in sending_domains ({', '.join(extra)})" if extra else ""
        found.append(
            Finding(
                "compliance.from-domain",
                Severity.ERROR,
                f"the From address {address} is not at the organisation's domain ({home}){others}",
                f"send from an address at {home}; or, if {sender} is set up to send for "
                "you (SPF and DKIM), add it to sending_domains in newsletter.yaml",
                FROM_FIELD,
            )
        )
    signer = check.delivery.dkim_domain
    if signer and not domains.within(sender, domains.normalised(signer)):
        found.append(
            Finding(
                "compliance.dkim-alignment",
                Severity.ERROR,
                f"messages are signed for {signer} but come from {sender}, so their DKIM "
                "signature does not pass DMARC",
                f"sign for the From domain (NEWSLETTER_DKIM_DOMAIN={sender}, with the key "
                f"published under it), or send from an address at {signer}",
                FROM_FIELD,
            )
        )
    return found
