"""Markdown for email: CommonMark in, email-safe HTML or wrapped plain text out.

Raw HTML in the source is escaped, never passed through: what a writer types is what
a reader sees.
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterator, Sequence
from functools import lru_cache

from markdown_it import MarkdownIt
from markdown_it.token import Token
from markupsafe import Markup

TEXT_WIDTH = 78


@lru_cache(maxsize=1)
def _parser() -> MarkdownIt:
    return MarkdownIt("commonmark", {"html": False, "typographer": True}).enable(
        ["replacements", "smartquotes", "strikethrough"]
    )


@lru_cache(maxsize=512)
def _tokens(text: str) -> tuple[Token, ...]:
    return tuple(_parser().parse(text))


def forget_markdown() -> None:
    """Drop parsed Markdown kept from earlier renders (the benchmark measures a cold parse)."""
    _tokens.cache_clear()


def markdown_html(text: str) -> Markup:
    """HTML for the email body; safe to place in a template without escaping again."""
    return Markup(_parser().renderer.render(list(_tokens(text)), _parser().options, {}))


def markdown_links(text: str) -> list[str]:
    return [href for href, kind in _walk_links(_tokens(text)) if kind == "link"]


def markdown_images(text: str) -> list[str]:
    """The ``src`` of every Markdown image (``![alt](src)``) in ``text``."""
    return [src for src, kind in _walk_links(_tokens(text)) if kind == "image"]


def _walk_links(tokens: Sequence[Token]) -> Iterator[tuple[str, str]]:
    for token in tokens:
        if token.type == "inline" and token.children:
            yield from _walk_links(token.children)
        elif token.type == "link_open":
            yield str(token.attrGet("href") or ""), "link"
        elif token.type == "image":
            yield str(token.attrGet("src") or ""), "image"


def markdown_text(text: str, width: int = TEXT_WIDTH) -> str:
    """Plain text: paragraphs wrapped to ``width``, lists indented, links as ``text (url)``."""
    blocks: list[tuple[str, bool]] = []
    list_stack: list[list[int | None]] = []
    prefix_stack: list[str] = []
    pending_marker: str | None = None
    for token in _tokens(text):
        if token.type == "bullet_list_open":
            list_stack.append([None])
        elif token.type == "ordered_list_open":
            list_stack.append([int(token.attrGet("start") or 1)])
        elif token.type in ("bullet_list_close", "ordered_list_close"):
            list_stack.pop()
        elif token.type == "list_item_open":
            counter = list_stack[-1]
            if counter[0] is None:
                pending_marker = "* "
            else:
                pending_marker = f"{counter[0]}. "
                counter[0] += 1
        elif token.type == "blockquote_open":
            prefix_stack.append("> ")
        elif token.type == "blockquote_close":
            prefix_stack.pop()
        elif token.type == "inline":
            content = _inline_text(token.children or [])
            wrapped = _wrap(content, width, len(list_stack), pending_marker, prefix_stack)
            blocks.append((wrapped, bool(list_stack)))
            pending_marker = None
        elif token.type in ("fence", "code_block"):
            code = token.content.rstrip("\n")
            blocks.append(("\n".join("    " + line for line in code.splitlines()), False))
        elif token.type == "hr":
            blocks.append(("-" * min(width, 20), False))
    return _join_blocks(blocks)


def _wrap(content: str, width: int, depth: int, marker: str | None, quote: Sequence[str]) -> str:
    quote_prefix = "".join(quote)
    indent = "  " * max(depth - 1, 0)
    first = quote_prefix + indent + (marker or ("  " if depth and marker is None else ""))
    rest = quote_prefix + indent + (" " * len(marker) if marker else ("  " if depth else ""))
    lines: list[str] = []
    for index, hard_line in enumerate(content.split("\n")):
        wrapped = textwrap.wrap(
            hard_line,
            width=width,
            initial_indent=first if index == 0 else rest,
            subsequent_indent=rest,
            break_long_words=False,
            break_on_hyphens=False,
        )
        lines.extend(wrapped or [first.rstrip()])
    return "\n".join(lines)


def _join_blocks(blocks: Sequence[tuple[str, bool]]) -> str:
    """Blocks inside a list sit on consecutive lines; others are separated by a blank line."""
    out = ""
    previous_in_list = False
    for text, in_list in blocks:
        if out:
            out += "\n" if in_list and previous_in_list else "\n\n"
        out += text
        previous_in_list = in_list
    return out


def _inline_text(children: Sequence[Token]) -> str:
    parts: list[str] = []
    link_stack: list[tuple[str, int]] = []
    for child in children:
        if child.type in ("text", "code_inline", "html_inline"):
            parts.append(child.content)
        elif child.type == "softbreak":
            parts.append(" ")
        elif child.type == "hardbreak":
            parts.append("\n")
        elif child.type == "image":
            parts.append(f"[{child.content or 'image'}]")
        elif child.type == "link_open":
            link_stack.append((str(child.attrGet("href") or ""), len(parts)))
        elif child.type == "link_close" and link_stack:
            href, start = link_stack.pop()
            label = "".join(parts[start:])
            shown = href.removeprefix("mailto:")
            if label.strip() != shown:
                parts.append(f" ({shown})")
    return "".join(parts)
