"""YAML with positions: every value keeps the line and column it came from.

Errors from pydantic name a path (``sections.2.image.alt``); the position map turns
that path into ``FILE:LINE:COL`` so each problem is reported where it was written.

Input is bounded before it can cost much: the file's size is checked before it is
read, and nodes are composed from parser events one at a time, refusing aliases and
counting depth, values and the items of chosen lists as they arrive.
"""

from __future__ import annotations

import difflib
import re
import types
import typing
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import yaml
from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from newsletter.errors import CampaignError
from newsletter.types import AT

Path_ = tuple[str | int, ...]

DEFAULT_MAX_FILE_BYTES = 1_000_000
"""Campaign and project files larger than this are refused unread (``max_file_bytes``)."""
MAX_DEPTH = 32
"""Mappings and lists nested deeper than this are refused."""
MAX_VALUES = 20_000
"""Values (scalars, lists and mappings) in one file; a large issue has a few thousand."""


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


def load_yaml(
    path: Path,
    *,
    max_bytes: int = DEFAULT_MAX_FILE_BYTES,
    list_limits: Mapping[Path_, int] | None = None,
) -> LoadedYaml:
    """Parse ``path`` into plain data plus a map from value paths to positions.

    ``list_limits`` caps the items of the lists at the given paths, e.g.
    ``{("sections",): 200}``; the error names the line of the list's key.
    """
    text = _read_limited(path, max_bytes)
    node = _parse(path, text, list_limits or {})
    positions: dict[Path_, Position] = {}
    if node is None:
        return LoadedYaml(path, None, positions)
    builder = _Builder(path)
    data = builder.build(node, ())
    if builder.problems:
        raise CampaignError([line for _, line in sorted(builder.problems)])
    return LoadedYaml(path, data, builder.positions)


def _read_limited(path: Path, max_bytes: int) -> str:
    """The file as text, refused by its size before reading and never read past the limit."""
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise _too_large(path, f"the file is {size:,} bytes", max_bytes)
        with path.open("rb") as stream:
            data = stream.read(max_bytes + 1)  # a file may grow, or not be a regular file
    except FileNotFoundError:
        raise CampaignError([f"{path}: no such file"]) from None
    except OSError as exc:
        raise CampaignError([f"{path}: cannot be read: {exc}"]) from None
    if len(data) > max_bytes:
        raise _too_large(path, "the file is larger than the limit", max_bytes)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        before = data[: exc.start].decode("utf-8")
        line, column = _line_column(before, len(before))
        problem = f"byte 0x{data[exc.start]:02x} is not UTF-8; save the file as UTF-8"
        raise CampaignError([f"{path}:{line}:{column}: {problem}"]) from None


def _too_large(path: Path, found: str, max_bytes: int) -> CampaignError:
    setting = "setting max_file_bytes or NEWSLETTER_MAX_FILE_BYTES"
    limit = f"files over {max_bytes:,} bytes are refused ({setting})"
    return CampaignError([f"{path}:1:1: {found}; {limit}"])


_LINE_BREAK = re.compile("\r\n|[\n\r\x85\u2028\u2029]")


def _line_column(text: str, index: int) -> Position:
    """1-based line and column of ``text[index]``, counting line breaks as YAML does."""
    line, start = 1, 0
    for found in _LINE_BREAK.finditer(text, 0, index):
        line, start = line + 1, found.end()
    return Position(line, index - start + 1)


def _parse(path: Path, text: str, list_limits: Mapping[Path_, int]) -> yaml.Node | None:
    try:
        return _compose(_FastLoader, text, list_limits)
    except _Refused as exc:
        raise _refused(path, exc) from None
    except yaml.reader.ReaderError as exc:
        raise _character_error(path, text, exc) from None
    except yaml.MarkedYAMLError as exc:
        raise _first_syntax_error(path, text, list_limits, exc) from None


_REREAD_CHARS = 20_000
"""How far into a file the pure-Python parser rereads to word an error (at most about 0.2 s)."""
_LOOKAHEAD = 1_100
"""Characters reread past an error: more than the 1,024 a scanner looks ahead for a key."""


def _first_syntax_error(
    path: Path, text: str, list_limits: Mapping[Path_, int], fast_error: yaml.MarkedYAMLError
) -> CampaignError:
    """libyaml's error, or the first problem as the pure-Python parser words it.

    The pure-Python parser names the character it stopped at, but is about a hundred
    times slower, so it rereads only the text up to just past libyaml's error, and only
    near the start of the file. libyaml also reads ahead further (1,000 levels into a
    line of "[") and can fail past a problem the composer would refuse first.
    """
    mark = fast_error.problem_mark or fast_error.context_mark
    stop = mark.index if mark else len(text)
    if stop > _REREAD_CHARS:
        return _syntax_error(path, text, fast_error)
    try:
        _compose(_Loader, text[: stop + _LOOKAHEAD], list_limits)
    except yaml.MarkedYAMLError as exc:
        if _not_after(exc.problem_mark, mark):
            return _syntax_error(path, text, exc)
    except _Refused as exc:
        if _not_after(exc.mark, mark):
            return _refused(path, exc)
    return _syntax_error(path, text, fast_error)


def _not_after(mark: yaml.Mark | None, other: yaml.Mark | None) -> bool:
    if mark is None or other is None:
        return mark is not None
    return (mark.line, mark.column) <= (other.line, other.column)


def _syntax_error(path: Path, text: str, exc: yaml.MarkedYAMLError) -> CampaignError:
    mark = exc.problem_mark or exc.context_mark
    line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
    problem = exc.problem or "invalid YAML"
    found = text[mark.index : mark.index + 1] if mark else ""
    if "\\t" in problem or "tab" in problem or found == "\t":
        problem = "tabs are not allowed for indentation; use spaces"
    elif problem == "found character that cannot start any token":  # libyaml's words
        problem = f"found character {found!r} that cannot start any token"
    return CampaignError([f"{path}:{line}:{column}: YAML syntax error: {problem}"])


