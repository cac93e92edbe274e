"""Line numbers: of an offset, of the first occurrence of a text, of a parser's error."""

from __future__ import annotations

import re


def line_at(text: str, offset: int) -> int:
    """1-based line of a character offset."""
    return text.count("\n", 0, offset) + 1


def line_of(text: str, needle: str) -> int:
    """1-based line of needle's first occurrence; 1 when it is not there."""
    at = text.find(needle)
    return line_at(text, at) if at >= 0 else 1


def error_line(exc: BaseException) -> int:
    """The line a parser's exception names (json, tomllib, ElementTree, lark, ...); 1 when none."""
    for attr in ("lineno", "line"):
        value = getattr(exc, attr, None)
        if isinstance(value, int) and value > 0:
            return value
    position = getattr(exc, "position", None)  # ElementTree
    if isinstance(position, tuple):
        return int(position[0])
    m = re.search(r"line (\d+)", str(exc))
    return int(m[1]) if m else 1
