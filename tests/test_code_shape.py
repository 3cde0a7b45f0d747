"""The package keeps its shape: short functions, and nothing outside ``providers/`` that
asks which provider class it holds (it asks for a capability instead)."""

from __future__ import annotations

import ast
from pathlib import Path

from conftest import REPO

PACKAGE = REPO / "newsletter"
LONGEST_FUNCTION = 60
PROVIDER_CLASSES = {"LocalProvider", "MailchimpProvider", "MemoryProvider"}


def _modules() -> list[tuple[Path, ast.Module]]:
    return [(path, ast.parse(path.read_text(encoding="utf-8"))) for path in PACKAGE.rglob("*.py")]


def test_no_function_is_longer_than_sixty_lines():
    long = [
        f"{path.relative_to(REPO)}:{node.lineno} {node.name} ({length} lines)"
        for path, module in _modules()
        for node in ast.walk(module)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and (length := node.end_lineno - node.lineno + 1) > LONGEST_FUNCTION
    ]
    assert not long, long


def test_only_providers_know_provider_classes():
    asked = [
        f"{path.relative_to(REPO)}:{node.lineno}"
        for path, module in _modules()
        if "providers" not in path.relative_to(PACKAGE).parts
        for node in ast.walk(module)
        if isinstance(node, ast.Call)
        and getattr(node.func, "id", None) == "isinstance"
        and PROVIDER_CLASSES & {getattr(n, "id", None) for n in ast.walk(node.args[1])}
    ]
    assert not asked, asked
