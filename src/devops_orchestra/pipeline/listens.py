"""Which port the code listens on: a Python __main__ block's run call, a Node entry's listen, a config file.

Read with ast and regular expressions; nothing from the repository is run. Blocking: call from a thread.
"""

from __future__ import annotations

import ast
import itertools
import json
import re
from pathlib import Path, PurePosixPath

import yaml
from pydantic import BaseModel

from devops_orchestra.pipeline import commands

# Calls that start a server from a __main__ block: aiohttp's run_app, uvicorn.run, app.run (Flask, Sanic...).
RUN_CALLS = ("run_app", "run")
APP_NAMES = ("app", "application", "api", "server", "uvicorn", "socketio", "web")
APP_FACTORIES = ("Flask", "FastAPI", "Quart", "Sanic", "Bottle", "SocketIO", "create_app", "make_app", "Application")
LOCAL_HOSTS = ("127.0.0.1", "localhost")
_CONFIG_NAME = re.compile(r"""["']([\w./-]+\.(?:ya?ml|json))["']""")
_NODE_PORT = re.compile(r"PORT\s*(?:\|\||\?\?)\s*['\"]?(\d{2,5})|\.listen\(\s*(\d{2,5})")


class Port(BaseModel):
    """A port and where it came from (a file and what in it), for the report."""

    number: int
    source: str


class MainBlock(BaseModel):
    """A Python file whose __main__ block starts a server: the call, the port it passes, what we could not tell."""

    file: str  # relative to the component
    call: str
    port: Port | None = None
    notes: list[str] = []

    def argv(self) -> list[str]:
        """How to run it: `python run.py` at the top, `python -m pkg.main` inside a package (its imports work)."""
        if "/" not in self.file:
            return ["python", self.file]
        return ["python", "-m", self.file.removesuffix(".py").replace("/", ".")]


def read_text(path: Path) -> str:
    """A repository file's text; empty when it cannot be read (a missing file says nothing)."""
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""


def python_main(d: Path) -> MainBlock | None:
    """The first Python file at the top of d (run.py, main.py, app.py, server.py, then the rest by name) whose
    __main__ block calls run_app / uvicorn.run / app.run."""
    preferred = ["run.py", "main.py", "app.py", "server.py", "wsgi.py", "asgi.py"]
    files = [d / f for f in preferred if (d / f).is_file()]
    files += sorted(p for p in d.glob("*.py") if p.name not in preferred and p.name not in ("setup.py", "manage.py"))
    files += sorted(p for name in ("main.py", "app.py", "server.py") for p in d.glob(f"*/{name}")
                    if p.parent.name not in ("tests", "test", "docs", "examples")
                    and (p.parent / "__init__.py").is_file())  # a package's entry: python -m pkg.main
    for path in files[:50]:
        found = main_block(d, path)
        if found:
            return found
    return None


def main_block(d: Path, path: Path) -> MainBlock | None:
    """The server start in path's `if __name__ == "__main__":` block, or None."""
    try:
        tree = ast.parse(read_text(path))
    except (SyntaxError, ValueError):
        return None
    rel = path.relative_to(d).as_posix()
    functions = {f.name: f for f in tree.body if isinstance(f, ast.FunctionDef | ast.AsyncFunctionDef)}
    for node in tree.body:
        if isinstance(node, ast.If) and _is_main_test(node.test):
            calls = [n for stmt in node.body for n in ast.walk(stmt) if isinstance(n, ast.Call)]
            # `if __name__ == "__main__": main()`: the server starts in main(), one call deep
            calls += [n for c in list(calls) if isinstance(c.func, ast.Name) and c.func.id in functions
                      for n in ast.walk(functions[c.func.id]) if isinstance(n, ast.Call)]
            for call in calls:
                name = _call_name(tree, call)
                if name is None:
                    continue
                block = MainBlock(file=rel, call=ast.unparse(call.func))
                uvicorn = block.call == "uvicorn.run"  # uvicorn.run(app, host, port): the app comes first
                port_arg = _argument(call, "port", (2 if uvicorn else 1) if name == "run" else None)
                host_arg = _argument(call, "host", (1 if uvicorn else 0) if name == "run" else None)
                if port_arg is not None:
                    block.port = _port_of(d, tree, port_arg, rel, block.notes)
                elif name == "run":
                    block.port = Port(number=5000 if _is_flask(tree) and not uvicorn else 8000,
                                      source=f"{rel}: {block.call}() without a port (the framework's default)")
                else:
                    block.port = Port(number=8080, source=f"{rel}: run_app() without a port (aiohttp's default)")
                host = _constant(tree, host_arg)
                if (host_arg is None and name == "run") or host in LOCAL_HOSTS:
                    block.notes.append(f"{rel}: {block.call}() listens on {host or 'localhost'} only, which is "
                                       "not reachable from outside a container: pass host='0.0.0.0'.")
                return block
    return None


