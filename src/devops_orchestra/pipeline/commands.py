"""Start commands as words: Dockerfile instructions, shell wrappers taken off, the port a command names.

Shared by declared.py (what the repository says) and entrypoint_check.py (what a generated Dockerfile runs).
"""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass
from pathlib import PurePosixPath

# Programs that start an application server (a command's last segment that starts with one is the server).
RUNNERS = frozenset({"python", "python3", "gunicorn", "uvicorn", "hypercorn", "daphne", "waitress-serve",
                     "flask", "node", "npm", "yarn", "pnpm", "java", "nodemon", "forever", "pm2", "bun", "deno"})
# Wrappers that wait for a dependency and then run what follows `--`.
WAITERS = frozenset({"wait-for", "wait-for-it", "wait-for-it.sh", "wait-for.sh", "dockerize"})
_PORT_ENV = re.compile(r"\$\{?PORT(?::?-(\d+))?\}?")


@dataclass(frozen=True)
class Instruction:
    """One Dockerfile instruction: its keyword (upper case), its arguments, its line, its build stage (0-based)."""

    keyword: str
    args: str
    line: int
    stage: int


def instructions(text: str) -> list[Instruction]:
    """The instructions of a Dockerfile, continuation lines joined, comments dropped."""
    out: list[Instruction] = []
    stage, pending, start = -1, "", 0
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if pending and line.startswith("#"):
            continue  # a comment inside a continued instruction
        if not pending:
            start = number
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        whole, pending = pending + line, ""
        keyword, _, args = whole.partition(" ")
        keyword = keyword.upper()
        if keyword == "FROM":
            stage += 1
        out.append(Instruction(keyword, args.strip(), start, max(stage, 0)))
    return out


def final_stage(text: str) -> list[Instruction]:
    """The instructions of the last build stage: what the image runs."""
    found = instructions(text)
    last = max((i.stage for i in found), default=0)
    return [i for i in found if i.stage == last]


def argv_of(args: str) -> list[str]:
    """A CMD/ENTRYPOINT/compose command as words: the exec form (a JSON list) or the shell form split as sh would."""
    text = args.strip()
    if text.startswith("["):
        try:
            parsed = json.loads(text)
        except ValueError:
            parsed = None
        if isinstance(parsed, list) and all(isinstance(w, str) for w in parsed):
            return parsed
    try:
        return shlex.split(text)
    except ValueError:
        return text.split()


def server_command(argv: list[str]) -> list[str] | None:
    """The command that starts the server, with shell and wait-for wrappers taken off; None when none is there.

    `sh -c "until nc ...; do sleep 2; done && npm start"` gives ["npm", "start"]; `wait-for db:5432 -- python
    run.py` gives ["python", "run.py"]."""
    words = list(argv)
    if len(words) >= 3 and PurePosixPath(words[0]).name in ("sh", "bash", "ash") and words[1] in ("-c", "-ec"):
        words = argv_of(words[2])
    # Split on shell separators; the last segment that starts with a runner is the server.
    segments: list[list[str]] = [[]]
    for w in words:
        if w in ("&&", ";", "||", "|") or w.endswith(";"):
            if w.endswith(";") and w != ";":
                segments[-1].append(w[:-1])
            segments.append([])
        else:
            segments[-1].append(w)
    for segment in reversed(segments):
        segment = _without_waiter(_without_env(segment))
        if segment and segment[0] == "exec":
            segment = segment[1:]
        if segment and PurePosixPath(segment[0]).name in RUNNERS | {"manage.py"}:
            return segment
        if segment and segment[0].startswith(("./", "/")) and segment[0].endswith((".py", ".js", ".sh")):
            return segment
    return None


def _without_env(words: list[str]) -> list[str]:
    """`PORT=5000 node x.js` runs node x.js."""
    i = 0
    while i < len(words) and re.fullmatch(r"[A-Za-z_]\w*=\S*", words[i]):
        i += 1
    return words[i:]


def _without_waiter(words: list[str]) -> list[str]:
    if words and PurePosixPath(words[0]).name in WAITERS:
        return words[words.index("--") + 1:] if "--" in words else []
    return words


def with_port(argv: list[str], port: int) -> list[str]:
    """$PORT, ${PORT} and ${PORT:-5000} replaced by the port: an exec-form CMD expands no variables."""
    return [_PORT_ENV.sub(str(port), w) for w in argv]


def env_port_default(argv: list[str]) -> int | None:
    """The default in ${PORT:-5000}, if the command has one."""
    for w in argv:
        m = _PORT_ENV.search(w)
        if m and m.group(1):
            return int(m.group(1))
    return None


def port_in(argv: list[str]) -> int | None:
    """The port a server command names: --port N, -p N, --bind/-b HOST:N, runserver [HOST:]N, --listen :N."""
    for i, w in enumerate(argv):
        nxt = argv[i + 1] if i + 1 < len(argv) else ""
        key, eq, val = w.partition("=")
        if key in ("--port", "-p", "--bind", "-b", "--listen", "--http") or (key == "runserver" and not eq):
            value = val if eq else nxt
        elif w.startswith("-b") and len(w) > 2:
            value = w[2:]
        else:
            continue
        m = re.fullmatch(r"(?:[\w.\[\]:-]*:)?(\d{2,5})", value)
        if m and 0 < int(m.group(1)) < 65536:
            return int(m.group(1))
    return None
