"""The plain-text wrapper: the same lines as textwrap for prose, URLs never broken."""

from __future__ import annotations

import random
import textwrap

import pytest

from newsletter.render.markdown import markdown_text, wrap_words

WORDS = ["a", "safer", "sleep", "review", "partnership", "—", "children’s", "x" * 12]
URL = "https://www.example.org/reviews/infant-injury/terms-of-reference?with=a-long-query"


@pytest.mark.parametrize("seed", range(40))
def test_matches_textwrap_on_single_spaced_text(seed):
    chooser = random.Random(seed)
    words = [chooser.choice([*WORDS, URL]) for _ in range(chooser.randint(0, 60))]
    text = " ".join(words)
    width = chooser.choice([20, 40, 78])
    first, rest = chooser.choice([("", ""), ("* ", "  "), ("> 1. ", ">    ")])
    expected = textwrap.wrap(
        text,
        width=width,
        initial_indent=first,
        subsequent_indent=rest,
        break_long_words=False,
        break_on_hyphens=False,
    )
    assert wrap_words(text, width, first, rest) == expected


def test_markdown_text_lists_links_and_raw_html():
    text = markdown_text(
        "Read [the review](https://example.org/r) & <b>this</b>.\n\n"
        "- first point\n- second point\n\n1. one\n2. two\n"
    )
    assert text == (
        "Read the review (https://example.org/r) & <b>this</b>.\n\n"
        "* first point\n* second point\n\n1. one\n2. two"
    )
