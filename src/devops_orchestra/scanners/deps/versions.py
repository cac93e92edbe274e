"""Ordering versions the way each ecosystem does, and deciding whether an OSV range holds a version."""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import cmp_to_key
from typing import Any

from packaging.version import InvalidVersion, Version

Key = Callable[[str], Any]


def _semver_key(version: str) -> Any:
    """SemVer 2.0 precedence: release numbers, then a release sorts after its pre-releases; build is ignored."""
    core, _, pre = version.lstrip("v").split("+", 1)[0].partition("-")
    numbers = tuple(int(x) if x.isdigit() else 0 for x in ([*core.split("."), "0", "0"])[:3])
    if not pre:
        return (numbers, 1, ())
    ids = tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in pre.split("."))
    return (numbers, 0, ids)


def _pypi_key(version: str) -> Any:
    try:
        return (1, Version(version))
    except InvalidVersion:
        return (0, _natural_key(version))


_QUALIFIERS = {"alpha": 0, "a": 0, "beta": 1, "b": 1, "milestone": 2, "m": 2, "rc": 3, "cr": 3, "snapshot": 4,
               "": 5, "ga": 5, "final": 5, "release": 5, "sp": 6}


def _natural_key(version: str) -> Any:
    """Maven, RubyGems and the rest: numbers compare as numbers; a word marks a pre-release (1.0-rc1 < 1.0,
    Ruby's 1.0.a < 1.0) except the words that mean a release (final, ga) or after it (sp).
    An approximation of Maven's ComparableVersion and Gem::Version, good for the versions advisories name."""
    parts: list[tuple[int, int, str]] = []
    trailing = True  # zeros at the end, or just before a word, do not count: 1.0.0 == 1, 1.0-rc1 == 1-rc1
    for token in reversed(re.findall(r"\d+|[a-zA-Z]+", version)):
        if token.isdigit():
            if trailing and int(token) == 0:
                continue
            trailing = False
            parts.append((_QUALIFIERS[""], int(token), ""))
        else:
            word = token.lower()
            trailing = True
            parts.append((_QUALIFIERS.get(word, 4), 0, word))
    return (*tuple(reversed(parts)), (_QUALIFIERS[""], -1, ""))


def sort_key(ecosystem: str, range_type: str = "ECOSYSTEM") -> Key:
    """How to order an ecosystem's versions (or a SEMVER range's): SemVer, PyPI's, or a natural ordering."""
    if range_type == "SEMVER" or ecosystem in ("npm", "Go", "crates.io", "Hex", "Pub", "NuGet"):
        return _semver_key
    if ecosystem == "PyPI":
        return _pypi_key
    return _natural_key


def same_version(ecosystem: str, a: str, b: str) -> bool:
    """Whether two versions are the same in the ecosystem's ordering (1.0 and 1.0.0 are)."""
    if a == b:
        return True
    key = sort_key(ecosystem)
    try:
        return bool(key(a) == key(b))
    except (TypeError, ValueError):
        return False


def range_holds(events: list[dict[str, str]], version: str, key: Key) -> tuple[bool, str | None]:
    """OSV's evaluation: walk the events in version order; `introduced` opens, `fixed` closes
    (exclusive), `last_affected` closes (inclusive), `limit` is an upper bound. Returns whether the version
    is inside, and the fixed version that closes the interval it is in (None: no fix published)."""

    def event_key(e: dict[str, str]) -> Any:
        kind, value = next(iter(e.items()))
        return key("0") if value == "0" else key(value), 0 if kind == "introduced" else 1

    def compare(a: dict[str, str], b: dict[str, str]) -> int:
        ka, kb = event_key(a), event_key(b)
        return int(ka > kb) - int(ka < kb)

    try:
        v = key(version)
        ordered = sorted((e for e in events if e and len(e) == 1), key=cmp_to_key(compare))
        limits = [key(e["limit"]) for e in ordered if "limit" in e]
        if limits and all(v >= lim for lim in limits):
            return False, None
        inside, fixed = False, None
        for event in ordered:
            kind, value = next(iter(event.items()))
            if kind == "introduced" and (value == "0" or v >= key(value)):
                inside, fixed = True, None
            elif kind == "fixed" and v >= key(value):
                inside = False
            elif kind == "fixed" and inside and fixed is None:
                fixed = value
            elif kind == "last_affected" and v > key(value):
                inside = False
        return inside, fixed
    except (TypeError, ValueError):  # incomparable versions: say not affected rather than guess
        return False, None


def describe(events: list[dict[str, str]]) -> str:
    """An OSV range in words a developer reads: '>= 1.0, < 1.2.3; >= 2.0, <= 2.1'."""
    spans: list[str] = []
    current: list[str] = []
    for event in events:
        for kind, value in event.items():
            if kind == "introduced":
                if current:
                    spans.append(", ".join(current))
                current = [] if value == "0" else [f">= {value}"]
            elif kind == "fixed":
                current.append(f"< {value}")
            elif kind == "last_affected":
                current.append(f"<= {value}")
            elif kind == "limit":
                current.append(f"< {value} (limit)")
    if current or not spans:
        spans.append(", ".join(current) or "all versions")
    return "; ".join(spans)
