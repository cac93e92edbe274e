"""What a repository is built from: one ServiceSpec per deployable directory (root, or frontend + backend).

Reads manifests only (package.json, pyproject.toml, requirements.txt, go.mod, pom.xml, build.gradle);
never runs anything from the repository. Blocking: call from a worker thread.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Literal

from devops_orchestra.models.pipeline import ServiceSpec
from devops_orchestra.pipeline import commands, declared, listens

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
        return _node(d, name, rel, declared.read(root, d))
    if any((d / m).is_file() for m in ("pyproject.toml", "requirements.txt", "Pipfile", "setup.py")):
        return _python(d, name, rel, declared.read(root, d))
    if (d / "go.mod").is_file():
        return _built(_go(d, name, rel), declared.read(root, d))
    if (d / "pom.xml").is_file() or (d / "build.gradle").is_file() or (d / "build.gradle.kts").is_file():
        return _built(_java(d, name, rel), declared.read(root, d))
    for manifest, language in OTHER_STACKS.items():
        if (d / manifest).is_file():
            return ServiceSpec(name=name, path=rel, language=language, supported=False)
    return None


_read = listens.read_text


def _datastores(text: str) -> list[str]:
    return [name for name, pattern in DATASTORES.items() if pattern.search(text.lower())]


def _python(d: Path, name: str, rel: str, said: declared.Declared) -> ServiceSpec:
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

    main = listens.python_main(d)
    # The port before the command: the default commands carry it. What the code passes beats what files say.
    hint = (main.port if main and main.port else None) or (said.ports[0] if said.ports else None)
    port = hint.number if hint else 8000
    c.port = port
    c.port_from = hint.source if hint else "default for Python web servers (nothing in the repository says)"
    django = has("django") or (d / "manage.py").is_file()
    if django:
        c.framework = "django"
    elif has("fastapi"):
        c.framework = "fastapi"
    elif has("flask"):
        c.framework = "flask"
    if said.start:
        c.start, c.start_from = said.start.argv, said.start.source
    elif django:
        module, c.start_from = _wsgi_module(d)
        c.start = (["gunicorn", "--bind", f"0.0.0.0:{port}", f"{module}:application"] if has("gunicorn")
                   else ["python", "manage.py", "runserver", f"0.0.0.0:{port}"])
    elif c.framework == "fastapi":
        target = _app_object(d, "FastAPI")
        c.start_from = f"the FastAPI application object {target}"
        if has("uvicorn"):
            c.start = ["uvicorn", target, "--host", "0.0.0.0", "--port", str(port)]
        else:
            c.start = ["python", "-m", "uvicorn", target, "--host", "0.0.0.0", "--port", str(port)]
            c.notes.append("uvicorn is not among the dependencies: add it, the image starts the app with it.")
    elif c.framework == "flask":
        target = _app_object(d, "Flask")
        c.start_from = f"the Flask application object {target}"
        c.start = (["gunicorn", "--bind", f"0.0.0.0:{port}", target] if has("gunicorn")
                   else ["flask", "--app", target, "run", "--host", "0.0.0.0", "--port", str(port)])
    elif main:
        c.start, c.start_from = main.argv(), f"{main.file}: its __main__ block calls {main.call}()"
        c.notes += main.notes
    else:
        entry = next((f for f in ("main.py", "app.py", "server.py") if (d / f).is_file()), None)
        c.start = ["python", entry or "main.py"]
        c.start_from = (f"{entry}, by its name" if entry else "default: no Procfile, Dockerfile CMD, compose "
                        "command nor __main__ block that starts a server was found")
    _settle_port(d, c, said)
    if c.framework == "django":
        c.notes.append("Django: migrations and collectstatic are not run by the image; run them as a release "
                       "step (a Kubernetes Job or a CI step) before the new version takes traffic.")
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


def _wsgi_module(d: Path) -> tuple[str, str]:
    """(the WSGI module, where it came from): manage.py's DJANGO_SETTINGS_MODULE package, else a */wsgi.py."""
    m = re.search(r"DJANGO_SETTINGS_MODULE['\"]\s*,\s*['\"]([\w.]+)\.settings\b", _read(d / "manage.py"))
    if m and (d / m.group(1).replace(".", "/") / "wsgi.py").is_file():
        return f"{m.group(1)}.wsgi", f"manage.py (DJANGO_SETTINGS_MODULE {m.group(1)}.settings)"
    wsgi = next((p for p in sorted(d.glob("*/wsgi.py"))), None)
    if wsgi:
        return f"{wsgi.parent.name}.wsgi", f"{wsgi.relative_to(d).as_posix()}"
    return "config.wsgi", "default: no */wsgi.py found"


