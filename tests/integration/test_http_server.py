"""The team server: a real `serve --http` process, spoken to by the real MCP client over HTTP."""

import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from devops_orchestra.models import SecurityReport
from tests.helpers import free_port, http_server, text_of, write

pytestmark = pytest.mark.scanners

TOKEN = "alpha-token-0123456789"  # from the environment variable
LEGACY_TOKEN = "bravo-token-0123456789"  # from the tokens file
RATE_TOKEN = "charlie-token-0123456789"  # spent by the rate limit test alone
RATE_LIMIT = 40
MAX_SCANS, SCAN_QUEUE = 2, 2
MAX_BODY = 64 * 1024

VULNERABLE = "import subprocess\n\ndef run(cmd):\n    subprocess.call(cmd, shell=True)\n    eval(cmd)\n"


@dataclass
class Server:
    url: str
    port: int
    pid: int
    root: Path


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    base = tmp_path_factory.mktemp("team")
    root = write(base / "root", {"small/app.py": VULNERABLE})
    # Enough code that bandit is still at work when the client leaves.
    write(root / "big", {f"m{i}.py": VULNERABLE * 400 for i in range(40)})
    tokens = write(base, {"tokens": f"# the team\n{LEGACY_TOKEN}  # bravo\n\n{RATE_TOKEN}\n"}) / "tokens"
    port = free_port()
    env = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", str(base)),
           "DEVOPS_ORCHESTRA_TOKENS": TOKEN, "DEVOPS_ORCHESTRA_STORE": str(base / "runs.sqlite3"),
           "DEVOPS_ORCHESTRA_CACHE": str(base / "cache.sqlite3"), "DEVOPS_ORCHESTRA_NO_CACHE": "1",
           "DEVOPS_ORCHESTRA_WARM_CHECKOV": "0"}
    argv = [sys.executable, "-m", "devops_orchestra", "serve", "--http", "--port", str(port), "--root", str(root),
            "--tokens-file", str(tokens), "--max-scans", str(MAX_SCANS), "--scan-queue", str(SCAN_QUEUE),
            "--rate-limit", str(RATE_LIMIT), "--max-body", str(MAX_BODY)]
    url = f"http://127.0.0.1:{port}/mcp"
    with http_server(argv, env, url, base / "server.log") as proc:
        yield Server(url, port, proc.pid, root)


@asynccontextmanager
async def connect(server: Server, token: str | None = TOKEN, mode: str = "auto",
                  statuses: list[int] | None = None) -> AsyncIterator[Client]:
    """The SDK's own client with its streamable HTTP transport, sending our Authorization header."""
    async def record(response: httpx2.Response) -> None:
        if statuses is not None:
            statuses.append(response.status_code)

    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with httpx2.AsyncClient(headers=headers, timeout=httpx2.Timeout(30, read=300),
                                  event_hooks={"response": [record]}) as http:
        async with Client(streamable_http_client(server.url, http_client=http), mode=mode) as client:
            yield client


def post(server: Server, token: str | None = TOKEN, **kwargs: Any) -> httpx2.Response:
    headers = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream",
               **({"Authorization": f"Bearer {token}"} if token else {}), **kwargs.pop("headers", {})}
    return httpx2.post(server.url, headers=headers, timeout=10, **kwargs)


@pytest.mark.parametrize("token", [None, "wrong-token-0123456789"])
async def test_client_without_a_valid_token_gets_401(server: Server, token: str | None) -> None:
    """No token and a wrong one: the real client fails on a 401 that names the Bearer scheme."""
    statuses: list[int] = []
    with pytest.raises(Exception):  # noqa: B017 - the SDK wraps it in an exception group
        async with connect(server, token, statuses=statuses) as client:
            await client.list_tools()
    assert statuses and set(statuses) == {401}
    raw = post(server, token, content=b"{}")
    assert raw.status_code == 401 and raw.headers["www-authenticate"].startswith("Bearer")


async def test_scan_over_http_with_both_protocols_and_fixed_roots(server: Server) -> None:
    """A token from the env var (2026 protocol) and one from the file (session protocol) both scan; the roots
    given at start are the only ones."""
    for token, mode in ((TOKEN, "auto"), (LEGACY_TOKEN, "legacy")):
        async with connect(server, token, mode) as client:
            result = await client.call_tool("security_scan", {"path": "small", "scanners": ["bandit"]})
            assert not result.is_error, result.content
            report = SecurityReport.model_validate(result.structured_content)
            assert report.summary.high >= 1
            outside = await client.call_tool("security_scan", {"path": "/etc", "scanners": ["bandit"]})
            assert outside.is_error and "outside the directories" in text_of(outside.content[0])


async def test_ten_concurrent_scans_run_or_are_told_to_retry(server: Server) -> None:
    """MAX_SCANS run, SCAN_QUEUE wait, the rest are answered at once with a tool error saying when to retry;
    scan_history does not wait behind them."""
    answers: list[tuple[float, bool, str]] = []
    async with connect(server) as client:
        async def scan() -> None:
            started = time.perf_counter()
            result = await client.call_tool("security_scan", {"path": "small", "scanners": ["bandit"]})
            answers.append((time.perf_counter() - started, result.is_error, text_of(result.content[0])))

        async with anyio.create_task_group() as tg:
            for _ in range(10):
                tg.start_soon(scan)
            await anyio.sleep(0.2)
            history = await client.call_tool("scan_history", {})  # answered from the store: never queued
            assert not history.is_error, history.content
    busy = [a for a in answers if a[1]]
    done = [a for a in answers if not a[1]]
    assert len(answers) == 10
    assert len(done) >= MAX_SCANS + SCAN_QUEUE and busy, answers
    for seconds, _, text in busy:
        assert "busy" in text and "retry after" in text, text
        assert seconds < 2.0  # told straight away, not after waiting
    assert all("Security scan of small" in text for _, _, text in done)


