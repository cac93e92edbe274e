"""What a repository is built from: one ServiceSpec per deployable directory (root, or frontend + backend).

Reads manifests only (package.json, pyproject.toml, requirements.txt, go.mod, pom.xml, build.gradle);
never runs anything from the repository. Blocking: call from a worker thread.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Literal

from devops_orchestra.models.pipeline import ServiceSpec

Language = Literal["python", "node", "go", "java"]

# Images pinned to a release; bump them together and re-run the generator tests.
IMAGES = {
    "python": "python:3.12.8-slim-bookworm",
    "node": "node:20.18.1-alpine3.20",
    "go_build": "golang:1.23.4-alpine3.20",
    "go_run": "alpine:3.20.3",
    "maven": "maven:3.9.9-eclipse-temurin-21",
    "gradle": "gradle:8.11.1-jdk21",
    "java_run": "eclipse-temurin:21.0.5_11-jre-alpine",
    "uv": "ghcr.io/astral-sh/uv:0.5.11",
}
POETRY_VERSION = "1.8.5"

COMPONENT_DIRS = ("frontend", "backend", "web", "api", "client", "server", "app", "worker")
GROUP_DIRS = ("apps", "services", "packages")
# Manifests of stacks without a template: the LLM path drafts a Dockerfile, or the person is told.
OTHER_STACKS = {"Cargo.toml": "rust", "Gemfile": "ruby", "composer.json": "php", "mix.exs": "elixir",
                "build.sbt": "scala", "Package.swift": "swift"}
DATASTORES = {
    "postgres": re.compile(r"psycopg|asyncpg|\bpg\b|\"pg\"|postgres|org\.postgresql|lib/pq|jackc/pgx"),
    "mysql": re.compile(r"mysql|pymysql|mariadb"),
    "redis": re.compile(r"\bredis\b|\"redis\"|ioredis|go-redis|jedis|lettuce"),
    "mongodb": re.compile(r"pymongo|mongoose|mongodb|motor\b"),
}



def dns_name(text: str) -> str:
    """text as a DNS-safe name (lower case letters, digits and -, at most 50); "app" when nothing is left."""
    name = re.sub(r"[^a-z0-9-]+", "-", text.lower()).strip("-")[:50].strip("-")
    return name or "app"


def detect(root: Path) -> list[ServiceSpec]:
    """The components under root: subdirectories such as frontend/ and backend/ with manifests of their
    own, else the root itself. Empty when nothing recognisable is there."""
    subdirs = [root / d for d in COMPONENT_DIRS] + [
        p for g in GROUP_DIRS if (root / g).is_dir() for p in sorted((root / g).iterdir())]
    found = [c for d in subdirs if d.is_dir() and (c := detect_one(root, d)) is not None]
    if found:
        return found
    single = detect_one(root, root)
    return [single] if single else []


def detect_one(root: Path, d: Path) -> ServiceSpec | None:
    """The component in directory d, by the manifest it holds (package.json, pyproject.toml, go.mod, ...), or None."""
    rel = d.relative_to(root).as_posix()
    name = dns_name(root.name if rel == "." else f"{root.name}-{d.name}" if d.name in COMPONENT_DIRS else d.name)
    if (d / "package.json").is_file():
        return _node(d, name, rel)
    if any((d / m).is_file() for m in ("pyproject.toml", "requirements.txt", "Pipfile", "setup.py")):
        return _python(d, name, rel)
    if (d / "go.mod").is_file():
        return _go(d, name, rel)
    if (d / "pom.xml").is_file() or (d / "build.gradle").is_file() or (d / "build.gradle.kts").is_file():
        return _java(d, name, rel)
    for manifest, language in OTHER_STACKS.items():
        if (d / manifest).is_file():
            return ServiceSpec(name=name, path=rel, language=language, supported=False)
    return None


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""


def _datastores(text: str) -> list[str]:
    return [name for name, pattern in DATASTORES.items() if pattern.search(text.lower())]


def _python(d: Path, name: str, rel: str) -> ServiceSpec:
    pyproject = _read(d / "pyproject.toml")
    deps = (pyproject + _read(d / "requirements.txt") + _read(d / "Pipfile")).lower()
    if (d / "uv.lock").is_file():
        pm = "uv"
    elif (d / "poetry.lock").is_file() or "[tool.poetry]" in pyproject:
        pm = "poetry"
    else:
        pm = "pip"
    c = ServiceSpec(name=name, path=rel, language="python", package_manager=pm, port=8000,
                  language_version="3.12", datastores=_datastores(deps))

    def has(dep: str) -> bool:
        return re.search(rf"(^|[\s\"'\[,]){dep}\b", deps, re.M) is not None

    if has("django") or (d / "manage.py").is_file():
        c.framework = "django"
        wsgi = next((p for p in sorted(d.glob("*/wsgi.py"))), None)
        module = f"{wsgi.parent.name}.wsgi" if wsgi else "config.wsgi"
        c.start = (["gunicorn", "--bind", "0.0.0.0:8000", f"{module}:application"] if has("gunicorn")
                   else ["python", "manage.py", "runserver", "0.0.0.0:8000"])
        c.notes.append("Django: migrations and collectstatic are not run by the image; run them as a release "
                       "step (a Kubernetes Job or a CI step) before the new version takes traffic.")
    elif has("fastapi"):
        c.framework = "fastapi"
        target = _app_object(d, "FastAPI")
        if has("uvicorn"):
            c.start = ["uvicorn", target, "--host", "0.0.0.0", "--port", "8000"]
        else:
            c.start = ["python", "-m", "uvicorn", target, "--host", "0.0.0.0", "--port", "8000"]
            c.notes.append("uvicorn is not among the dependencies: add it, the image starts the app with it.")
    elif has("flask"):
        c.framework = "flask"
        target = _app_object(d, "Flask")
        c.start = (["gunicorn", "--bind", "0.0.0.0:8000", target] if has("gunicorn")
                   else ["flask", "--app", target, "run", "--host", "0.0.0.0", "--port", "8000"])
    else:
        main = next((f for f in ("main.py", "app.py", "server.py") if (d / f).is_file()), "main.py")
        c.start = ["python", main]
    if c.start[0] in ("flask",) or c.start[1:3] == ["manage.py", "runserver"]:
        c.notes.append("The image runs the framework's development server: add gunicorn to the dependencies "
                       "and generate again for a production server.")
    uses_pytest = has("pytest") or (d / "pytest.ini").is_file() or (d / "conftest.py").is_file()
    runner = {"poetry": "poetry run ", "uv": "uv run "}.get(pm, "")
    if uses_pytest:
        c.test_command = f"{runner}pytest"
    elif c.framework == "django":
        c.test_command = f"{runner}python manage.py test"
    elif (d / "tests").is_dir():
        c.test_command = f"{runner}python -m unittest discover -s tests"
    return c


def _app_object(d: Path, cls: str) -> str:
    """module:variable of the first `x = Flask(...)` / `x = FastAPI(...)` found, shallowest file first."""
    pattern = re.compile(rf"^(\w+)\s*=\s*{cls}\(", re.M)
    files = sorted((p for p in d.rglob("*.py") if not any(
        part in {".venv", "venv", "node_modules", "tests", "test"} for part in p.relative_to(d).parts)),
        key=lambda p: (len(p.relative_to(d).parts), p.as_posix()))
    for path in files[:300]:
        m = pattern.search(_read(path))
        if m:
            module = ".".join(path.relative_to(d).with_suffix("").parts)
            return f"{module}:{m.group(1)}"
    return "app:app"


def _node(d: Path, name: str, rel: str) -> ServiceSpec:
    try:
        pkg = json.loads(_read(d / "package.json") or "{}")
    except ValueError:
        pkg = {}
    deps = {**pkg.get("dependencies", {}), **pkg.get("devDependencies", {})}
    scripts = pkg.get("scripts", {}) or {}
    pm = "pnpm" if (d / "pnpm-lock.yaml").is_file() else "yarn" if (d / "yarn.lock").is_file() else "npm"
    c = ServiceSpec(name=name, path=rel, language="node", package_manager=pm, port=3000,
                  build_script="build" in scripts, datastores=_datastores(json.dumps(deps)))
    engines = str((pkg.get("engines") or {}).get("node", ""))
    c.language_version = (m.group() if (m := re.search(r"\d+", engines)) else "20")
    if "next" in deps:
        c.framework = "nextjs"
        c.start = ["node_modules/.bin/next", "start", "-p", "3000"]
    else:
        c.framework = "express" if "express" in deps else None
        start = str(scripts.get("start", ""))
        m = re.fullmatch(r"node\s+([\w./-]+)", start.strip())
        entry = m.group(1) if m else str(pkg.get("main") or "index.js")
        c.start = ["node", entry]
        port = re.search(r"PORT\s*\|\|\s*(\d{2,5})|listen\((\d{2,5})", _read(d / entry))
        if port:
            c.port = int(port.group(1) or port.group(2))
    test = str(scripts.get("test", ""))
    if test and "no test specified" not in test:
        c.test_command = f"{pm} test" if pm != "npm" else "npm test"
    return c


def _go(d: Path, name: str, rel: str) -> ServiceSpec:
    gomod = _read(d / "go.mod")
    version = m.group(1) if (m := re.search(r"^go\s+(\d+\.\d+)", gomod, re.M)) else "1.23"
    main = "."
    if not (d / "main.go").is_file():
        cmds = sorted(p.parent for p in d.glob("cmd/*/main.go"))
        if cmds:
            main = "./" + cmds[0].relative_to(d).as_posix()
    return ServiceSpec(name=name, path=rel, language="go", package_manager="go", port=8080, start=["/app/server"],
                     test_command="go test ./...", go_main=main, language_version=version,
                     datastores=_datastores(gomod))


def _java(d: Path, name: str, rel: str) -> ServiceSpec:
    maven = (d / "pom.xml").is_file()
    text = _read(d / "pom.xml") if maven else _read(d / "build.gradle") + _read(d / "build.gradle.kts")
    c = ServiceSpec(name=name, path=rel, language="java", package_manager="maven" if maven else "gradle",
                  port=8080, start=["java", "-XX:MaxRAMPercentage=75", "-jar", "/app/app.jar"],
                  language_version="21", datastores=_datastores(text))
    c.framework = "spring-boot" if "spring-boot" in text else None
    if maven:
        c.test_command = "mvn -B test"
    else:
        c.test_command = "./gradlew test" if (d / "gradlew").is_file() else "gradle test"
    return c