def _settle_port(d: Path, c: ServiceSpec, said: declared.Declared) -> None:
    """A port the start command names wins; $PORT in it becomes the port (exec form expands no variables)."""
    named = listens.command_port(d, c.start)
    if named is None and (default := commands.env_port_default(c.start)):
        named = listens.Port(number=default, source="the start command's ${PORT:-default}")
    if named is not None and named.number != c.port:
        c.port, c.port_from = named.number, f"{named.source} ({c.start_from})"
    c.start = commands.with_port(c.start, c.port)
    c.notes += said.notes


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


def _node(d: Path, name: str, rel: str, said: declared.Declared) -> ServiceSpec:
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
    start = str(scripts.get("start", ""))
    m = re.fullmatch(r"node\s+([\w./-]+)", start.strip())
    c.framework = "nextjs" if "next" in deps else "express" if "express" in deps else None
    said_start = said.start.argv if said.start else None
    said_from = said.start.source if said.start else ""
    if said_start and said_start[0] in ("npm", "yarn", "pnpm") and said_start[1:] in (["start"], ["run", "start"]) \
            and m:  # `npm start` is package.json's start script: run node directly (signals reach it)
        c.start, c.start_from = ["node", m.group(1)], f"{said_from} -> package.json scripts.start"
    elif said_start:
        c.start, c.start_from = said_start, said_from
    elif c.framework == "nextjs":
        c.start, c.start_from = ["node_modules/.bin/next", "start", "-p", "3000"], "Next.js's production server"
    else:
        entry, c.start_from = _node_entry(d, pkg, m.group(1) if m else None)
        c.start = ["node", entry]
    entry_file = declared.start_path(c.start)
    code = listens.node_port(d, entry_file) if entry_file else None
    hint = code or (said.ports[0] if said.ports else None)
    c.port, c.port_from = (hint.number, hint.source) if hint else (3000, "default for Node servers (nothing in "
                                                                          "the repository says)")
    if c.start[:1] == ["node_modules/.bin/next"]:
        c.start = ["node_modules/.bin/next", "start", "-p", str(c.port)]
    _settle_port(d, c, said)
    test = str(scripts.get("test", ""))
    if test and "no test specified" not in test:
        c.test_command = f"{pm} test" if pm != "npm" else "npm test"
    return c


def _node_entry(d: Path, pkg: dict[str, Any], start: str | None) -> tuple[str, str]:
    """(the file node runs, where it came from): scripts.start, else main when it exists, else a file another
    script runs with node or nodemon (docker/getting-started-app's `dev: nodemon src/index.js`)."""
    if start:
        return start, "package.json scripts.start"
    main = str(pkg.get("main") or "")
    if main and (d / main).is_file():
        return main, "package.json main"
    for name, script in (pkg.get("scripts") or {}).items():
        m = re.search(r"\b(?:node|nodemon)(?:\s+-\S+)*\s+([\w./-]+\.[cm]?js)\b", str(script))
        if m and (d / m.group(1)).is_file():
            return m.group(1), f"package.json scripts.{name} (`{script}`)"
    if main:
        return main, "package.json main (the file is not there)"
    return "index.js", "default: index.js (package.json has no start script nor main)"


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


def _built(c: ServiceSpec, said: declared.Declared) -> ServiceSpec:
    """Go and Java run the binary or jar the build stage makes; only the port comes from the repository."""
    c.start_from = "the build stage's output"
    if said.ports:
        c.port, c.port_from = said.ports[0].number, said.ports[0].source
    else:
        c.port_from = "default for Go and Java servers (nothing in the repository says)"
    c.notes += said.notes
    return c


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

