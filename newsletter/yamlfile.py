"""YAML with positions: every value keeps the line and column it came from.

Errors from pydantic name a path (``sections.2.image.alt``); the position map turns
that path into ``FILE:LINE:COL`` so each problem is reported where it was written.
"""

from __future__ import annotations

import difflib
import re
import types
import typing
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import yaml
from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from newsletter.errors import CampaignError
from newsletter.types import AT

Path_ = tuple[str | int, ...]


class Position(NamedTuple):
    line: int
    column: int


@dataclass(frozen=True)
class LoadedYaml:
    path: Path
    data: Any
    positions: dict[Path_, Position]

    def position_of(self, loc: Path_) -> Position:
        """The position of the deepest part of ``loc`` that the file contains."""
        for end in range(len(loc), -1, -1):
            found = self.positions.get(tuple(loc[:end]))
            if found is not None:
                return found
        return Position(1, 1)


class _Loader(yaml.SafeLoader):
    """SafeLoader that keeps YAML 1.2 booleans: ``no`` and ``on`` stay strings."""


class _FastLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """The same rules over libyaml's parser when PyYAML has it (about ten times faster)."""


_YAML12_BOOL = re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$")
for _class in (_Loader, _FastLoader):
    _class.yaml_implicit_resolvers = {
        key: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:bool"]
        for key, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }
    _class.add_implicit_resolver("tag:yaml.org,2002:bool", _YAML12_BOOL, list("tTfF"))


def load_yaml(path: Path, text: str | None = None) -> LoadedYaml:
    """Parse ``path`` into plain data plus a map from value paths to positions."""
    if text is None:
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise CampaignError([f"{path}: no such file"]) from None
        except (OSError, UnicodeDecodeError) as exc:
            raise CampaignError([f"{path}: cannot be read: {exc}"]) from None
    try:
        node = _compose(_FastLoader, text)
    except yaml.MarkedYAMLError as fast_error:
        try:
            _compose(_Loader, text)  # the pure-Python parser words its errors better
        except yaml.MarkedYAMLError as exc:
            raise _syntax_error(path, exc) from None
        raise _syntax_error(path, fast_error) from None
    positions: dict[Path_, Position] = {}
    if node is None:
        return LoadedYaml(path, None, positions)
    builder = _Builder(path)
    data = builder.build(node, ())
    if builder.problems:
        raise CampaignError([line for _, line in sorted(builder.problems)])
    return LoadedYaml(path, data, builder.positions)


def _compose(loader_class: type[yaml.SafeLoader], text: str) -> yaml.Node | None:
    loader = loader_class(text)
    try:
        return loader.get_single_node()
    finally:
        loader.dispose()


def _syntax_error(path: Path, exc: yaml.MarkedYAMLError) -> CampaignError:
    mark = exc.problem_mark or exc.context_mark
    line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
    problem = exc.problem or "invalid YAML"
    if "\\t" in problem or "tab" in problem:
        problem = "tabs are not allowed for indentation; use spaces"
    return CampaignError([f"{path}:{line}:{column}: YAML syntax error: {problem}"])


_PLAIN_TAGS = frozenset({"tag:yaml.org,2002:map", "tag:yaml.org,2002:seq"})


