"""The stack from the manifests: package managers, dependencies, frameworks and declared entry points.

Manifests are read with real parsers (json, tomllib, configparser, ElementTree, ast for setup.py); a
manifest that does not parse becomes a warning naming the file and line, never an exception.
"""

from __future__ import annotations

import ast
import configparser
import json
import re
import tomllib
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from devops_orchestra.analyzers.lines import error_line, line_at, line_of
from devops_orchestra.models.architecture import Dependency, EntryPoint, Manifest, WebFramework, Where

# file name -> (kind, package manager, ecosystem)
MANIFESTS = {
    "requirements.txt": ("pip", "pypi"), "pyproject.toml": ("pip", "pypi"), "setup.py": ("setuptools", "pypi"),
    "setup.cfg": ("setuptools", "pypi"), "Pipfile": ("pipenv", "pypi"), "package.json": ("npm", "npm"),
    "go.mod": ("go modules", "go"), "pom.xml": ("maven", "maven"), "build.gradle": ("gradle", "maven"),
    "build.gradle.kts": ("gradle", "maven"), "Cargo.toml": ("cargo", "cargo"), "Gemfile": ("bundler", "rubygems"),
    "composer.json": ("composer", "packagist"),
}
_REQUIREMENTS = re.compile(r"^requirements([-_.][\w.-]+)?\.(txt|in)$")

# dependency (normalised name or import path) -> framework; per ecosystem
FRAMEWORKS: dict[str, dict[str, str]] = {
    "pypi": {"flask": "Flask", "django": "Django", "fastapi": "FastAPI", "starlette": "Starlette",
             "tornado": "Tornado", "aiohttp": "aiohttp", "sanic": "Sanic", "pyramid": "Pyramid", "bottle": "Bottle",
             "falcon": "Falcon", "quart": "Quart", "litestar": "Litestar", "celery": "Celery",
             "streamlit": "Streamlit", "grpcio": "gRPC"},
    "npm": {"express": "Express", "next": "Next.js", "react": "React", "vue": "Vue", "@angular/core": "Angular",
            "koa": "Koa", "fastify": "Fastify", "@nestjs/core": "NestJS", "nuxt": "Nuxt", "svelte": "Svelte",
            "@sveltejs/kit": "SvelteKit", "@hapi/hapi": "hapi", "@remix-run/node": "Remix", "gatsby": "Gatsby"},
    "go": {"github.com/gin-gonic/gin": "Gin", "github.com/labstack/echo": "Echo", "github.com/gofiber/fiber": "Fiber",
           "github.com/go-chi/chi": "chi", "github.com/gorilla/mux": "Gorilla mux", "google.golang.org/grpc": "gRPC"},
    "maven": {"org.springframework.boot": "Spring Boot", "io.quarkus": "Quarkus", "io.micronaut": "Micronaut"},
}
# Frameworks that answer HTTP requests: such a component should have a health endpoint.
WEB_FRAMEWORKS = frozenset({
    "Flask", "Django", "FastAPI", "Starlette", "Tornado", "aiohttp", "Sanic", "Pyramid", "Bottle", "Falcon", "Quart",
    "Litestar", "Express", "Next.js", "Koa", "Fastify", "NestJS", "hapi", "Remix", "Gin", "Echo", "Fiber", "chi",
    "Gorilla mux", "Spring Boot", "Quarkus", "Micronaut",
})
_LANG_OF_ECOSYSTEM = {"pypi": "python", "npm": "javascript", "go": "go", "maven": "java"}


@dataclass
class Stack:
    """What the manifests say: dependencies, entry points, Go modules, and warnings."""

    manifests: list[Manifest] = field(default_factory=list)
    dependencies: list[Dependency] = field(default_factory=list)
    entry_points: list[EntryPoint] = field(default_factory=list)
    go_modules: dict[str, str] = field(default_factory=dict)  # module path -> directory of its go.mod
    warnings: list[str] = field(default_factory=list)


def is_manifest(rel: str) -> bool:
    """Whether read_manifests reads this file (package.json, pyproject.toml, requirements*.txt, go.mod, ...)."""
    name = PurePosixPath(rel).name
    return name in MANIFESTS or bool(_REQUIREMENTS.match(name))


def read_manifests(base: Path, texts: Iterable[tuple[str, str]]) -> Stack:
    """Parse every manifest among (relative path, text) pairs."""
    stack = Stack()
    for rel, text in texts:
        name = PurePosixPath(rel).name
        try:
            _read_one(base, rel, name, text, stack)
        except (ValueError, SyntaxError, ET.ParseError, configparser.Error) as exc:
            stack.warnings.append(f"{rel}:{error_line(exc)}: could not parse {name}: {_first_line(exc)}")
    return stack


