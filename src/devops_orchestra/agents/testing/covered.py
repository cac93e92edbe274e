"""Which lines the tests ran, per file: coverage.py's data files for Python, V8's coverage (NODE_V8_COVERAGE,
which c8 reads too) for Node. Blocking: call these in a worker thread."""

from __future__ import annotations

import json
import re
from bisect import bisect_right
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

from coverage import CoverageData
from coverage.config import DEFAULT_EXCLUDE
from coverage.exceptions import CoverageException
from coverage.parser import PythonParser


@dataclass(frozen=True)
class FileLines:
    """A file's statements (lines that can run) and those the tests ran."""

    statements: frozenset[int]
    executed: frozenset[int]


def python_lines(data_dir: Path, roots: list[Path], rels: list[str]) -> dict[str, FileLines]:
    """Statements and executed lines of each file rel (relative to any of roots: the copy the tests ran in, or
    the original tree an editable install imports from)."""
    prefixes = [f"{r.resolve()}/" for r in roots]
    executed: dict[str, set[int]] = defaultdict(set)
    for path in sorted(data_dir.glob(".coverage*")):
        data = CoverageData(basename=str(path))
        try:
            data.read()
        except CoverageException:  # a process killed mid-write: what the others recorded still counts
            continue
        for measured in data.measured_files():
            rel = next((measured[len(p):] for p in prefixes if measured.startswith(p)), None)
            if rel is not None:
                executed[rel] |= set(data.lines(measured) or ())
    exclude = "|".join(f"(?:{r})" for r in DEFAULT_EXCLUDE)
    out = {}
    for rel in rels:
        try:
            text = (roots[0] / rel).read_text(encoding="utf-8")
            if not text.strip():
                continue
            parser = PythonParser(text=text, exclude=exclude)
            parser.parse_source()
        except (OSError, UnicodeError, CoverageException, SyntaxError):
            continue
        statements = frozenset(parser.statements)
        out[rel] = FileLines(statements, frozenset(parser.first_lines(executed.get(rel, set()))) & statements)
    return out


_NOT_CODE = re.compile(r"^\s*(?://.*|/\*.*|\*.*|[})\];,]*|['\"]use strict['\"];?)\s*$")


def node_lines(v8_dir: Path, root: Path, rels: list[str]) -> dict[str, FileLines]:
    """Lines of each JavaScript file rel that hold code, and those some process of the suite ran: a line counts
    as run when the innermost V8 range around its first character ran."""
    wanted = set(rels)
    ranges: dict[str, list[list[tuple[int, int, int]]]] = defaultdict(list)  # per file, per process
    prefix = f"{root.resolve()}/"
    for path in sorted(v8_dir.glob("*.json")):
        try:
            scripts = json.loads(path.read_text(encoding="utf-8")).get("result", [])
        except (OSError, ValueError):
            continue
        for script in scripts:
            url = str(script.get("url", ""))
            if url.startswith("file://"):
                where = unquote(urlsplit(url).path)
            elif url.startswith("/"):  # a module compiled by a runner's own loader (jest's vm.Script)
                where = url
            else:
                continue
            rel = where.removeprefix(prefix)
            if rel in wanted:
                ranges[rel].append([(r["startOffset"], r["endOffset"], r["count"])
                                    for f in script.get("functions", []) for r in f.get("ranges", [])])
    out = {}
    for rel in rels:
        try:
            text = (root / rel).read_text(encoding="utf-8")
        except (OSError, UnicodeError):
            continue
        starts, statements = [], set()
        offset = 0
        for number, line in enumerate(text.splitlines(keepends=True), 1):
            if not _NOT_CODE.match(line):
                statements.add(number)
                starts.append((number, offset + len(line) - len(line.lstrip())))
            offset += len(line)
        executed = set()
        for process in ranges.get(rel, []):
            # outer ranges first: an inner range (a branch, a nested function) decides for its own lines
            ordered = sorted(process, key=lambda r: (r[0], -r[1]))
            keys = [r[0] for r in ordered]
            for number, at in starts:
                count = None
                for start, end, hits in ordered[: bisect_right(keys, at)]:
                    if start <= at < end:
                        count = hits
                if count:
                    executed.add(number)
        out[rel] = FileLines(frozenset(statements), frozenset(executed))
    return out
