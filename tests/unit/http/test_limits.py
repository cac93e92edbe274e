"""The team server's parts on their own: tokens, the rate limit, the scan queue, accepted Host names."""

import asyncio
import json
from collections.abc import MutableMapping
from pathlib import Path
from typing import Any

import pytest

from devops_orchestra.core.errors import OrchestraError
from devops_orchestra.http.app import HttpSettings, TeamServer
from devops_orchestra.http.auth import TokenCheck, load_tokens
from devops_orchestra.http.limits import RateLimit
from devops_orchestra.http.queue import Busy, ScanQueue

A, B, C = "a" * 20, "b" * 24, "c" * 32


def test_tokens_come_from_the_env_and_the_file_without_comments_or_repeats(tmp_path: Path) -> None:
    path = tmp_path / "tokens"
    path.write_text(f"# team tokens\n{B}   # bob\n\n{A}\n{C}\n")
    assert load_tokens(f" {A} ,,", path) == (A, B, C)


@pytest.mark.parametrize(("env", "text", "message"), [
    (None, None, "DEVOPS_ORCHESTRA_TOKENS"),
    ("", "# nothing here\n", "--tokens-file"),
    ("short", None, "shorter than 16"),
])
def test_no_usable_token_is_a_clear_error(tmp_path: Path, env: str | None, text: str | None, message: str) -> None:
    path = None
    if text is not None:
        path = tmp_path / "tokens"
        path.write_text(text)
    with pytest.raises(OrchestraError, match=message):
        load_tokens(env, path)


def test_an_unreadable_tokens_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(OrchestraError, match="cannot read the tokens file"):
        load_tokens(A, tmp_path / "missing")


def test_token_check_names_the_token_and_wants_the_bearer_scheme() -> None:
    check = TokenCheck([A, B])
    assert check.identify(f"Bearer {B}") == 1
    assert check.identify(f"bearer {A}") == 0
    assert check.identify(f"Basic {A}") is None
    assert check.identify(f"Bearer {A}x") is None
    assert check.identify(None) is None and check.identify("Bearer ") is None


def test_rate_limit_refills_over_time_per_key() -> None:
    limit = RateLimit(per_minute=2)
    assert limit.wait_s(0, now=0.0) == 0 and limit.wait_s(0, now=0.0) == 0
    assert limit.wait_s(0, now=0.0) == pytest.approx(30.0)
    assert limit.wait_s(1, now=0.0) == 0  # another token has its own bucket
    assert limit.wait_s(0, now=30.0) == 0


async def test_scan_queue_runs_slots_queues_depth_and_refuses_the_rest() -> None:
    queue = ScanQueue(slots=1, depth=1)
    release = asyncio.Event()
    order: list[str] = []

    async def scan(name: str) -> None:
        async with queue.slot():
            order.append(name)
            await release.wait()

    first = asyncio.create_task(scan("first"))
    second = asyncio.create_task(scan("second"))
    await asyncio.sleep(0.01)
    assert (queue.running, queue.waiting) == (1, 1) and order == ["first"]
    with pytest.raises(Busy, match=r"busy: 1 scan running and 1 waiting; retry after \d+ s") as busy:
        await scan("third")
    assert busy.value.retry_after_s >= 1
    release.set()
    await asyncio.gather(first, second)
    assert order == ["first", "second"] and (queue.running, queue.waiting) == (0, 0)


def test_host_headers_cover_localhost_the_bound_host_and_extra_names() -> None:
    local = HttpSettings(tokens=(A,), host="127.0.0.1", port=8080)
    assert {"127.0.0.1:8080", "localhost:8080", "[::1]:8080"} == set(local.host_headers())
    team = HttpSettings(tokens=(A,), host="0.0.0.0", port=9000, allowed_hosts=("scanbox.lan",))
    assert "scanbox.lan:9000" in team.host_headers() and "0.0.0.0:9000" not in team.host_headers()
    assert "http://scanbox.lan:9000" in team.origins()


async def test_a_call_whose_client_leaves_while_queued_never_runs() -> None:
    """One slot, one place in the queue: the queued caller hangs up, its call is dropped, the slot is not lost."""
    release = asyncio.Event()
    ran: list[int] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        ran.append(1)
        await release.wait()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"{}"})

    team = TeamServer(app, HttpSettings(tokens=(A,), max_scans=1, scan_queue=1))
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "security_scan"}})
    scope = {"type": "http", "method": "POST", "path": "/mcp", "headers": [
        (b"host", b"127.0.0.1:8080"), (b"authorization", f"Bearer {A}".encode())]}

    def call(leave: asyncio.Event) -> "asyncio.Task[None]":
        messages = [{"type": "http.request", "body": body.encode(), "more_body": False}]

        async def receive() -> dict[str, Any]:
            if messages:
                return messages.pop()
            await leave.wait()
            return {"type": "http.disconnect"}

        async def send(message: MutableMapping[str, Any]) -> None:
            return None

        return asyncio.create_task(team(scope, receive, send))

    stays, leaves = asyncio.Event(), asyncio.Event()
    first = call(stays)
    await asyncio.sleep(0.01)
    second = call(leaves)
    await asyncio.sleep(0.01)
    assert team.scans.waiting == 1
    leaves.set()
    await asyncio.wait_for(second, 1)
    assert team.scans.waiting == 0 and len(ran) == 1
    release.set()
    await first
    await asyncio.wait_for(call(stays), 1)
    assert len(ran) == 2