def frameworks(dependencies: Iterable[Dependency]) -> list[WebFramework]:
    """Frameworks among the dependencies, one per (framework, manifest), the version as declared."""
    found: dict[tuple[str, str], WebFramework] = {}
    for dep in dependencies:
        name = framework_of(dep)
        if name is None:
            continue
        key = (name, dep.where.path)
        if key not in found or (found[key].version is None and dep.version):
            found[key] = WebFramework(name=name, version=dep.version, language=_LANG_OF_ECOSYSTEM.get(dep.ecosystem,
                                   dep.ecosystem), path=dep.where.path)
    return sorted(found.values(), key=lambda f: (f.path, f.name))


def framework_of(dep: Dependency) -> str | None:
    """The framework a dependency is, or None."""
    table = FRAMEWORKS.get(dep.ecosystem, {})
    if dep.ecosystem == "go":
        return next((fw for prefix, fw in table.items() if dep.name == prefix or dep.name.startswith(prefix + "/")),
                    None)
    if dep.ecosystem == "maven":
        return next((fw for group, fw in table.items() if dep.name.startswith(group + ":")), None)
    return table.get(normalise(dep.name))


def normalise(name: str) -> str:
    """PyPI-style name normalisation (PEP 503), harmless for npm names."""
    return re.sub(r"[-_.]+", "-", name).lower()


def _read_one(base: Path, rel: str, name: str, text: str, stack: Stack) -> None:
    kind = name if name in MANIFESTS else "requirements.txt"
    manager, ecosystem = MANIFESTS.get(name, ("pip", "pypi"))
    deps: list[Dependency] = []
    project: str | None = None

    def dep(dep_name: str, version: str | None, line: int = 1, eco: str = ecosystem) -> None:
        deps.append(Dependency(name=dep_name, version=version or None, ecosystem=eco, where=Where(path=rel, line=line)))

    if kind == "requirements.txt":
        for i, line in enumerate(text.splitlines(), 1):
            parsed = _pep508(line.split(" #", 1)[0])
            if parsed:
                dep(*parsed, line=i)
    elif name == "pyproject.toml":
        data = tomllib.loads(text)
        proj = data.get("project", {})
        poetry = data.get("tool", {}).get("poetry", {})
        if poetry:
            manager = "poetry"
        elif (base / PurePosixPath(rel).parent / "uv.lock").exists():
            manager = "uv"
        project = proj.get("name") or poetry.get("name")
        for spec in _strings(proj.get("dependencies")):
            parsed = _pep508(spec)
            if parsed:
                dep(*parsed, line=line_of(text, spec))
        for dep_name, spec in (poetry.get("dependencies") or {}).items():
            if dep_name.lower() != "python":
                version = spec if isinstance(spec, str) else spec.get("version") if isinstance(spec, dict) else None
                dep(dep_name, version, line_of(text, dep_name))
        for script, target in {**proj.get("scripts", {}), **poetry.get("scripts", {})}.items():
            stack.entry_points.append(EntryPoint(kind="console script", path=rel, line=line_of(text, script),
                                                 name=script, command=str(target)))
    elif name == "setup.py":
        project = _read_setup_py(rel, text, dep, stack)
    elif name == "setup.cfg":
        cfg = configparser.ConfigParser(interpolation=None)
        cfg.read_string(text)
        project = cfg.get("metadata", "name", fallback=None)
        for spec in cfg.get("options", "install_requires", fallback="").splitlines():
            parsed = _pep508(spec)
            if parsed:
                dep(*parsed, line=line_of(text, spec.strip()))
        for line in cfg.get("options.entry_points", "console_scripts", fallback="").splitlines():
            if "=" in line:
                script, target = (s.strip() for s in line.split("=", 1))
                stack.entry_points.append(EntryPoint(kind="console script", path=rel, line=line_of(text, line.strip()),
                                                     name=script, command=target))
    elif name == "Pipfile":
        data = tomllib.loads(text)
        for dep_name, spec in (data.get("packages") or {}).items():
            dep(dep_name, spec if isinstance(spec, str) and spec != "*" else None, line_of(text, dep_name))
    elif name in ("package.json", "composer.json"):
        data = json.loads(text)
        if not isinstance(data, dict):
            raise ValueError("the top level is not an object")
        project = data.get("name") if isinstance(data.get("name"), str) else None
        folder = base / PurePosixPath(rel).parent
        if name == "package.json":
            manager = "pnpm" if (folder / "pnpm-lock.yaml").exists() else "yarn" if (folder / "yarn.lock").exists() \
                else "npm"
        for section in ("dependencies", "devDependencies", "require"):
            for dep_name, version in (data.get(section) or {}).items():
                dep(dep_name, str(version), line_of(text, f'"{dep_name}"'))
        for script, command in (data.get("scripts") or {}).items():
            if script in ("start", "serve", "dev", "main") or script.startswith("start:"):
                stack.entry_points.append(EntryPoint(kind="package script", path=rel, name=script,
                                                     line=line_of(text, f'"{script}"'), command=str(command)))
        if isinstance(data.get("main"), str):
            stack.entry_points.append(EntryPoint(kind="package main", path=rel, line=line_of(text, '"main"'),
                                                 command=data["main"]))
    elif name == "go.mod":
        project = _read_go_mod(rel, text, dep)
        if project:
            stack.go_modules[project] = str(PurePosixPath(rel).parent)
    elif name == "pom.xml":
        project = _read_pom(rel, text, dep)
    elif name in ("build.gradle", "build.gradle.kts"):
        for m in re.finditer(r"""["']([\w.-]+):([\w.-]+):([\w.+-]+)["']""", text):
            dep(f"{m[1]}:{m[2]}", m[3], line_at(text, m.start()))
        for m in re.finditer(r"""id\s*\(?\s*["']org\.springframework\.boot["']\s*\)?\s*version\s*["']([\w.-]+)""",
                             text):
            dep("org.springframework.boot:plugin", m[1], line_at(text, m.start()))
    elif name == "Cargo.toml":
        data = tomllib.loads(text)
        project = data.get("package", {}).get("name")
        for dep_name, spec in (data.get("dependencies") or {}).items():
            dep(dep_name, spec if isinstance(spec, str) else None, line_of(text, dep_name))
    elif name == "Gemfile":
        for i, line in enumerate(text.splitlines(), 1):
            gem = re.match(r"""\s*gem\s+["']([\w.-]+)["'](?:\s*,\s*["']([^"']+)["'])?""", line)
            if gem:
                dep(gem[1], gem[2], i)
    stack.manifests.append(Manifest(path=rel, kind=kind, package_manager=manager, name=project, dependencies=len(deps)))
    stack.dependencies += deps


