"""Images: alt text for screen readers, addresses every client loads, a width Outlook
respects, and a weight a phone on mobile data can carry.

Images are read from the compiled HTML, so a template override is checked as well as
the campaign file. Only images in the project's images folder are weighed (see
``image_file``); remote images are never fetched here.
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import unquote, urlsplit

from lxml.html import HtmlElement

from newsletter.checks.context import MAIN_TEMPLATE, CheckInput
from newsletter.checks.findings import Finding, Place, Severity, Source
from newsletter.checks.rules import Rule
from newsletter.config import Settings

HEAVY_BYTES = 200 * 1024
TOO_HEAVY_BYTES = 1024 * 1024
TOTAL_HEAVY_BYTES = 1024 * 1024
PUBLISHED_AS = "images"
"""The path below ``public_url`` where the images folder is published."""

RULES = (
    Rule(
        "images.missing-alt",
        Severity.ERROR,
        "Without an alt attribute, screen readers read out the image's file name, and "
        "clients that block images show nothing in its place.",
    ),
    Rule(
        "images.link-alt",
        Severity.ERROR,
        "An image that is a link's only content is the link's name: with empty alt text "
        "a screen reader announces just 'link', with no hint of where it goes.",
    ),
    Rule(
        "images.bad-src",
        Severity.ERROR,
        "An image address that is not https://, cid: or data: (a relative path, a file "
        "on this computer, or none) never loads in the reader's mail client.",
    ),
    Rule(
        "images.insecure",
        Severity.WARNING,
        "Images over plain http:// are blocked or shown with a security warning by some "
        "clients, and can be altered on the way.",
    ),
    Rule(
        "images.no-width",
        Severity.WARNING,
        "Outlook on Windows shows an image without a set width at its full size, which "
        "can push the layout far wider than the screen.",
    ),
    Rule(
        "images.heavy",
        Severity.WARNING,
        f"An image over {HEAVY_BYTES // 1024} KB loads slowly on mobile data and costs "
        "readers on metered plans.",
    ),
    Rule(
        "images.too-heavy",
        Severity.ERROR,
        f"An image over {TOO_HEAVY_BYTES // (1024 * 1024)} MB takes seconds to appear on a "
        "phone, and some mail clients and proxies refuse to load it at all.",
    ),
    Rule(
        "images.total-heavy",
        Severity.WARNING,
        f"Over {TOTAL_HEAVY_BYTES // (1024 * 1024)} MB of images in one issue makes it "
        "slow to open on a phone, however light each image is.",
    ),
)

_SAFE_SCHEMES = ("https", "cid", "data")
_CSS_WIDTH = re.compile(r"(?:^|;)\s*width\s*:\s*([^;]*)", re.IGNORECASE)


def findings(check: CheckInput) -> list[Finding]:
    found: list[Finding] = []
    weighed: dict[Path, int] = {}
    for img in check.elements("img"):
        src = (img.get("src") or "").strip()
        place = check.place_of(img, src) if src else check.place_of(img)
        found.extend(_alt(check, img, src, place))
        found.extend(_source(src, place))
        if not has_width(img):
            found.append(_no_width(src, place))
        path = image_file(check.settings, src)
        if path is not None:
            size = path.stat().st_size
            found.extend(_weight(src, size, place))
            weighed[path] = size
    found.extend(_total(weighed))
    return found


def _total(weighed: dict[Path, int]) -> list[Finding]:
    """Images together over the limit; one image alone is already its own finding."""
    total = sum(weighed.values())
    if len(weighed) < 2 or total <= TOTAL_HEAVY_BYTES:
        return []
    return [
        Finding(
            "images.total-heavy",
            Severity.WARNING,
            f"the {len(weighed)} images from the images folder weigh {_size(total)} together",
            "make each one smaller (resized and compressed), or show fewer images and link "
            "to the rest on the website",
        )
    ]


def image_name(src: str) -> str:
    """How a message names an image: its file name, or the start of its address."""
    if not src:
        return "an image"
    if src[:5].lower() == "data:":
        return "an embedded (data:) image"
    name = unquote(urlsplit(src).path.rstrip("/").rpartition("/")[2])
    return f"the image '{name or src[:60]}'"


def _alt(check: CheckInput, img: HtmlElement, src: str, place: Place) -> list[Finding]:
    alt = img.get("alt")
    if alt is None:
        return [
            Finding(
                "images.missing-alt",
                Severity.ERROR,
                f"{image_name(src)} has no alt attribute",
                f"the template {_template_of(check, img, place)} writes this image without "
                'alt: give it alt text that says what the image shows (alt="" only for '
                "a purely decorative image)",
                place,
            )
        ]
    if not alt.strip() and _only_content_of_link(img):
        return [
            Finding(
                "images.link-alt",
                Severity.ERROR,
                f"{image_name(src)} is the only content of a link, and its alt text is empty",
                "give the image alt text that says where the link goes, e.g. "
                "'Read the full report'",
                place,
            )
        ]
    return []


def _only_content_of_link(img: HtmlElement) -> bool:
    """The image sits in a link with no text, no label and no other named image."""
    link = next(img.iterancestors("a"), None)
    if link is None or link.get("href") is None:
        return False
    if link.text_content().strip():
        return False
    if (link.get("aria-label") or "").strip() or (link.get("title") or "").strip():
        return False
    return not any((other.get("alt") or "").strip() for other in link.iter("img"))


def _source(src: str, place: Place) -> list[Finding]:
    scheme = urlsplit(src).scheme.lower() if src else ""
    if scheme in _SAFE_SCHEMES:
        return []
    if scheme == "http":
        return [
            Finding(
                "images.insecure",
                Severity.WARNING,
                f"{image_name(src)} is loaded over http://, not https://",
                "use the image's https:// address; if the site has none, host the image "
                "somewhere that does",
                place,
            )
        ]
    where = f"the address '{src[:80]}'" if src else "no address (src)"
    return [
        Finding(
            "images.bad-src",
            Severity.ERROR,
            f"{image_name(src)} has {where}, which a mail client cannot load",
            "give the image its full public address, starting with https://",
            place,
        )
    ]


def has_width(img: HtmlElement) -> bool:
    """A width attribute, or a CSS width in the style, that is not ``auto``."""
    attribute = (img.get("width") or "").strip().lower()
    if attribute and attribute != "auto":
        return True
    css = _CSS_WIDTH.search(img.get("style") or "")
    return css is not None and css.group(1).strip().lower() not in ("", "auto")


def _no_width(src: str, place: Place) -> Finding:
    return Finding(
        "images.no-width",
        Severity.WARNING,
        f"{image_name(src)} has no width set",
        'give the <img> a width attribute in pixels (width="552"), the size it is shown '
        "at; the template that writes it is the place to do so",
        place,
    )


def _weight(src: str, size: int, place: Place) -> list[Finding]:
    fix = (
        "resize it to at most twice the width it is shown at and save it compressed "
        "(JPEG for photos, PNG for drawings and logos)"
    )
    if size > TOO_HEAVY_BYTES:
        message = f"{image_name(src)} is {_size(size)}, over {_size(TOO_HEAVY_BYTES)}"
        return [Finding("images.too-heavy", Severity.ERROR, message, fix, place)]
    if size > HEAVY_BYTES:
        message = f"{image_name(src)} is {_size(size)}, over {_size(HEAVY_BYTES)}"
        return [Finding("images.heavy", Severity.WARNING, message, fix, place)]
    return []


def image_file(settings: Settings, src: str) -> Path | None:
    """The file in the project's images folder that ``src`` shows, if there is one.

    ``images_dir`` is published at ``{public_url}/images/``: the address
    ``https://news.example.org/images/2026/cover.jpg`` is the file
    ``images/2026/cover.jpg`` beside the project file. Other addresses, and paths that
    would leave the folder, give None.
    """
    if not src:
        return None
    public = urlsplit(settings.public_url)
    address = urlsplit(src)
    if address.scheme.lower() not in ("http", "https"):
        return None
    if address.netloc.lower() != public.netloc.lower():
        return None
    prefix = f"{public.path.rstrip('/')}/{PUBLISHED_AS}/"
    if not address.path.startswith(prefix):
        return None
    folder = settings.resolve(settings.images_dir).resolve()
    try:
        candidate = (folder / unquote(address.path[len(prefix) :])).resolve()
        found = candidate.is_relative_to(folder) and candidate.is_file()
    except (OSError, ValueError):
        return None
    return candidate if found else None


def _template_of(check: CheckInput, img: HtmlElement, place: Place) -> str:
    section = check.section_of(img)
    if section is not None:
        return f"sections/{check.issue.sections[section].type}.mjml.j2"
    return place.name if place.source is Source.TEMPLATE else MAIN_TEMPLATE


def _size(size: int) -> str:
    if size >= 1024 * 1024:
        return f"{size / (1024 * 1024):.1f} MB"
    return f"{size / 1024:.0f} KB"