class _Builder:
    """Plain data from composed nodes, recording positions and every problem on the way."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.positions: dict[Path_, Position] = {}
        self.problems: list[tuple[tuple[int, int], str]] = []
        self._constructor = _Loader("")

    def build(self, node: yaml.Node, at: Path_) -> Any:
        self.positions[at] = _position(node)
        if node.tag not in _PLAIN_TAGS and not isinstance(node, yaml.ScalarNode):
            self._problem(node, at, f"cannot read this value: unsupported tag '{node.tag}'")
            return None
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, at)
        if isinstance(node, yaml.SequenceNode):
            return [self.build(item, (*at, index)) for index, item in enumerate(node.value)]
        return self._scalar(node, at)

    def _mapping(self, node: yaml.MappingNode, at: Path_) -> dict[Any, Any]:
        result: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                self._problem(key_node, at, "YAML merge keys (<<) are not supported")
                continue
            if not isinstance(key_node, yaml.ScalarNode):
                self._problem(key_node, at, "a key must be plain text, not a list or mapping")
                continue
            key = self._scalar(key_node, at)
            if key in result:
                self._problem(key_node, (*at, str(key)), "duplicate key")
                continue
            child = (*at, key)
            result[key] = self.build(value_node, child)
            self.positions[(*child, "<key>")] = _position(key_node)
        return result

    def _scalar(self, node: yaml.Node, at: Path_) -> Any:
        try:
            return self._constructor.construct_object(node, deep=True)
        except (yaml.YAMLError, ValueError, TypeError, OverflowError) as exc:
            if node.tag == "tag:yaml.org,2002:timestamp":
                return node.value  # validation then names the field and what is wrong
            problem = getattr(exc, "problem", None) or str(exc)
            self._problem(node, at, f"cannot read this value: {problem}")
            return None

    def _problem(self, node: yaml.Node, at: Path_, message: str) -> None:
        where = _position(node)
        text = f"{self.path}:{where.line}:{where.column}: {_dotted(at)}: {message}"
        self.problems.append(((where.line, where.column), text))


def _position(node: yaml.Node) -> Position:
    return Position(node.start_mark.line + 1, node.start_mark.column + 1)


def _dotted(loc: Path_) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out or "(top level)"


def data_path(data: Any, loc: Sequence[str | int]) -> Path_:
    """Drop the discriminator tags pydantic inserts, keeping only keys present in ``data``."""
    result: list[str | int] = []
    current = data
    for part in loc:
        if (isinstance(current, list) and isinstance(part, int) and 0 <= part < len(current)) or (
            isinstance(current, dict) and part in current
        ):
            result.append(part)
            current = current[part]
        elif isinstance(current, dict) and current.get("type") == part:
            continue
        else:
            result.append(part)
            current = None
    return tuple(result)


def _model_at(model: type[BaseModel], loc: Sequence[str | int]) -> type[BaseModel] | None:
    """The model class that owns the last element of ``loc`` (for "did you mean")."""
    current = _annotation_at(model, loc[:-1])
    if isinstance(current, list):
        return None
    return current if isinstance(current, type) and issubclass(current, BaseModel) else None


def _union_tags(model: type[BaseModel], loc: Sequence[str | int]) -> list[str]:
    """The ``type`` values a discriminated union at ``loc`` accepts."""
    current = _annotation_at(model, loc)
    if not isinstance(current, list):
        return []
    return [tag for tag in map(_tag_of, current) if tag is not None]


def _annotation_at(model: type[BaseModel], loc: Sequence[str | int]) -> Any:
    """A model class, a list of union members, or None when ``loc`` leaves the models."""
    current: Any = model
    for part in loc:
        if isinstance(part, int):
            continue
        if isinstance(current, type) and issubclass(current, BaseModel):
            field = current.model_fields.get(str(part))
            if field is None:
                return None
            current = _unwrap(field.annotation)
        elif isinstance(current, list):
            match = [m for m in current if _tag_of(m) == part]
            if not match:
                return None
            current = match[0]
        else:
            return None
    return current


def _tag_of(model: type[BaseModel]) -> str | None:
    field = model.model_fields.get("type")
    if field is None:
        return None
    args = typing.get_args(field.annotation)
    return str(args[0]) if args else None


def _unwrap(annotation: Any) -> Any:
    """Reduce ``list[X]``, ``X | None`` and ``Annotated[Union[...], ...]`` to a model or models."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _unwrap(typing.get_args(annotation)[0])
    if origin in (list, tuple, Sequence, frozenset, set):
        return _unwrap(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        models = [_unwrap(a) for a in typing.get_args(annotation) if a is not type(None)]
        flat = [m for m in models if isinstance(m, type) and issubclass(m, BaseModel)]
        if len(flat) == 1:
            return flat[0]
        return flat or None
    return annotation


def format_validation_error(
    loaded: LoadedYaml, exc: ValidationError, model: type[BaseModel]
) -> CampaignError:
    """One ``FILE:LINE:COL: field.path: message`` line per problem, in file order."""
    return format_errors(loaded, exc.errors(include_url=False, include_input=False), model)


def format_errors(
    loaded: LoadedYaml, errors: Sequence[ErrorDetails], model: type[BaseModel]
) -> CampaignError:
    found: list[tuple[int, int, str]] = []
    for error in errors:
        context = error.get("ctx") or {}
        loc = data_path(loaded.data, (*error["loc"], *context.get(AT, ())))
        message = error["msg"]
        if error["type"] in ("union_tag_invalid", "union_tag_not_found"):
            loc, message = _tag_problem(loc, context, _union_tags(model, error["loc"]))
            position = loaded.position_of(loc)
        elif error["type"] == "extra_forbidden":
            position = loaded.positions.get((*loc, "<key>")) or loaded.position_of(loc)
            message = f"unknown field '{loc[-1]}'"
            owner = _model_at(model, error["loc"])
            if owner is not None:
                names = [field.alias or name for name, field in owner.model_fields.items()]
                close = difflib.get_close_matches(str(loc[-1]), names, n=1, cutoff=0.6)
                if close:
                    message += f"; did you mean '{close[0]}'?"
        else:
            position = loaded.position_of(loc)
            message = clean_message(message)
        found.append((position.line, position.column, f"{_dotted(loc)}: {message}"))
    found.sort(key=lambda item: (item[0], item[1]))
    return CampaignError([f"{loaded.path}:{line}:{col}: {text}" for line, col, text in found])


def _tag_problem(loc: Path_, context: dict[str, Any], expected: Sequence[str]) -> tuple[Path_, str]:
    """``type: poem`` -> the position of ``poem`` and the list of types there are."""
    field = str(context.get("discriminator", "'type'")).strip("'")
    choices = ", ".join(expected)
    tag = context.get("tag")
    if tag is None:
        return loc, f"'{field}' is missing; it is one of: {choices}"
    message = f"unknown {field} '{tag}'; it is one of: {choices}"
    close = difflib.get_close_matches(str(tag), expected, n=1, cutoff=0.6)
    if close:
        message += f"; did you mean '{close[0]}'?"
    return (*loc, field), message


def clean_message(message: str) -> str:
    for prefix in ("Value error, ", "Assertion failed, "):
        if message.startswith(prefix):
            return message[len(prefix) :]
    return message