def _character_error(path: Path, text: str, fast_error: yaml.reader.ReaderError) -> CampaignError:
    """NUL, other control characters and non-characters, at their line and column."""
    try:
        yaml.reader.Reader(text)  # counts in characters, where libyaml counts bytes
    except yaml.reader.ReaderError as exc:
        line, column = _line_column(text, exc.position)
        code = exc.character if isinstance(exc.character, int) else ord(exc.character)
        kind = "control character" if unicodedata.category(chr(code)) == "Cc" else "character"
        problem = f"{kind} U+{code:04X} is not allowed; remove it"
        return CampaignError([f"{path}:{line}:{column}: {problem}"])
    return CampaignError([f"{path}:1:1: YAML syntax error: {fast_error.reason}"])


def _compose(
    loader_class: type[yaml.SafeLoader], text: str, list_limits: Mapping[Path_, int]
) -> yaml.Node | None:
    loader = loader_class(text)
    try:
        return _Composer(loader, list_limits).single_document()
    finally:
        loader.dispose()


class _Refused(Exception):
    """Input the composer stops at before it costs anything: where, and why."""

    def __init__(self, mark: yaml.Mark, message: str) -> None:
        super().__init__(message)
        self.mark = mark
        self.message = message


def _refused(path: Path, exc: _Refused) -> CampaignError:
    return CampaignError([f"{path}:{exc.mark.line + 1}:{exc.mark.column + 1}: {exc.message}"])


@dataclass
class _Open:
    """A list or mapping whose items are still arriving."""

    node: yaml.SequenceNode | yaml.MappingNode
    path: Path_
    where: yaml.Mark
    key: yaml.Node | None = None


class _Composer:
    """Nodes from parser events, built without recursion and without following aliases.

    PyYAML's composer makes an alias share the node its anchor names; walking the result
    turns a few hundred bytes of nested aliases into billions of values. It also recurses
    once per level of nesting. This one refuses an alias where it is written and counts
    depth, values and the items of the lists in ``list_limits`` as each event arrives.
    """

    def __init__(self, loader: yaml.SafeLoader, list_limits: Mapping[Path_, int]) -> None:
        self.loader = loader
        self.list_limits = list_limits
        self.open: list[_Open] = []
        self.values = 0

    def single_document(self) -> yaml.Node | None:
        loader = self.loader
        loader.get_event()  # stream start
        if loader.check_event(yaml.StreamEndEvent):
            return None
        start = loader.get_event()  # document start
        root = self._root()
        loader.get_event()  # document end
        if not loader.check_event(yaml.StreamEndEvent):
            raise yaml.composer.ComposerError(
                "expected a single document in the stream",
                start.start_mark,
                "but found another document",
                loader.get_event().start_mark,
            )
        return root

    def _root(self) -> yaml.Node:
        while True:
            event = self.loader.get_event()
            if isinstance(event, yaml.CollectionEndEvent):
                node: yaml.Node | None = self.open.pop().node
                node.end_mark = event.end_mark
            else:
                node = self._start(event)
                if node is None:
                    continue
            if not self.open:
                return node
            self._add(self.open[-1], node)

    def _start(self, event: yaml.Event) -> yaml.Node | None:
        """A scalar's node, or None after opening a list or mapping."""
        if isinstance(event, yaml.AliasEvent):
            message = f"aliases (*{event.anchor}) are not allowed; write the value out"
            raise _Refused(event.start_mark, message)
        self.values += 1
        if self.values > MAX_VALUES:
            raise _Refused(event.start_mark, f"more than {MAX_VALUES:,} values in one file")
        if isinstance(event, yaml.ScalarEvent):
            tag = self._tag(event, yaml.ScalarNode, event.value)
            return yaml.ScalarNode(
                tag, event.value, event.start_mark, event.end_mark, style=event.style
            )
        if len(self.open) >= MAX_DEPTH:
            raise _Refused(event.start_mark, f"nested more than {MAX_DEPTH} levels deep")
        kind = yaml.SequenceNode if isinstance(event, yaml.SequenceStartEvent) else yaml.MappingNode
        node = kind(self._tag(event, kind, None), [], event.start_mark, None, event.flow_style)
        self.open.append(_Open(node, *self._place(event.start_mark)))
        return None

    def _tag(self, event: yaml.Event, kind: type[yaml.Node], value: str | None) -> str:
        if event.tag is None or event.tag == "!":
            return str(self.loader.resolve(kind, value, event.implicit))
        return str(event.tag)

    def _place(self, start: yaml.Mark) -> tuple[Path_, yaml.Mark]:
        """The path of the value starting at ``start``, and where its key was written."""
        if not self.open:
            return (), start
        parent = self.open[-1]
        if isinstance(parent.node, yaml.SequenceNode):
            return (*parent.path, len(parent.node.value)), start
        key = parent.key
        name = key.value if isinstance(key, yaml.ScalarNode) else "?"
        return (*parent.path, name), key.start_mark if key is not None else start

    def _add(self, parent: _Open, node: yaml.Node) -> None:
        if isinstance(parent.node, yaml.SequenceNode):
            parent.node.value.append(node)
            limit = self.list_limits.get(parent.path)
            if limit is not None and len(parent.node.value) > limit:
                problem = f"more than {limit} items; at most {limit} are allowed"
                raise _Refused(parent.where, f"{_dotted(parent.path)}: {problem}")
        elif parent.key is None:
            parent.key = node
        else:
            parent.node.value.append((parent.key, node))
            parent.key = None


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
