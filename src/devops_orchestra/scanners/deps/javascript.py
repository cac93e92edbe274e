"""npm ecosystem: package-lock.json / npm-shrinkwrap.json (v1-v3), yarn.lock (v1 and berry), pnpm-lock.yaml."""

from __future__ import annotations

import re
from typing import Any

import yaml

from devops_orchestra.scanners.deps.common import LineIndex, LockfileError, Package, json_with_positions, position_line

ECOSYSTEM = "npm"


def package_lock(path: str, text: str) -> list[Package]:
    """lockfileVersion 2 and 3 list every installed package under `packages` by its node_modules path;
    version 1 nests `dependencies` by name."""
    data = json_with_positions(text)
    if not isinstance(data, dict):
        raise LockfileError("expected a JSON object")
    lines = LineIndex(text)
    found: list[Package] = []
    packages = data.get("packages")
    if isinstance(packages, dict):
        for key, entry in packages.items():
            if not key or not isinstance(entry, dict) or entry.get("link") or "node_modules/" not in key:
                continue  # the root project, workspace links and workspace folders
            version = entry.get("version")
            name = entry.get("name") or key.rsplit("node_modules/", 1)[1]
            if isinstance(version, str) and _registry_version(version):
                found.append(Package(ECOSYSTEM, name, version, path, position_line(entry, lines)))
        return found

    def walk(deps: Any) -> None:
        for name, entry in (deps or {}).items():
            if not isinstance(entry, dict):
                continue
            version = entry.get("version")
            if isinstance(version, str) and _registry_version(version):
                found.append(Package(ECOSYSTEM, name, version, path, position_line(entry, lines)))
            walk(entry.get("dependencies"))

    walk(data.get("dependencies"))
    return found


def _registry_version(version: str) -> bool:
    """A release version, not a git URL, tarball, file: or link: reference."""
    return bool(re.match(r"^\d+\.\d+\.\d+", version))


_YARN_HEADER = re.compile(r'^(?P<specs>"?[^\s#].*):\s*$')
_YARN_VERSION = re.compile(r'^\s+version:?\s+"?(?P<version>[^"\s]+)"?\s*$')


def yarn_lock(path: str, text: str) -> list[Package]:
    """yarn.lock v1 (`"name@^1.0.0", name@~1.1.0:` then `  version "1.1.2"`) and berry's YAML-shaped
    form (`"name@npm:^1.0.0":` then `  version: 1.1.2`). An entry is a header at column 0."""
    found: list[Package] = []
    header: tuple[str, int] | None = None
    for number, line in enumerate(text.splitlines(), 1):
        m = _YARN_HEADER.match(line)
        if m and not line.startswith((" ", "#")):
            first = m["specs"].split(",")[0].strip().strip('"')
            header = (first, number) if first != "__metadata" else None
            continue
        v = _YARN_VERSION.match(line)
        if header and v and line.startswith("  ") and not line.startswith("    "):
            spec, start = header
            name = _yarn_name(spec)
            version = v["version"]
            if name and _registry_version(version) and "@workspace:" not in spec and "@link:" not in spec:
                found.append(Package(ECOSYSTEM, name, version, path, start, number))
            header = None
    if not found and text.strip() and "version" not in text:
        raise LockfileError("no entries with a version: not a yarn lock file")
    return found


def _yarn_name(spec: str) -> str | None:
    """`@scope/name@^1`, `name@npm:^1`, `alias@npm:real@^1` -> the package installed."""
    at = spec.find("@", 1)
    if at < 0:
        return None
    name, rest = spec[:at], spec[at + 1 :]
    if rest.startswith("npm:") and "@" in rest[5:]:  # an alias: the real package follows npm:
        real = rest[4:]
        return real[: real.find("@", 1)]
    return name


def pnpm_lock(path: str, text: str) -> list[Package]:
    """pnpm-lock.yaml: keys of `packages` are `/name/1.0.0` (v5), `/name@1.0.0` (v6) or `name@1.0.0` (v9),
    peer suffixes `_peer@1` or `(peer@1)` after the version."""
    try:
        root = yaml.compose(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.YAMLError as exc:
        raise LockfileError(f"not valid YAML: {exc}") from exc
    if not isinstance(root, yaml.MappingNode):
        raise LockfileError("expected a YAML mapping")
    found: list[Package] = []
    for key, value in root.value:
        if key.value != "packages" or not isinstance(value, yaml.MappingNode):
            continue
        for pkg_key, _ in value.value:
            parsed = _pnpm_key(str(pkg_key.value))
            if parsed and _registry_version(parsed[1]):
                found.append(Package(ECOSYSTEM, parsed[0], parsed[1], path, pkg_key.start_mark.line + 1))
    return found


_PNPM_V5 = re.compile(r"^(?P<name>(?:@[^/]+/)?[^/@]+)/(?P<version>\d+\.\d+\.\d+[^_/]*)(?:_.*)?$")
_PNPM_AT = re.compile(r"^(?P<name>@?[^@]+)@(?P<version>\d[^(]*)")


def _pnpm_key(key: str) -> tuple[str, str] | None:
    key = key.lstrip("/")
    m = _PNPM_V5.match(key) or _PNPM_AT.match(key)
    return (m["name"], m["version"]) if m else None
