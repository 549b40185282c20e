"""Read a YAML file into plain data plus the line of every value, safely.

PyYAML's safe loader is safe against code execution but not against everything a flow file
may contain by mistake or malice: duplicate keys silently overwrite each other, aliases can
expand exponentially (billion laughs), and a huge file takes unbounded memory. This reader
composes the node graph with the C parser (fast, and aliases stay shared nodes so composing
costs nothing), then converts it itself, rejecting aliases, duplicate keys and non-string keys
and recording where every value came from.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import yaml

from .errors import Problem

MAX_BYTES = 1 << 20  # 1 MiB: a flow is a few KiB; anything near this is not a flow file

try:  # libyaml is nearly always there with PyYAML wheels; fall back to pure Python otherwise
    _Loader: type = yaml.CSafeLoader
except AttributeError:  # pragma: no cover
    _Loader = yaml.SafeLoader

Path_ = tuple[str | int, ...]


@dataclass(frozen=True)
class Located:
    """Plain data read from one file, with the 1-based line of every value by its key path."""

    file: str
    data: Any
    lines: dict[Path_, int]

    def line(self, path: Path_) -> int:
        """The line of ``path``, or of its nearest ancestor that has one."""
        while path:
            if path in self.lines:
                return self.lines[path]
            path = path[:-1]
        return self.lines.get((), 1)


class YamlProblem(Exception):
    def __init__(self, problem: Problem) -> None:
        self.problem = problem
        super().__init__(str(problem))


def read_yaml(path: Path, display: str | None = None) -> Located:
    """Read ``path``; raise :class:`YamlProblem` with a located message on any defect."""
    name = display or str(path)
    return parse_yaml(file_bytes(path, name), name)


def file_bytes(path: Path, name: str) -> bytes:
    """The bytes of ``path``, refused with a located message (naming it ``name``) when it
    cannot be read or is larger than any flow file: its size is asked before it is read."""
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise YamlProblem(Problem(name, 0, "", f"cannot read: {exc.strerror}")) from None
    if size > MAX_BYTES:
        raise YamlProblem(
            Problem(name, 0, "", f"file is {size / 2**20:.1f} MiB; a flow file may be at most 1 MiB")
        )
    try:
        return path.read_bytes()
    except OSError as exc:
        raise YamlProblem(Problem(name, 0, "", f"cannot read: {exc.strerror}")) from None


def parse_yaml(raw: bytes, name: str, *, exact_numbers: bool = False) -> Located:
    """Parse bytes already read (exposed for tests and for files given on stdin).

    ``exact_numbers``: a number with a point (YAML's float) as the ``Decimal`` written, not
    the nearest float — a record's 12345678901234.567 must keep its last digit."""
    if len(raw) > MAX_BYTES:
        raise YamlProblem(Problem(name, 0, "", "file is larger than 1 MiB"))
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise YamlProblem(
            Problem(name, line, "", f"not UTF-8 (byte 0x{raw[exc.start]:02x} at offset {exc.start})")
        ) from None
    if text.startswith("\ufeff"):
        text = text[1:]
    try:
        _scan(text, name)
        loader = _Loader(text)
        try:
            node = loader.get_single_node()
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 0
        what = exc.problem or exc.context or "invalid YAML"
        if "nesting depth" in what:  # PyYAML >= 6.0.4 stops deep nesting itself, before we can
            raise YamlProblem(Problem(name, line, "", f"nested more than {MAX_DEPTH} levels deep")) from None
        raise YamlProblem(Problem(name, line, "", f"invalid YAML: {what}")) from None
    except yaml.reader.ReaderError as exc:
        line = text[: exc.position].count("\n") + 1
        raise YamlProblem(Problem(name, line, "", f"character U+{exc.character:04X} is not allowed "
                                                  "in YAML")) from None
    except yaml.YAMLError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else "unreadable"
        raise YamlProblem(Problem(name, 0, "", f"invalid YAML: {first}")) from None
    if node is None:
        return Located(name, None, {(): 1})
    lines: dict[Path_, int] = {}
    data = _convert(node, (), lines, set(), name, exact_numbers)
    return Located(name, data, lines)


_TIMESTAMP = "tag:yaml.org,2002:timestamp"
_FLOAT = "tag:yaml.org,2002:float"
# YAML 1.1 floats in plain decimal notation; .inf, .nan and 1:30.5 (base 60) stay floats
_DECIMAL = re.compile(r"[-+]?(?:[0-9][0-9_]*\.[0-9_]*|\.[0-9_]+)(?:[eE][-+]?[0-9]+)?")
MAX_DEPTH = 32  # a flow is five levels deep; more is a mistake or an attack on the stack


def _scan(text: str, name: str) -> None:
    """Refuse anchors, aliases and deep nesting from the event stream, before any node exists.

    Events carry the position of the alias itself (a composed node only knows its anchor), and
    nothing is built yet, so neither a billion-laughs file nor 20,000 nested brackets costs
    more than reading it.
    """
    depth = 0
    for event in yaml.parse(text, Loader=_Loader):
        line = event.start_mark.line + 1
        if isinstance(event, yaml.AliasEvent):
            raise YamlProblem(Problem(name, line, "", f"YAML alias '*{event.anchor}' is not allowed; "
                                                      "write the value out"))
        anchor = getattr(event, "anchor", None)
        if anchor is not None:
            raise YamlProblem(Problem(name, line, "", f"YAML anchor '&{anchor}' is not allowed; "
                                                      "write the value out"))
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > MAX_DEPTH:
                raise YamlProblem(Problem(name, line, "", f"nested more than {MAX_DEPTH} levels deep"))
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1


def _convert(node: yaml.Node, path: Path_, lines: dict[Path_, int], seen: set[int], name: str,
             exact: bool = False) -> Any:
    line = node.start_mark.line + 1
    lines[path] = line
    if id(node) in seen:
        # The composer hands an alias back as the very node it names; refusing the second visit
        # refuses every alias, so a billion-laughs file costs nothing.
        raise YamlProblem(Problem(name, line, _dotted(path), "YAML anchors and aliases are not allowed"))
    seen.add(id(node))
    if isinstance(node, yaml.ScalarNode):
        if exact and node.tag == _FLOAT and _DECIMAL.fullmatch(node.value):
            try:
                return Decimal(node.value.replace("_", ""))
            except InvalidOperation:  # '._' is a YAML float with no digit: refused below
                pass
        return _scalar(node, name, line, path)
    if isinstance(node, yaml.SequenceNode):
        return [_convert(item, (*path, i), lines, seen, name, exact)
                for i, item in enumerate(node.value)]
    if isinstance(node, yaml.MappingNode):
        result: dict[str, Any] = {}
        for key_node, value_node in node.value:
            key_line = key_node.start_mark.line + 1
            if not isinstance(key_node, yaml.ScalarNode) or key_node.tag == "tag:yaml.org,2002:merge":
                raise YamlProblem(Problem(name, key_line, _dotted(path), "keys must be plain names"))
            key = key_node.value  # as written: YAML 1.1 would turn the key `on:` into True
            if key in result:
                raise YamlProblem(Problem(name, key_line, _dotted(path), f"duplicate key '{key}'"))
            result[key] = _convert(value_node, (*path, key), lines, seen, name, exact)
            lines[(*path, key)] = key_line
        return result
    raise YamlProblem(Problem(name, line, _dotted(path), "unsupported YAML node"))  # pragma: no cover


def _scalar(node: yaml.ScalarNode, name: str, line: int, path: Path_) -> Any:
    tag = node.tag
    value = node.value
    if tag == "tag:yaml.org,2002:str":
        return value
    if tag == _TIMESTAMP:
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            raise YamlProblem(
                Problem(name, line, _dotted(path), f"'{value}' is not a date (YYYY-MM-DD)")
            ) from None
    try:
        return yaml.SafeLoader.yaml_constructors[tag](_SCALAR_CONSTRUCTOR, node)
    except KeyError:
        raise YamlProblem(Problem(name, line, _dotted(path), f"unsupported YAML tag {tag}")) from None
    except (ValueError, yaml.YAMLError):
        raise YamlProblem(Problem(name, line, _dotted(path), f"bad value '{value}'")) from None


_SCALAR_CONSTRUCTOR = yaml.SafeLoader("")


def _dotted(path: Path_) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out


dotted = _dotted
