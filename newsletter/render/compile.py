"""``compile_issue``: one issue, one provider's merge tags, one compiled email."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from newsletter.config import Greeting, Settings
from newsletter.models import Issue
from newsletter.render import templating
from newsletter.render.merge import LOCAL_TAGS, MergeTags, Recipient, SlotTemplate
from newsletter.render.mjml import compile_mjml

GMAIL_CLIP_BYTES = 102 * 1024
"""Gmail hides everything past about 102 KB of HTML, footer and unsubscribe link included."""
SIZE_WARNING_BYTES = 90 * 1024


@dataclass(frozen=True)
class CompiledIssue:
    """The email as the provider receives it: recipient slots still in place."""

    slug: str
    subject: str
    preheader: str
    mjml: str
    html: str
    text: str
    merge_tags: str

    @property
    def html_bytes(self) -> int:
        return len(self.html.encode("utf-8"))

    @property
    def text_bytes(self) -> int:
        return len(self.text.encode("utf-8"))

    @property
    def content_hash(self) -> str:
        """Changes whenever anything a recipient would see changes."""
        digest = hashlib.sha256()
        for part in (self.subject, self.preheader, self.html, self.text):
            digest.update(part.encode("utf-8"))
            digest.update(b"\0")
        return digest.hexdigest()

    def personalise(self, recipient: Recipient, greeting: Greeting | None) -> tuple[str, str]:
        """HTML and text for one recipient (local slots only); for previews and tests."""
        values = recipient.values(greeting)
        return (
            SlotTemplate(self.html, html_escape=True).fill(values),
            SlotTemplate(self.text, html_escape=False).fill(values),
        )


def compile_issue(issue: Issue, settings: Settings, tags: MergeTags = LOCAL_TAGS) -> CompiledIssue:
    templates_dir = settings.resolve(settings.templates_dir)
    greeting = settings.greeting
    greeting_html = greeting_text = None
    if greeting:
        greeting_html = tags.greeting(greeting.named, greeting.anonymous)
        greeting_text = tags.greeting(greeting.named, greeting.anonymous, html=False)
    context = {
        "issue": issue,
        "project": settings,
        "brand": settings.brand,
        "organisation": settings.organisation,
        "zone": settings.zone,
        "slot": tags.slots,
        "tags": tags,
        "greeting": greeting_html,
        "greeting_text": greeting_text,
        "contents": [(section.id, section.contents_label) for section in issue.sections],
    }
    mjml_source = templating.render(templates_dir, "newsletter.mjml.j2", **context)
    html = compile_mjml(mjml_source, name=f"{issue.slug}.mjml")
    text = templating.render(templates_dir, "newsletter.txt.j2", **context)
    return CompiledIssue(
        slug=issue.slug,
        subject=issue.subject,
        preheader=issue.preview_text,
        mjml=mjml_source,
        html=html,
        text=_tidy_text(text),
        merge_tags=tags.name,
    )


def _tidy_text(text: str) -> str:
    """No trailing spaces, at most one blank line in a row, CRLF-safe, one final newline."""
    lines = [line.rstrip() for line in text.splitlines()]
    out: list[str] = []
    for line in lines:
        if not line and out and not out[-1]:
            continue
        out.append(line)
    return "\n".join(out).strip("\n") + "\n"


def sample_recipient(settings: Settings, slug: str) -> Recipient:
    """Who ``render`` and ``preview`` show the issue to, with links that look real."""
    base = settings.public_url.rstrip("/")
    return Recipient(
        email="reader@example.org",
        first_name="Sam",
        unsubscribe_url=f"{base}/unsubscribe/sample",
        preferences_url=f"{base}/preferences/sample",
        archive_url=f"{base}/archive/{slug}",
        about_url=f"{base}/about",
    )