def _is_main_test(test: ast.expr) -> bool:
    return (isinstance(test, ast.Compare) and isinstance(test.left, ast.Name) and test.left.id == "__name__"
            and any(isinstance(c, ast.Constant) and c.value == "__main__" for c in test.comparators))


def _call_name(tree: ast.Module, call: ast.Call) -> str | None:
    """run_app or run when the call starts a server: x.run() only on an application (asyncio.run does not)."""
    func = call.func
    if isinstance(func, ast.Name):
        return "run_app" if func.id == "run_app" else None
    if not isinstance(func, ast.Attribute) or func.attr not in RUN_CALLS:
        return None
    if func.attr == "run_app":
        return "run_app"
    receiver = func.value.id if isinstance(func.value, ast.Name) else None
    if receiver in APP_NAMES:
        return "run"
    made = _assigned(tree, receiver) if receiver else None
    if isinstance(made, ast.Call) and ast.unparse(made.func).split(".")[-1] in APP_FACTORIES:
        return "run"
    return None


def _is_flask(tree: ast.Module) -> bool:
    return "Flask(" in ast.unparse(tree)


def _argument(call: ast.Call, keyword: str, position: int | None) -> ast.expr | None:
    for kw in call.keywords:
        if kw.arg == keyword:
            return kw.value
    if position is not None and len(call.args) > position:
        return call.args[position]
    return None


def _assigned(tree: ast.Module, name: str) -> ast.expr | None:
    """The last value assigned to name anywhere in the module."""
    value = None
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == name for t in node.targets):
            value = node.value
    return value


def _constant(tree: ast.Module, expr: ast.expr | None) -> str | int | None:
    if isinstance(expr, ast.Name):
        expr = _assigned(tree, expr.id)
    if isinstance(expr, ast.Constant) and isinstance(expr.value, str | int) and not isinstance(expr.value, bool):
        return expr.value
    return None


def _port_of(d: Path, tree: ast.Module, expr: ast.expr, rel: str, notes: list[str]) -> Port | None:
    """The port an expression stands for: a literal, int(os.environ.get("PORT", 5000)), or config["app"]["port"]
    read from a YAML/JSON file the code names."""
    if isinstance(expr, ast.Name):
        expr = _assigned(tree, expr.id) or expr
    while isinstance(expr, ast.Call) and isinstance(expr.func, ast.Name) and expr.func.id == "int" and expr.args:
        expr = expr.args[0]
    if isinstance(expr, ast.Constant) and isinstance(expr.value, int | str) and str(expr.value).isdigit():
        return Port(number=int(expr.value), source=f"{rel}: the port its __main__ block passes")
    text = ast.unparse(expr)
    env = re.search(r"""(?:environ\.get|getenv)\(\s*['"](\w+)['"]\s*,\s*['"]?(\d{2,5})""", text)
    if env:
        return Port(number=int(env.group(2)), source=f"{rel}: ${env.group(1)}, default {env.group(2)}")
    keys = _subscript_keys(expr)
    if keys:
        found = config_value(d, keys)
        if found:
            return Port(number=found[1], source=f"{found[0]} {'.'.join(keys)} (read by {rel})")
        notes.append(f"{rel}: the port comes from configuration key {'.'.join(keys)}, found in no YAML or JSON "
                     "file the code names: the port is a default.")
        return None
    notes.append(f"{rel}: cannot tell the port from `{text[:80]}`: the port is a default.")
    return None


