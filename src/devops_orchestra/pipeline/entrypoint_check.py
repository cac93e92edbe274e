"""Does a generated Dockerfile start something that exists, on the port it exposes?

Linters check a Dockerfile's form; this checks its meaning against the build context: the file or module the
CMD/ENTRYPOINT runs is there (the context lands in WORKDIR), and EXPOSE is the port the code listens on when
that can be told. What cannot be told is a note, never a guess. Blocking: call from a thread.
"""

from __future__ import annotations

import re
from pathlib import Path, PurePosixPath

from pydantic import BaseModel, Field

from devops_orchestra.models.pipeline import ServiceSpec
from devops_orchestra.pipeline import commands, listens
from devops_orchestra.pipeline.listens import read_text
from devops_orchestra.pipeline.rendering import Rendered

ASGI_WSGI = ("gunicorn", "uvicorn", "hypercorn", "daphne", "waitress-serve")


class Issue(BaseModel):
    """A generated Dockerfile that would not run as written: where, what, and the fix."""

    rule: str  # entrypoint:missing-file, entrypoint:missing-module, entrypoint:port-mismatch
    path: str
    line: int
    title: str
    message: str
    fix: str


class Verdict(BaseModel):
    """The issues found in every generated Dockerfile, and what could not be told."""

    issues: list[Issue] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)


def check(root: Path, files: list[Rendered], components: list[ServiceSpec]) -> Verdict:
    """Check each generated Dockerfile against its component's directory (the build context)."""
    verdict = Verdict()
    by_path = {c.path: c for c in components}
    for f in files:
        if not PurePosixPath(f.path).name == "Dockerfile":
            continue
        context_rel = PurePosixPath(f.path).parent.as_posix()
        c = by_path.get(context_rel)
        context = root / context_rel
        if c is not None:
            _check_one(context, f, c, verdict)
    return verdict


def _check_one(context: Path, f: Rendered, c: ServiceSpec, verdict: Verdict) -> None:
    final = commands.final_stage(f.content)
    workdir = next((i.args for i in reversed(final) if i.keyword == "WORKDIR"), "/")
    built = [_copy_target(i.args, workdir) for i in final if i.keyword == "COPY" and "--from=" in i.args]
    entry = next((i for i in reversed(final) if i.keyword == "ENTRYPOINT"), None)
    cmd = next((i for i in reversed(final) if i.keyword == "CMD"), None)
    last = cmd or entry
    if last is None:
        verdict.issues.append(Issue(
            rule="entrypoint:no-command", path=f.path, line=len(f.content.splitlines()) or 1,
            title="The image has no CMD or ENTRYPOINT", message=f"{f.path} starts nothing.",
            fix="Add a CMD that starts the application."))
        return
    argv = (commands.argv_of(entry.args) if entry else []) + (commands.argv_of(cmd.args) if cmd else [])
    server = commands.server_command(argv) or argv
    _check_target(context, f, last.line, server, workdir, built, c, verdict)
    _check_port(context, f, final, server, workdir, c, verdict)


def _copy_target(args: str, workdir: str) -> str:
    words = [w for w in commands.argv_of(args) if not w.startswith("--")]
    target = words[-1] if words else "."
    return target if target.startswith("/") else (PurePosixPath(workdir) / target).as_posix()


def _in_context(path: str, workdir: str) -> str | None:
    """A path in the container as a path in the build context (which the templates copy to WORKDIR), or None."""
    p = PurePosixPath(path)
    if not p.is_absolute():
        return p.as_posix()
    try:
        return p.relative_to(workdir).as_posix()
    except ValueError:
        return None


def _check_target(context: Path, f: Rendered, line: int, argv: list[str], workdir: str, built: list[str],
                  c: ServiceSpec, verdict: Verdict) -> None:
    program = PurePosixPath(argv[0]).name if argv else ""
    shown = " ".join(argv)
    if any(argv[0] == b or argv[0].startswith(b.rstrip("/") + "/") for b in built):
        return  # the build stage made it (a Go binary, a jar, the Node tree)
    if program in ("python", "python3", "node", "nodemon", "bun") and len(argv) > 1:
        if argv[1] == "-m" and len(argv) > 2:
            _need_module(context, f, line, argv[2], None, shown, verdict)
        elif not argv[1].startswith("-"):
            _need_file(context, f, line, argv[1], workdir, shown, c, verdict, node=program != "python"
                       and program != "python3")
        return
    if program in ASGI_WSGI or program == "flask":
        target = _app_argument(argv)
        if target is None:
            verdict.notes.append(f"{f.path}: cannot tell which application `{shown}` serves; not checked.")
            return
        module, _, attr = target.partition(":")
        _need_module(context, f, line, module, attr or ("application" if program == "gunicorn" else None), shown,
                     verdict)
        return
    if argv[0].startswith("node_modules/.bin/"):
        return  # installed by the package manager in the build stage
    if "/" in argv[0] or argv[0].endswith((".py", ".js", ".sh")):
        _need_file(context, f, line, argv[0], workdir, shown, c, verdict, node=False)
        return
    verdict.notes.append(f"{f.path}: `{shown}` runs the program {argv[0]}; whether it is installed in the image "
                         "cannot be told from the files.")


def _app_argument(argv: list[str]) -> str | None:
    """The module[:attribute] a server command serves: flask --app X, else the first bare word with a dot or colon."""
    for i, w in enumerate(argv[1:], 1):
        if w == "--app" and i + 1 < len(argv):
            return argv[i + 1]
        if w.startswith("--app="):
            return w.split("=", 1)[1]
    options_with_values = {"--bind", "-b", "--host", "--port", "-p", "--workers", "-w", "--log-file",
                           "--worker-class", "-k", "--timeout", "-t", "--config", "-c", "--threads"}
    skip = False
    for w in argv[1:]:
        if skip:
            skip = False
            continue
        if w in options_with_values:
            skip = True
            continue
        if w.startswith("-") or w in ("run",):
            continue
        if re.fullmatch(r"[\w.]+(:[\w.()]+)?", w):
            return w
    return None


