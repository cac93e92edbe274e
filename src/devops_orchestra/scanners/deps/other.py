"""Go (go.sum), Maven (pom.xml) and RubyGems (Gemfile.lock)."""

from __future__ import annotations

import re
from xml.parsers import expat

from devops_orchestra.scanners.deps.common import LockfileError, Package


def go_sum(path: str, text: str) -> list[Package]:
    """go.sum: `module version hash` and `module version/go.mod hash`. A module with only a /go.mod line
    was consulted for the build graph but its code is not built: not reported. OSV's Go versions have no v."""
    found: dict[tuple[str, str], Package] = {}
    for number, line in enumerate(text.splitlines(), 1):
        parts = line.split()
        if not parts:
            continue
        if len(parts) != 3 or not parts[1].startswith("v"):
            raise LockfileError(f"line {number} is not `module version hash`")
        module, version = parts[0], parts[1]
        if version.endswith("/go.mod"):
            continue
        key = (module, version)
        if key not in found:
            found[key] = Package("Go", module, version[1:], path, number)
    return list(found.values())


_PROPERTY = re.compile(r"\$\{([^}]+)\}")


def pom_xml(path: str, text: str) -> list[Package]:
    """pom.xml: <dependency> elements of the project, its dependencyManagement and its profiles, with
    ${property} versions resolved from <properties>. Version ranges and unresolved properties are skipped.
    The line is the <artifactId>'s (expat keeps the line of each element; ElementTree drops it)."""
    stack: list[str] = []
    current: dict[str, str] = {}
    dependencies: list[dict[str, str]] = []
    properties: dict[str, str] = {}
    chars: list[str] = []
    parser = expat.ParserCreate()

    def start(tag: str, _attrs: dict[str, str]) -> None:
        nonlocal current
        stack.append(tag.rsplit("}", 1)[-1])
        chars.clear()
        if stack[-1] == "dependency" and len(stack) >= 3 and stack[-2] == "dependencies" and stack[-3] in (
            "project", "dependencyManagement", "profile"
        ):
            current = {}
            dependencies.append(current)
        elif len(stack) >= 2 and stack[-2] == "dependency" and stack[-1] in ("artifactId", "version"):
            current[f"{stack[-1]} line"] = str(parser.CurrentLineNumber)

    def end(_tag: str) -> None:
        text_value = "".join(chars).strip()
        tag = stack.pop()
        if len(stack) >= 1 and stack[-1] == "dependency" and tag in ("groupId", "artifactId", "version"):
            current[tag] = text_value
        elif len(stack) == 2 and stack[-1] == "properties":
            properties[tag] = text_value
        elif len(stack) == 1 and tag in ("version", "groupId"):
            properties[f"project.{tag}"] = text_value
        elif len(stack) == 2 and stack[-1] == "parent" and tag in ("version", "groupId"):
            properties.setdefault(f"project.{tag}", text_value)
        chars.clear()

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = chars.append
    try:
        parser.Parse(text, True)
    except expat.ExpatError as exc:
        raise LockfileError(f"not well-formed XML: {exc}") from exc

    found = []
    for dep in dependencies:
        version = _PROPERTY.sub(lambda m: properties.get(m[1], m[0]), dep.get("version", ""))
        group, artifact = dep.get("groupId", ""), dep.get("artifactId", "")
        if group and artifact and version and not re.search(r"[\[\](),$]", version):
            group = _PROPERTY.sub(lambda m: properties.get(m[1], m[0]), group)
            line = int(dep["artifactId line"])
            found.append(Package("Maven", f"{group}:{artifact}", version, path, line,
                                 max(line, int(dep.get("version line", line)))))
    return found


_GEM_SPEC = re.compile(r"^    (?P<name>[^\s(]+) \((?P<version>[^)]+)\)\s*$")


def gemfile_lock(path: str, text: str) -> list[Package]:
    """Gemfile.lock: under `GEM` ... `  specs:`, each gem at four spaces as `name (version[-platform])`;
    its own dependencies follow at six spaces. GIT and PATH sections are not RubyGems releases."""
    found = []
    section = ""
    for number, line in enumerate(text.splitlines(), 1):
        if line and not line.startswith(" "):
            section = line.strip()
            continue
        m = _GEM_SPEC.match(line)
        if section == "GEM" and m:
            version = m["version"].split("-", 1)[0]  # 1.13.10-x86_64-linux: the platform is not the version
            found.append(Package("RubyGems", m["name"], version, path, number))
    if text.strip() and "GEM" not in text and "PATH" not in text and "GIT" not in text:
        raise LockfileError("no GEM, GIT or PATH section: not a Gemfile.lock")
    return found
