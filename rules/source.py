"""Reading YAML with positions: plain values plus where each value stood (line and column).

PyYAML's ``safe_load`` forgets where things were, silently keeps the last of two equal keys, and
turns YAML 1.1 words such as ``yes``/``no``/``on``/``off`` into booleans. SOP authors write
``ya``/``tidak`` and mean text, so this reader reports each of those traps as a problem with its
``file:line:col`` instead of guessing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from yaml.constructor import SafeConstructor

Path_ = tuple[str | int, ...]

# Words YAML 1.1 reads as booleans; `true`/`false` are fine, the rest are traps.
_YAML11_BOOL_TRAPS = re.compile(r"^(y|Y|yes|Yes|YES|n|N|no|No|NO|on|On|ON|off|Off|OFF)$")


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a definition file, located so that an author can find it."""

    file: str
    line: int
    col: int
    message: str
    hint: str = ""

    def __str__(self) -> str:
        text = f"{self.file}:{self.line}:{self.col}: {self.message}"
        return f"{text} ({self.hint})" if self.hint else text


@dataclass
class Located:
    """A YAML document read into plain Python values, remembering where each value stood."""

    file: str
    data: Any
    marks: dict[Path_, tuple[int, int]] = field(default_factory=dict)
    key_marks: dict[Path_, tuple[int, int]] = field(default_factory=dict)
    text: str = ""

    def where(self, path: Path_, *, key: bool = False) -> tuple[int, int]:
        """Line and column (1-based) of the value at ``path``, or of its nearest known ancestor.

        With ``key=True`` the position of the mapping key is preferred (for "unknown key" errors).
        A block mapping or list is located at its key too (``steps: arsip:``), not at its first
        line inside, which may be a comment away.
        """
        p = tuple(path)
        while True:
            block = (
                p in self.key_marks
                and p in self.marks
                and self.key_marks[p][0] != self.marks[p][0]
                and isinstance(_value_at(self.data, p), dict | list)
            )
            if (key or block) and p in self.key_marks:
                return self.key_marks[p]
            if p in self.marks:
                return self.marks[p]
            if not p:
                return (1, 1)
            p = p[:-1]

    def problem(self, path: Path_, message: str, hint: str = "", *, key: bool = False) -> Problem:
        line, col = self.where(path, key=key)
        return Problem(self.file, line, col, message, hint)


def _value_at(data: Any, path: Path_) -> Any:
    for part in path:
        try:
            data = data[part]
        except (KeyError, IndexError, TypeError):
            return None
    return data


def _mark(node: yaml.Node) -> tuple[int, int]:
    return (node.start_mark.line + 1, node.start_mark.column + 1)


class _Builder:
    def __init__(self, located: Located, problems: list[Problem]) -> None:
        self.located = located
        self.problems = problems
        self.constructor = SafeConstructor()

    def build(self, node: yaml.Node, path: Path_) -> Any:
        self.located.marks[path] = _mark(node)
        if isinstance(node, yaml.MappingNode):
            out: dict[Any, Any] = {}
            for key_node, value_node in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    self._report(key_node, "YAML merge keys ('<<') are not supported here")
                    continue
                key = self.build_scalar_key(key_node)
                child = (*path, key)
                if key in out:
                    line, _ = self.located.key_marks[child]
                    self._report(
                        key_node,
                        f"duplicate key '{key}' (first written on line {line})",
                        "each key may appear once in a mapping",
                    )
                    continue
                self.located.key_marks[child] = _mark(key_node)
                out[key] = self.build(value_node, child)
            return out
        if isinstance(node, yaml.SequenceNode):
            return [self.build(item, (*path, i)) for i, item in enumerate(node.value)]
        assert isinstance(node, yaml.ScalarNode)
        return self.build_scalar(node)

    def build_scalar_key(self, node: yaml.Node) -> Any:
        if not isinstance(node, yaml.ScalarNode):
            self._report(node, "a mapping key must be plain text")
            return f"<invalid key at line {node.start_mark.line + 1}>"
        value = self.build_scalar(node)
        return value if isinstance(value, str | int) else str(node.value)

    def build_scalar(self, node: yaml.ScalarNode) -> Any:
        if (
            node.tag == "tag:yaml.org,2002:bool"
            and node.style is None
            and _YAML11_BOOL_TRAPS.match(node.value)
        ):
            self._report(
                node,
                f"'{node.value}' is read by YAML as a true/false value, not as text",
                f'write "{node.value}" in quotes, or use ya/tidak, or true/false',
            )
            return node.value
        if node.tag == "tag:yaml.org,2002:timestamp":
            # Dates stay text; the model parses them where a date is wanted.
            return node.value
        return self.constructor.construct_object(node, deep=True)

    def _report(self, node: yaml.Node, message: str, hint: str = "") -> None:
        line, col = _mark(node)
        self.problems.append(Problem(self.located.file, line, col, message, hint))


def load_located(path: Path | str, text: str | None = None) -> tuple[Located | None, list[Problem]]:
    """Read one YAML file; return its located values (``None`` if unreadable) and its problems."""
    name = str(path)
    if text is None:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            return None, [Problem(name, 1, 1, f"cannot read file: {exc}")]
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        msg = f"YAML syntax error: {exc.problem or exc.context}"
        return None, [Problem(name, line, col, msg, "check indentation, colons and quotes")]
    located = Located(name, None, text=text)
    problems: list[Problem] = []
    if root is None:
        return None, [Problem(name, 1, 1, "the file is empty")]
    located.data = _Builder(located, problems).build(root, ())
    return located, problems
