"""A small HTML reader for the checks: elements with attributes, text, and a canonical form."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html.parser import HTMLParser

VOID = frozenset(
    {
        "area",
        "base",
        "br",
        "col",
        "embed",
        "hr",
        "img",
        "input",
        "link",
        "meta",
        "param",
        "source",
        "track",
        "wbr",
    }
)


@dataclass
class Element:
    tag: str
    attrs: dict[str, str]
    text: str = ""
    parents: tuple[str, ...] = ()


@dataclass
class Document:
    elements: list[Element] = field(default_factory=list)
    canonical: list[str] = field(default_factory=list)
    text: list[str] = field(default_factory=list)

    def all(self, tag: str) -> list[Element]:
        return [element for element in self.elements if element.tag == tag]

    def hrefs(self) -> list[str]:
        return [a.attrs["href"] for a in self.all("a") if "href" in a.attrs]


class _Reader(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.document = Document()
        self.open: list[Element] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        element = Element(tag, values, parents=tuple(e.tag for e in self.open))
        self.document.elements.append(element)
        self.document.canonical.append(f"<{tag}{_canonical_attrs(values)}>")
        if tag not in VOID:
            self.open.append(element)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag not in VOID and self.open:
            self.open.pop()

    def handle_endtag(self, tag: str) -> None:
        if tag in VOID:
            return
        for index in range(len(self.open) - 1, -1, -1):
            if self.open[index].tag == tag:
                del self.open[index:]
                break
        self.document.canonical.append(f"</{tag}>")

    def handle_data(self, data: str) -> None:
        text = " ".join(data.split())
        if not text:
            return
        for element in self.open:
            element.text = f"{element.text} {text}".strip()
        self.document.text.append(text)
        self.document.canonical.append(f"text {text}")

    def handle_comment(self, data: str) -> None:
        self.document.canonical.append(f"comment {' '.join(data.split())}")


def _canonical_attrs(attrs: dict[str, str]) -> str:
    parts = []
    for name in sorted(attrs):
        value = attrs[name]
        if name == "style":
            value = ";".join(
                re.sub(r"\s*:\s*", ":", rule.strip()) for rule in value.split(";") if rule.strip()
            )
        else:
            value = " ".join(value.split())
        parts.append(f' {name}="{value}"')
    return "".join(parts)


def parse(html: str) -> Document:
    reader = _Reader()
    reader.feed(html)
    reader.close()
    return reader.document
