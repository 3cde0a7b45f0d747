"""The HTML an email uses, named as caniemail features: elements and the attributes
caniemail reports on, then the CSS of every ``<style>`` block and ``style`` attribute.

Markup inside conditional comments (``<!--[if mso]>``) is a comment to the parser: it is
meant for Outlook alone and is not looked at."""

from __future__ import annotations

from collections.abc import Iterator

from lxml.html import HtmlElement

from newsletter.checks.client_css import inline_uses, stylesheet_uses
from newsletter.checks.client_support import Use

_ELEMENTS = {
    **{
        tag: f"html-{tag}"
        for tag in (
            "abbr",
            "acronym",
            "address",
            "audio",
            "base",
            "bdi",
            "blockquote",
            "body",
            "code",
            "del",
            "dfn",
            "dialog",
            "div",
            "form",
            "hr",
            "img",
            "link",
            "marquee",
            "meter",
            "object",
            "p",
            "picture",
            "pre",
            "progress",
            "rp",
            "rt",
            "ruby",
            "select",
            "small",
            "span",
            "strike",
            "strong",
            "style",
            "svg",
            "table",
            "textarea",
            "video",
            "wbr",
        )
    },
    **dict.fromkeys(("h1", "h2", "h3", "h4", "h5", "h6"), "html-h1-h6"),
    **dict.fromkeys(("ul", "ol", "dl"), "html-lists"),
    **dict.fromkeys(("map", "area"), "html-image-maps"),
    **dict.fromkeys(
        (
            "article",
            "aside",
            "details",
            "figcaption",
            "figure",
            "footer",
            "header",
            "main",
            "mark",
            "nav",
            "section",
            "summary",
            "time",
        ),
        "html-semantics",
    ),
}
_ATTRIBUTES = {
    **{
        name: f"html-{name}"
        for name in (
            "align",
            "background",
            "cellpadding",
            "cellspacing",
            "dir",
            "height",
            "hidden",
            "lang",
            "popover",
            "required",
            "role",
            "target",
            "valign",
            "width",
            "aria-describedby",
            "aria-hidden",
            "aria-label",
            "aria-labelledby",
            "aria-live",
        )
    },
    "loading": "html-loading-attribute",
    "srcset": "html-srcset",
    "sizes": "html-srcset",
    "usemap": "html-image-maps",
    "inert": "css-inert-attribute",
}
_BUTTONS = {"submit": "html-button-submit", "reset": "html-button-reset"}
_INPUTS = {
    kind: f"html-input-{kind}" for kind in ("checkbox", "hidden", "radio", "reset", "submit")
} | {"text": "html-input-text"}


def uses(document: HtmlElement) -> Iterator[Use]:
    """Every feature the document uses, in document order."""
    for element in document.iter():
        tag = element.tag
        if not isinstance(tag, str):
            continue
        yield from _element_uses(element, tag.lower())
        for name in element.attrib:
            slug = _ATTRIBUTES.get(name.lower())
            if slug:
                yield Use(slug, element, value=element.get(name) or "")
        style = element.get("style")
        if style:
            yield from inline_uses(element, style)
        if tag == "style" and element.text:
            yield from stylesheet_uses(element, element.text)


def _element_uses(element: HtmlElement, tag: str) -> Iterator[Use]:
    slug = _ELEMENTS.get(tag)
    if tag == "button":
        slug = _BUTTONS.get((element.get("type") or "submit").lower())
    elif tag == "input":
        slug = _INPUTS.get((element.get("type") or "text").lower())
    elif tag == "meta" and (element.get("name") or "").lower() == "color-scheme":
        slug = "html-meta-color-scheme"
    elif tag == "a":
        href = (element.get("href") or "").strip()
        if href.lower().startswith("mailto:"):
            slug = "html-mailto-links"
        elif href.startswith("#") and len(href) > 1:
            slug = "html-anchor-links"
    if slug:
        yield Use(slug, element, value=element.get("href") or element.get("src") or "")