def _subscript_keys(expr: ast.expr) -> list[str]:
    """config["app"]["port"] -> ["app", "port"] (the outermost name dropped)."""
    keys: list[str] = []
    while isinstance(expr, ast.Subscript) and isinstance(expr.slice, ast.Constant) \
            and isinstance(expr.slice.value, str):
        keys.insert(0, expr.slice.value)
        expr = expr.value
    if keys and isinstance(expr, ast.Subscript):
        return keys  # app["config"]["app"]["port"]: the chain under a non-literal subscript
    return keys[1:] if keys and keys[0] in ("config", "settings", "conf") and len(keys) > 1 else keys


def config_value(d: Path, keys: list[str]) -> tuple[str, int] | None:
    """(file, value) of the first YAML/JSON file named in d's Python code that holds an int at keys, trying the
    key path and its tails (app["config"]["app"]["port"] is app.port of the file)."""
    named: list[str] = []
    sources = sorted((p for p in d.rglob("*.py") if not {".venv", "venv", "node_modules", "tests"}
                      & set(p.relative_to(d).parts)), key=lambda p: (len(p.relative_to(d).parts), p.as_posix()))
    for path in sources[:300]:
        named += [m for m in _CONFIG_NAME.findall(read_text(path)) if m not in named]
    for name in named:
        file = (d / name.removeprefix("./")).resolve()
        if not file.is_file() and "/" not in name:  # BASE_DIR / "config" / "polls.yaml": found by its name
            file = next((p.resolve() for p in sorted(d.glob(f"*/{name}")) if p.parent.name != "tests"), file)
        if not file.is_file() or not file.is_relative_to(d.resolve()):
            continue
        try:
            data = json.loads(read_text(file)) if file.suffix == ".json" else yaml.safe_load(read_text(file))
        except (ValueError, yaml.YAMLError):
            continue
        for start in range(len(keys)):
            value = _walk(data, keys[start:])
            if isinstance(value, int) and not isinstance(value, bool) and 0 < value < 65536:
                return file.relative_to(d.resolve()).as_posix(), value
    return None


def _walk(data: object, keys: list[str]) -> object:
    for key in keys:
        if not isinstance(data, dict) or key not in data:
            return None
        data = data[key]
    return data


def command_port(d: Path, argv: list[str]) -> Port | None:
    """The port a start command sets: named in it (--bind :5000), or in the gunicorn config file it names
    (`bind = "0.0.0.0:5000"`, or $PORT's default there)."""
    named = commands.port_in(argv)
    if named is not None:
        return Port(number=named, source="the port the command names")
    for flag, value in itertools.pairwise(argv):
        if PurePosixPath(argv[0]).name == "gunicorn" and flag in ("-c", "--config"):
            conf = value.removeprefix("python:")
            text = read_text(d / conf)
            m = re.search(r"""environ\.get\(\s*['"]PORT['"]\s*,\s*['"]?(\d{2,5})""", text) or \
                re.search(r"""^bind\s*=.*?:(\d{2,5})\b""", text, re.M)
            if m:
                return Port(number=int(m.group(1)), source=f"{conf}: gunicorn's bind")
    return None


def node_port(d: Path, entry: str) -> Port | None:
    """The port a Node entry file listens on: `process.env.PORT || 3000` or `.listen(3000)`."""
    m = _NODE_PORT.search(read_text(d / entry))
    if m:
        return Port(number=int(m.group(1) or m.group(2)), source=f"{entry}: the port it listens on")
    return None
