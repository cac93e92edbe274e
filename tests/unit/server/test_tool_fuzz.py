"""Every tool, called with arguments drawn from its own input schema (hypothesis-jsonschema) plus hostile strings
and wrong types, through the in-memory MCP client: an error always says what was wrong.

The tools run for real on a tiny git repository, so the heavy ones (scans, review, pipeline runs) get fewer
examples; the whole module stays well under a minute on two cores.
"""

import asyncio
import re
import tempfile
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import git
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from hypothesis_jsonschema import from_schema
from mcp import Client
from mcp_types import CallToolResult

from devops_orchestra.server.app import create_server
from tests.helpers import text_of, write

HEAVY = {"security_scan": 4, "verify_fix": 4, "compliance_check": 4, "review": 4, "run_pipeline": 3,
         "generate_pipeline": 4, "architecture_analysis": 6, "init_config": 6, "test_gaps": 3,
         "generate_tests": 3}  # examples each
LIGHT_EXAMPLES = 12
HOSTILE = ["a" * 5000, "a/" * 2600, "x\x00y", "--help", "-", "..", "../../../../etc/passwd", "/etc/passwd",
           "~nosuchuser0/x", "é漢字🙂", "\u202egnp.exe\ufffd", "\x1b[31m[{{%s%n", "a\nb", "", "HEAD~999999",
           "$(touch pwned)", "v\u00e9*"]
# What the SDK says when a tool crashed and nobody said why.
BARE = re.compile(r"^\s*(Error executing tool \S+:?)?\s*$")


class Session:
    """One in-memory client session held by a task on a loop of its own, so hypothesis's synchronous tests can
    call tools on it (the client must be entered and left by the same task)."""

    def __init__(self, root: Path) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.ready = threading.Event()
        self.held: Future[None] = asyncio.run_coroutine_threadsafe(self._hold(root), self.loop)
        if not self.ready.wait(60):
            self.held.result(0)  # raises what went wrong

    async def _hold(self, root: Path) -> None:
        self.stop = asyncio.Event()
        async with Client(create_server([root])) as client:
            self.client = client
            self.ready.set()
            await self.stop.wait()

    def call(self, tool: str, args: dict[str, Any]) -> CallToolResult:
        future = asyncio.run_coroutine_threadsafe(self.client.call_tool(tool, args), self.loop)
        return future.result(timeout=120)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.stop.set)
        self.held.result(30)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


@pytest.fixture(scope="module")
def session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Session]:
    base = tmp_path_factory.mktemp("fuzz")
    with pytest.MonkeyPatch.context() as env:
        for name, value in {"DEVOPS_ORCHESTRA_WARM_CHECKOV": "0", "DEVOPS_ORCHESTRA_STORE": str(base / "runs.db"),
                            "DEVOPS_ORCHESTRA_CACHE": str(base / "cache.db")}.items():
            env.setenv(name, value)
        root = write(base / "repo", {"app.py": "import os\n\ndef run(cmd):\n    os.system(cmd)\n",
                                     "db/migrations/V1__users.sql": "CREATE TABLE users (id int);\n",
                                     "requirements.txt": "flask==3.0.0\n"})
        repo = git.Repo.init(root, initial_branch="main")
        repo.index.add(["app.py", "db", "requirements.txt"])
        repo.index.commit("first", author=git.Actor("t", "t@example.com"))
        session = Session(root)
        try:
            yield session
        finally:
            session.close()


def schemas() -> dict[str, dict[str, Any]]:
    """Every tool's input schema, read at collection time from a server whose store is thrown away."""
    async def listing() -> dict[str, dict[str, Any]]:
        async with Client(create_server([Path.cwd()])) as client:
            return {t.name: t.input_schema for t in (await client.list_tools()).tools}

    with tempfile.TemporaryDirectory() as tmp, pytest.MonkeyPatch.context() as env:
        env.setenv("DEVOPS_ORCHESTRA_STORE", str(Path(tmp) / "runs.db"))
        env.setenv("DEVOPS_ORCHESTRA_WARM_CHECKOV", "0")
        return asyncio.run(listing())


SCHEMAS = schemas()


def takes_strings(prop: dict[str, Any]) -> bool:
    options = prop.get("anyOf", [prop])
    return any(o.get("type") == "string" and "enum" not in o for o in options)


def takes_string_lists(prop: dict[str, Any]) -> bool:
    options = prop.get("anyOf", [prop])
    return any(o.get("type") == "array" and takes_strings(o.get("items", {})) for o in options)


def arguments(schema: dict[str, Any]) -> st.SearchStrategy[dict[str, Any]]:
    """Valid arguments, valid but hostile strings, and wrong types, for one tool's input schema."""
    defs = {"$defs": schema["$defs"]} if "$defs" in schema else {}
    hostile = st.sampled_from(HOSTILE)
    wrong: st.SearchStrategy[Any] = st.one_of(st.integers(), st.none(), st.booleans(),
                                              st.lists(st.integers(), max_size=2), st.just({"a": 1}))
    fields: dict[str, st.SearchStrategy[Any]] = {}
    for name, prop in schema.get("properties", {}).items():
        options = [from_schema({**prop, **defs}), wrong]
        if takes_strings(prop):
            options.append(hostile)
        if takes_string_lists(prop):
            options.append(st.lists(hostile, min_size=1, max_size=3))
        fields[name] = st.one_of(*options)
    required = set(schema.get("required", []))
    mixed = st.fixed_dictionaries({n: s for n, s in fields.items() if n in required},
                                  optional={n: s for n, s in fields.items() if n not in required})
    return st.one_of(from_schema(schema), mixed)  # whole valid calls too, which do the real work


def check(result: CallToolResult, tool: str, args: dict[str, Any]) -> None:
    if not result.is_error:
        return
    text = " ".join(text_of(c) for c in result.content)
    shown = {k: (v[:40] + "...") if isinstance(v, str) and len(v) > 40 else v for k, v in args.items()}
    assert not BARE.match(text), f"{tool}{shown} failed without a reason: {text!r}"
    assert "this is a bug in devops-orchestra" not in text, f"{tool}{shown} crashed: {text}"


def hostile_examples(schema: dict[str, Any]) -> list[dict[str, Any]]:
    """Each hostile string in the first string argument (the path, where a tool has one), always tried: a
    handful of random examples would rarely draw the one that breaks."""
    properties = schema.get("properties", {})
    first = next((n for n, p in properties.items() if takes_strings(p)), None)
    lists = next((n for n, p in properties.items() if takes_string_lists(p)), None)
    if first is None and lists is None:
        return []
    required = {n: "x" for n in schema.get("required", []) if takes_strings(properties[n])}
    required |= {n: ["x"] for n in schema.get("required", []) if takes_string_lists(properties[n])}
    if first is not None:
        return [{**required, first: value} for value in HOSTILE]
    assert lists is not None
    return [{**required, lists: [value]} for value in HOSTILE]


def fuzz(tool: str) -> Callable[[Session], None]:
    @given(args=arguments(SCHEMAS[tool]))
    def call(session: Session, args: dict[str, Any]) -> None:
        check(session.call(tool, args), tool, args)

    for args in hostile_examples(SCHEMAS[tool]):
        call = example(args=args)(call)
    return settings(max_examples=HEAVY.get(tool, LIGHT_EXAMPLES), deadline=None, database=None, derandomize=True,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])(call)


@pytest.mark.parametrize("tool", sorted(SCHEMAS))
def test_every_error_says_what_was_wrong(session: Session, tool: str) -> None:
    fuzz(tool)(session)