def test_a_session_belongs_to_the_token_that_opened_it(server: Server) -> None:
    hello = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}}
    opened = post(server, TOKEN, json=hello)
    session = {"Mcp-Session-Id": opened.headers["mcp-session-id"], "Mcp-Protocol-Version": "2025-11-25"}
    listing = {"jsonrpc": "2.0", "id": 2, "method": "tools/list"}
    assert post(server, LEGACY_TOKEN, json=listing, headers=session).status_code == 404
    assert post(server, TOKEN, json=listing, headers=session).status_code == 200


def test_rate_limit_per_token_answers_429_with_retry_after(server: Server) -> None:
    codes: list[int] = []
    while 429 not in codes and len(codes) < RATE_LIMIT + 10:  # the bucket refills a little as we go
        codes.append(post(server, RATE_TOKEN, content=b"{}").status_code)
    assert codes.index(429) >= RATE_LIMIT, codes
    limited = post(server, RATE_TOKEN, content=b"{}")
    assert limited.status_code == 429 and int(limited.headers["retry-after"]) >= 1
    assert post(server, LEGACY_TOKEN, content=b"{}").status_code != 429  # other tokens are not held back


def test_oversized_request_is_413(server: Server) -> None:
    body = b'{"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {"pad": "' + b"x" * MAX_BODY + b'"}}'
    assert post(server, content=body).status_code == 413


def test_foreign_host_and_origin_are_refused(server: Server) -> None:
    """DNS rebinding: a page on another site cannot reach the server through the browser, token or not."""
    assert post(server, content=b"{}", headers={"Host": f"evil.example:{server.port}"}).status_code == 421
    assert post(server, content=b"{}", headers={"Origin": "http://evil.example"}).status_code == 403
    assert post(server, content=b"{}", headers={"Origin": f"http://localhost:{server.port}"}).status_code == 400


def scanner_processes(pid: int) -> list[str]:
    """Command lines of every process under pid that is running bandit."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], list(children.get(pid, []))
    while todo:
        child = todo.pop()
        todo += children.get(child, [])
        try:
            cmdline = (Path("/proc") / str(child) / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if "bandit" in cmdline:
            found.append(cmdline)
    return found


CLIENT = """
import sys, anyio, httpx2
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

async def main(url, token, mode):
    async with httpx2.AsyncClient(headers={"Authorization": "Bearer " + token}, timeout=300) as http:
        async with Client(streamable_http_client(url, http_client=http), mode=mode) as client:
            await client.call_tool("security_scan", {"path": "big", "scanners": ["bandit"]})

anyio.run(main, *sys.argv[1:])
"""


async def until(predicate: Callable[[], object], timeout_s: float) -> bool:
    """Whether predicate() came true within timeout_s, asking every 50 ms."""
    for _ in range(int(timeout_s / 0.05)):
        if predicate():
            return True
        await anyio.sleep(0.05)
    return bool(predicate())


@pytest.mark.parametrize(("token", "mode"), [(TOKEN, "auto"), (LEGACY_TOKEN, "legacy")])
async def test_client_killed_mid_scan_has_its_scanners_killed(server: Server, token: str, mode: str) -> None:
    """The client process dies while bandit runs (no goodbye, no cancel notification): bandit dies too."""
    assert not scanner_processes(server.pid)
    client = await anyio.open_process([sys.executable, "-c", CLIENT, server.url, token, mode])
    async with client:
        started = await until(lambda: scanner_processes(server.pid) or client.returncode is not None, 30)
        assert started and client.returncode is None, "bandit never started"
        client.kill()
    assert await until(lambda: not scanner_processes(server.pid), 10), scanner_processes(server.pid)


@pytest.mark.parametrize(("token", "mode"), [(TOKEN, "auto"), (LEGACY_TOKEN, "legacy")])
async def test_client_cancelling_its_call_stops_the_scan(server: Server, token: str, mode: str) -> None:
    """The SDK client in the same process gives up on the call (e.g. the user pressed stop)."""
    async with connect(server, token, mode) as client, anyio.create_task_group() as tg:
        tg.start_soon(client.call_tool, "security_scan", {"path": "big", "scanners": ["bandit"]})
        assert await until(lambda: scanner_processes(server.pid), 30), "bandit never started"
        tg.cancel_scope.cancel()
    assert await until(lambda: not scanner_processes(server.pid), 10), scanner_processes(server.pid)


def test_serve_http_refuses_to_start_without_a_token(tmp_path: Path) -> None:
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path)}
    done = subprocess.run([sys.executable, "-m", "devops_orchestra", "serve", "--http", "--port", "1"],
                          capture_output=True, text=True, timeout=60, env=env)
    assert done.returncode == 2 and "DEVOPS_ORCHESTRA_TOKENS" in done.stderr and "--tokens-file" in done.stderr
