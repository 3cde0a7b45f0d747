"""The example issue compiles to the stored email (tests/golden/), for each provider's tags.

The HTML is compared in a canonical form (parsed; attributes sorted; white space in text,
attributes and styles normalised), so formatting noise does not matter but every element,
attribute, text and merge tag does. The text part is compared exactly.

After an intended change to the templates: ``make golden``, then review the diff.
"""

from __future__ import annotations

import difflib
from pathlib import Path

import pytest
from htmlparse import parse

from newsletter.campaigns import load_issue
from newsletter.providers.registry import merge_tag_names, merge_tags_of
from newsletter.render.compile import compile_issue

GOLDEN = Path(__file__).parent / "golden"


def _compare(name: str, actual: str, expected: str) -> None:
    if actual == expected:
        return
    diff = difflib.unified_diff(
        expected.splitlines(), actual.splitlines(), f"golden/{name}", "rendered", lineterm="", n=2
    )
    shown = "\n".join(list(diff)[:60])
    pytest.fail(f"{name} differs from the golden file (run `make golden` if intended):\n{shown}")


@pytest.mark.parametrize("tags", merge_tag_names())
def test_example_matches_golden_files(settings, example_file, update_golden, tags):
    compiled = compile_issue(load_issue(example_file, settings), settings, merge_tags_of(tags))
    html_path = GOLDEN / f"{compiled.slug}.{tags}.html"
    text_path = GOLDEN / f"{compiled.slug}.{tags}.txt"
    if update_golden:
        GOLDEN.mkdir(exist_ok=True)
        html_path.write_text(compiled.html, encoding="utf-8")
        text_path.write_text(compiled.text, encoding="utf-8")
        return
    if not html_path.exists():
        pytest.fail(f"{html_path} is missing: run `make golden`")
    expected_html = "\n".join(parse(html_path.read_text(encoding="utf-8")).canonical)
    _compare(html_path.name, "\n".join(parse(compiled.html).canonical), expected_html)
    _compare(text_path.name, compiled.text, text_path.read_text(encoding="utf-8"))


def test_canonical_form_ignores_formatting_but_not_content():
    a = parse('<p  class="x"   style="color: red; margin:0">Hello\n  world</p>').canonical
    b = parse('<p style="color:red;margin:0" class="x">Hello world</p>').canonical
    c = parse('<p style="color:red;margin:0" class="x">Hello, world</p>').canonical
    assert a == b
    assert a != c
