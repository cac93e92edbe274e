"""Python: requirements*.txt (pins only), poetry.lock, uv.lock and Pipfile.lock."""

from __future__ import annotations

import re
import tomllib
from typing import Any

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from devops_orchestra.scanners.deps.common import LineIndex, LockfileError, Package, json_with_positions, position_line

ECOSYSTEM = "PyPI"
_OPTION_TAIL = re.compile(r"\s+--?[a-z][\w-]*(?:[=\s]\S+)?")  # per-requirement options: --hash=sha256:...
_COMMENT = re.compile(r"(^|\s)#.*$")


def requirements(path: str, text: str) -> list[Package]:
    """pip's requirements format: one requirement a logical line; `\\` continues it; `#` starts a comment.

    Only `==` / `===` pins without wildcards are versions; ranges, URLs, `-r`/`-e` lines are not.
    """
    found: list[Package] = []
    logical, start = "", 0
    for number, raw in enumerate(text.splitlines(), 1):
        if not logical:
            start = number
        line = _COMMENT.sub("", raw)
        if line.endswith("\\"):
            logical += line[:-1] + " "
            continue
        logical += line
        entry, logical = logical.strip(), ""
        if not entry or entry.startswith("-"):
            continue  # options: -r other.txt, -e ., --index-url ...
        entry = _OPTION_TAIL.split(entry, maxsplit=1)[0] if " -" in entry else entry
        try:
            req = Requirement(entry)
        except InvalidRequirement:
            continue  # a URL or path requirement: nothing to look up by version
        specs = list(req.specifier)
        if len(specs) == 1 and specs[0].operator in ("==", "===") and "*" not in specs[0].version:
            found.append(Package(ECOSYSTEM, canonicalize_name(req.name), specs[0].version, path, start, number))
    return found


def _toml(text: str) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise LockfileError(f"not valid TOML: {exc}") from exc


def _package_tables(text: str) -> list[tuple[int, int]]:
    """(line of `name =`, line of `version =`) of each top-level [[package]] table, in order."""
    spans: list[tuple[int, int]] = []
    current: list[int] | None = None
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if stripped.startswith("["):
            current = [number, number] if stripped == "[[package]]" else None
            if current:
                spans.append((number, number))
            continue
        if current is not None:
            key = stripped.split("=", 1)[0].strip()
            if key == "name":
                current[0] = number
            elif key == "version":
                current[1] = number
            spans[-1] = (current[0], current[1])
    return spans


def _toml_lock(path: str, text: str, skip: Any) -> list[Package]:
    """poetry.lock and uv.lock: an array of [[package]] tables with name and version."""
    data = _toml(text)
    tables = data.get("package", [])
    spans = _package_tables(text)
    if not isinstance(tables, list) or len(spans) != len(tables):
        raise LockfileError("its [[package]] tables could not be matched to lines")
    found = []
    for table, (name_line, version_line) in zip(tables, spans, strict=True):
        name, version = table.get("name"), table.get("version")
        if not isinstance(name, str) or not isinstance(version, str) or skip(table):
            continue
        end = max(name_line, version_line)
        found.append(Package(ECOSYSTEM, canonicalize_name(name), version, path, name_line, end))
    return found


def poetry_lock(path: str, text: str) -> list[Package]:
    """poetry.lock: its [[package]] tables, except git, directory, file and url sources."""
    # git, directory, file and url sources are not PyPI releases: a version says nothing there.
    return _toml_lock(path, text, lambda t: t.get("source", {}).get("type") in ("git", "directory", "file", "url"))


def uv_lock(path: str, text: str) -> list[Package]:
    """uv.lock: its [[package]] tables from a registry (not the project itself, path or git sources)."""
    # The project itself and path/git dependencies: only registry packages have advisories.
    return _toml_lock(path, text, lambda t: "registry" not in t.get("source", {}))


def pipfile_lock(path: str, text: str) -> list[Package]:
    """Pipfile.lock: JSON sections `default` and `develop`, each {name: {"version": "==x"}}."""
    data = json_with_positions(text)
    if not isinstance(data, dict):
        raise LockfileError("expected a JSON object")
    lines = LineIndex(text)
    found = []
    for section in ("default", "develop"):
        for name, entry in (data.get(section) or {}).items():
            version = entry.get("version") if isinstance(entry, dict) else None
            if isinstance(version, str) and version.startswith("=="):
                line = position_line(entry, lines)
                found.append(Package(ECOSYSTEM, canonicalize_name(name), version.lstrip("="), path, line))
    return found