_PEP508 = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:\[[^\]]*\])?\s*(\(?\s*[<>=!~][^;]*)?")


def _pep508(spec: str) -> tuple[str, str | None] | None:
    spec = spec.strip()
    if not spec or spec.startswith(("#", "-", "git+", "http:", "https:", "file:", ".", "/")):
        return None
    m = _PEP508.match(spec)
    if not m:
        return None
    version = (m[2] or "").strip().strip("()").strip() or None
    if version and version.startswith("=="):
        version = version[2:].strip()
    return m[1], version


def _strings(value: object) -> list[str]:
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


def _read_setup_py(rel: str, text: str, dep: Any, stack: Stack) -> str | None:
    """The literal arguments of setup(...): never run the file."""
    project = None
    for node in ast.walk(ast.parse(text)):
        if not (isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", "")) == "setup"):
            continue
        for kw in node.keywords:
            try:
                value = ast.literal_eval(kw.value)
            except ValueError:
                continue
            if kw.arg == "name" and isinstance(value, str):
                project = value
            elif kw.arg == "install_requires":
                for spec in _strings(value):
                    parsed = _pep508(spec)
                    if parsed:
                        dep(*parsed, line=kw.value.lineno)
            elif kw.arg == "entry_points" and isinstance(value, dict):
                for line in _strings(value.get("console_scripts")):
                    script, _, target = line.partition("=")
                    stack.entry_points.append(EntryPoint(kind="console script", path=rel, line=kw.value.lineno,
                                                         name=script.strip(), command=target.strip()))
    return project


def _read_go_mod(rel: str, text: str, dep: Any) -> str | None:
    module = None
    in_block = False
    for i, raw in enumerate(text.splitlines(), 1):
        line = raw.split("//", 1)[0].strip()
        if line.startswith("module "):
            module = line.split(None, 1)[1].strip().strip('"')
        elif line.startswith("require ("):
            in_block = True
        elif in_block and line == ")":
            in_block = False
        elif in_block or line.startswith("require "):
            parts = line.removeprefix("require ").split()
            if len(parts) >= 2:
                dep(parts[0], parts[1], i)
    return module


def _read_pom(rel: str, text: str, dep: Any) -> str | None:
    root = ET.fromstring(text)
    ns = {"m": root.tag[1:].split("}")[0]} if root.tag.startswith("{") else {}
    p = "m:" if ns else ""

    def find(node: ET.Element, path: str) -> str | None:
        found = node.find("/".join(p + part for part in path.split("/")), ns)
        return found.text.strip() if found is not None and found.text else None

    parent = root.find(f"{p}parent", ns)
    if parent is not None:
        group, artifact = find(parent, "groupId"), find(parent, "artifactId")
        if group and artifact:
            dep(f"{group}:{artifact}", find(parent, "version"), line_of(text, f"<artifactId>{artifact}<"))
    for d in root.iterfind(f".//{p}dependencies/{p}dependency", ns):
        group, artifact = find(d, "groupId"), find(d, "artifactId")
        if group and artifact:
            dep(f"{group}:{artifact}", find(d, "version"), line_of(text, f"<artifactId>{artifact}<"))
    return find(root, "artifactId")


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
