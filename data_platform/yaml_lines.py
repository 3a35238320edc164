"""Safe YAML loading that remembers the line of every key, so config errors can point at it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

KeyPath = tuple[str | int, ...]


class ConfigError(ValueError):
    """A rule or pipeline file is wrong; the message names the file, the key path and the line."""


def load_with_lines(path: Path) -> tuple[Any, dict[KeyPath, int]]:
    """``yaml.safe_load`` the file and map every key path to its 1-based line number."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: file not found") from None
    except UnicodeDecodeError as err:
        raise ConfigError(f"{path}: not UTF-8 text ({err.reason} at byte {err.start})") from None
    try:
        data = yaml.safe_load(text)
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f":{mark.line + 1}" if mark is not None else ""
        raise ConfigError(f"{path}{where}: invalid YAML: {getattr(err, 'problem', err)}") from None
    lines: dict[KeyPath, int] = {}
    if node is not None:
        _index(node, (), lines)
    return data, lines


def _index(node: yaml.Node, path: KeyPath, lines: dict[KeyPath, int]) -> None:
    lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            child = path + (key_node.value,)
            lines[child] = key_node.start_mark.line + 1
            _index(value_node, child, lines)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _index(item, path + (i,), lines)


def line_of(lines: dict[KeyPath, int], path: KeyPath) -> int | None:
    """The line of ``path``, or of its closest ancestor present in the file."""
    for end in range(len(path), -1, -1):
        if path[:end] in lines:
            return lines[path[:end]]
    return None


def locator(path: Path, lines: dict[KeyPath, int]):
    """``fail(key, message)``: a ``ConfigError`` reading ``path:line: key: message``."""

    def fail(key: KeyPath, msg: str) -> ConfigError:
        return ConfigError(f"{path}:{line_of(lines, key)}: {format_path(key)}: {msg}")

    return fail


def validate(model, data: Any, fail):
    """``model.model_validate(data)``; the first pydantic error becomes ``fail(its key, its message)``."""
    from pydantic import ValidationError

    try:
        return model.model_validate(data)
    except ValidationError as err:
        first = err.errors()[0]
        raise fail(tuple(first["loc"]), first["msg"]) from None


def format_path(path: KeyPath) -> str:
    """``('rules', 'word_count', 'min')`` -> ``rules.word_count.min``; list items as ``[i]``."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "<top level>"
