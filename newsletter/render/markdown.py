"""Markdown for email: CommonMark in, email-safe HTML or wrapped plain text out.

Raw HTML in the source is escaped, never passed through: what a writer types is what
a reader sees.
"""

from __future__ import annotations

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
    blocks: list[tuple[str, int | None]] = []
    lists_seen = 0
    list_stack: list[list[int | None]] = []
    prefix_stack: list[str] = []
    pending_marker: str | None = None
    for token in _tokens(text):
        if token.type in ("bullet_list_open", "ordered_list_open") and not list_stack:
            lists_seen += 1
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
            blocks.append((wrapped, lists_seen if list_stack else None))
            pending_marker = None
        elif token.type in ("fence", "code_block"):
            code = token.content.rstrip("\n")
            blocks.append(("\n".join("    " + line for line in code.splitlines()), None))
        elif token.type == "hr":
            blocks.append(("-" * min(width, 20), None))
    return _join_blocks(blocks)


def _wrap(content: str, width: int, depth: int, marker: str | None, quote: Sequence[str]) -> str:
    quote_prefix = "".join(quote)
    indent = "  " * max(depth - 1, 0)
    first = quote_prefix + indent + (marker or ("  " if depth and marker is None else ""))
    rest = quote_prefix + indent + (" " * len(marker) if marker else ("  " if depth else ""))
    lines: list[str] = []
    for index, hard_line in enumerate(content.split("\n")):
        wrapped = wrap_words(hard_line, width, first if index == 0 else rest, rest)
        lines.extend(wrapped or [first.rstrip()])
    return "\n".join(lines)


def wrap_words(text: str, width: int, first: str = "", rest: str = "") -> list[str]:
    """Greedy word wrap: lines start with ``first`` then ``rest``; a word is never broken.

    What ``textwrap.wrap(..., break_long_words=False, break_on_hyphens=False)`` does for
    single-spaced prose, several times faster. A word longer than the line (a URL) gets
    a line of its own.
    """
    lines: list[str] = []
    line = first
    filled = False
    for word in text.split():
        if filled and len(line) + 1 + len(word) > width:
            lines.append(line)
            line, filled = rest + word, True
        elif filled:
            line += " " + word
        else:
            line, filled = line + word, True
    if filled:
        lines.append(line)
    return lines


def _join_blocks(blocks: Sequence[tuple[str, int | None]]) -> str:
    """Blocks of one list sit on consecutive lines; others are separated by a blank line."""
    out = ""
    previous: int | None = None
    for text, in_list in blocks:
        if out:
            out += "\n" if in_list is not None and in_list == previous else "\n\n"
        out += text
        previous = in_list
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