def _need_file(context: Path, f: Rendered, line: int, path: str, workdir: str, shown: str, c: ServiceSpec,
               verdict: Verdict, *, node: bool) -> None:
    rel = _in_context(path, workdir)
    if rel is None:
        verdict.notes.append(f"{f.path}: `{shown}` runs {path}, outside WORKDIR {workdir}: cannot tell whether the "
                             "image has it.")
        return
    candidates = [rel] + ([f"{rel}.js", f"{rel}/index.js"] if node else [])
    if any((context / p).is_file() for p in candidates):
        return
    found = listens.python_main(context)
    hint = f"`{' '.join(found.argv())}` (its __main__ block calls {found.call}())" if found else None
    verdict.issues.append(Issue(
        rule="entrypoint:missing-file", path=f.path, line=line, title=f"CMD runs {rel}, which is not in the image",
        message=f"`{shown}` runs {rel}, but the build context {c.path} has no such file (command from "
                f"{c.start_from or 'the template'}); the container would exit at start.",
        fix=(f"Start the application with {hint}" if hint else "Start the application with a file that exists")
        + ": name it in a Procfile `web:` line or your Dockerfile's CMD, and generate again."))


def _need_module(context: Path, f: Rendered, line: int, module: str, attr: str | None, shown: str,
                 verdict: Verdict) -> None:
    base = context / module.replace(".", "/")
    candidates = [base.parent / "__init__.py"] if module.endswith(".__init__") else \
        [base.parent / f"{base.name}.py", base / "__init__.py"]
    source = next((p for p in candidates if p.is_file()), None)
    if source is None:
        verdict.issues.append(Issue(
            rule="entrypoint:missing-module", path=f.path, line=line,
            title=f"CMD serves module {module}, which is not in the image",
            message=f"`{shown}` imports {module}, but the build context has neither {module.replace('.', '/')}.py "
                    "nor a package of that name; the server would fail to import it.",
            fix="Point the command at the module that holds the application (devops_orchestra.yaml, a Procfile "
                "`web:` line or your Dockerfile's CMD), and generate again."))
        return
    name = attr.split("(")[0] if attr else None
    if name and not re.search(rf"^(?:{re.escape(name)}\s*[:=]|def {re.escape(name)}\b|{re.escape(name)}\s*=)",
                              read_text(source), re.M):
        verdict.notes.append(f"{f.path}: {module} defines no top-level `{name}` that we could see (it may be "
                             "made by an import or a factory); check the command.")


def _check_port(context: Path, f: Rendered, final: list[commands.Instruction], argv: list[str], workdir: str,
                c: ServiceSpec, verdict: Verdict) -> None:
    exposes = [(int(w.split("/")[0]), i.line) for i in final if i.keyword == "EXPOSE" for w in i.args.split()
               if w.split("/")[0].isdigit()]
    if not exposes:
        return
    listened = _listened_port(context, final, argv, workdir)
    if listened is None:
        verdict.notes.append(f"{f.path}: cannot tell which port `{' '.join(argv)}` listens on; EXPOSE "
                             f"{exposes[0][0]} is from {c.port_from or 'a default'}.")
        return
    if all(number != listened.number for number, _ in exposes):
        number, line = exposes[0]
        verdict.issues.append(Issue(
            rule="entrypoint:port-mismatch", path=f.path, line=line,
            title=f"EXPOSE {number}, but the application listens on {listened.number}",
            message=f"The container listens on {listened.number} ({listened.source}); EXPOSE, the health check and "
                    f"the Service would all point at {number}.",
            fix=f"EXPOSE {listened.number} and check that port in the HEALTHCHECK, or start the server on "
                f"{number}; in the repository, a Dockerfile EXPOSE or compose `ports:` beside the code that "
                "disagrees is what to correct."))


def _listened_port(context: Path, final: list[commands.Instruction], argv: list[str],
                   workdir: str) -> listens.Port | None:
    named = listens.command_port(context, argv)
    if named is not None:
        return named
    program = PurePosixPath(argv[0]).name if argv else ""
    if program in ("python", "python3") and argv[1:2] == ["-m"] and len(argv) > 2:
        module = context / argv[2].replace(".", "/")
        path = next((p for p in (module.parent / f"{module.name}.py", module / "__main__.py") if p.is_file()), None)
        block = listens.main_block(context, path) if path else None
        return block.port if block else None
    if program in ("python", "python3") and len(argv) > 1 and (rel := _in_context(argv[1], workdir)):
        block = listens.main_block(context, context / rel) if (context / rel).is_file() else None
        return block.port if block else None
    if program in ("node", "nodemon", "bun") and len(argv) > 1 and (rel := _in_context(argv[1], workdir)):
        code = listens.node_port(context, rel)
        env = _env_port(final)
        if code and env is not None and re.search(r"PORT\s*(\|\||\?\?)", read_text(context / rel)):
            return listens.Port(number=env, source=f"{rel} reads $PORT, which the image sets to {env}")
        return code
    return None


def _env_port(final: list[commands.Instruction]) -> int | None:
    for i in final:
        if i.keyword == "ENV":
            m = re.search(r"\bPORT[= ](\d{2,5})\b", i.args)
            if m:
                return int(m.group(1))
    return None



__all__ = ["Issue", "Verdict", "check"]
