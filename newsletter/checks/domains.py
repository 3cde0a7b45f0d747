"""Comparing mail domains: which names belong together for a receiver's DMARC check.

Without the public suffix list, two names are taken to belong together when they are
the same or one is a subdomain of the other, after dropping a website's leading
``www.``. That never pairs two different organisations (``a.co.uk`` and ``b.co.uk``
stay apart); sibling names such as ``news.example.org`` and ``shop.example.org`` are
listed in ``sending_domains`` instead.
"""

from __future__ import annotations

from urllib.parse import urlsplit


def normalised(name: str) -> str:
    """Lower case, no final dot, international names in their ASCII (punycode) form."""
    name = name.strip().rstrip(".").lower()
    try:
        return name.encode("idna").decode("ascii")
    except UnicodeError:
        return name


def address_domain(address: str) -> str:
    return normalised(address.rpartition("@")[2])


def website_domain(url: str) -> str:
    host = normalised(urlsplit(url).hostname or "")
    return host.removeprefix("www.")


def within(name: str, parent: str) -> bool:
    """``name`` is ``parent`` or one of its subdomains."""
    return bool(parent) and (name == parent or name.endswith("." + parent))


def related(first: str, second: str) -> bool:
    """The same domain, or one a subdomain of the other."""
    return within(first, second) or within(second, first)
