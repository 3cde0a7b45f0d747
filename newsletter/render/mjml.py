"""The one place that calls the MJML compiler (mjml-python, the Rust MRML port)."""

from __future__ import annotations

import re

import css_inline
import mjml

from newsletter.errors import RenderError

_INLINE_STYLE = re.compile(r"<mj-style\s+inline=\"inline\"\s*>(.*?)</mj-style>", re.S)


def compile_mjml(source: str, *, name: str = "newsletter") -> str:
    """MJML to HTML, with the ``<mj-style inline="inline">`` CSS inlined into elements.

    mjml-python drops the inline attribute's meaning, so that CSS is lifted out here and
    applied with css-inline; the other ``<style>`` blocks (media queries) stay untouched.
    """
    inline_css = "\n".join(_INLINE_STYLE.findall(source))
    source = _INLINE_STYLE.sub("", source)
    try:
        html = mjml.mjml2html(source, disable_comments=True, fonts={})
    except ValueError as exc:
        raise RenderError(f"{name}: MJML did not compile: {_one_line(exc)}") from None
    if not inline_css.strip():
        return html
    inliner = css_inline.CSSInliner(
        inline_style_tags=False,
        keep_style_tags=True,
        load_remote_stylesheets=False,
        extra_css=inline_css,
    )
    try:
        return inliner.inline(html)
    except css_inline.InlineError as exc:
        raise RenderError(f"{name}: CSS could not be inlined: {_one_line(exc)}") from None


def _one_line(exc: Exception) -> str:
    return " ".join(str(exc).split())
