"""Team-server request headers narrow the tools the server allows, never widen them: a real `serve --http`
process, spoken to by the real MCP client over HTTP with both protocols."""

import os
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager

import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from tests.helpers import free_port, http_server, text_of, write

TOKEN = "toolsets-token-0123456789"
SERVER_TOOLS = {"security_scan", "verify_fix", "scan_history", "compare_runs", "sql_analysis", "generate_pipeline",
                "init_config"}  # what DEVOPS_ORCHESTRA_TOOLSETS=security,history,sql,pipeline offers


@pytest.fixture(scope="module")
def url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    base = tmp_path_factory.mktemp("toolsets")
    root = write(base / "root", {"db/V1__users.sql": "ALTER TABLE users ADD COLUMN age int NOT NULL;\n"})
    port = free_port()
    env = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", str(base)), "DEVOPS_ORCHESTRA_TOKENS": TOKEN,
           "DEVOPS_ORCHESTRA_STORE": str(base / "runs.sqlite3"), "DEVOPS_ORCHESTRA_NO_CACHE": "1",
           "DEVOPS_ORCHESTRA_WARM_CHECKOV": "0", "DEVOPS_ORCHESTRA_TOOLSETS": "security,history,sql,pipeline"}
    argv = [sys.executable, "-m", "devops_orchestra", "serve", "--http", "--port", str(port), "--root", str(root)]
    address = f"http://127.0.0.1:{port}/mcp"
    with http_server(argv, env, address, base / "server.log"):
        yield address


@asynccontextmanager
async def connect(url: str, mode: str = "auto", **headers: str) -> AsyncIterator[Client]:
    """The SDK's client over streamable HTTP, sending the token and these X-Devops-Orchestra-* headers."""
    sent = {f"X-Devops-Orchestra-{name.replace('_', '-').title()}": v for name, v in headers.items()}
    async with httpx2.AsyncClient(headers={"Authorization": f"Bearer {TOKEN}", **sent}, timeout=60) as http:
        async with Client(streamable_http_client(url, http_client=http), mode=mode) as client:
            yield client


async def names(client: Client) -> set[str]:
    return {t.name for t in (await client.list_tools()).tools}


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_headers_narrow_tools_list_and_tools_call(url: str, mode: str) -> None:
    async with connect(url, mode) as client:
        assert await names(client) == SERVER_TOOLS
    async with connect(url, mode, toolsets="sql") as client:
        assert await names(client) == {"sql_analysis"}
        answered = await client.call_tool("sql_analysis", {"path": "db"})
        refused = await client.call_tool("scan_history", {})
    assert not answered.is_error, answered.content
    text = text_of(refused.content[0])
    assert refused.is_error and "'scan_history' is not enabled for this connection" in text
    assert "add 'history' to the X-Devops-Orchestra-Toolsets header" in text
    async with connect(url, mode, read_only="1") as client:
        assert await names(client) == SERVER_TOOLS - {"generate_pipeline", "init_config"}
        writer = await client.call_tool("init_config", {})
    assert writer.is_error and "drop the X-Devops-Orchestra-Read-Only header" in text_of(writer.content[0])


async def test_headers_never_widen_what_the_server_allows(url: str) -> None:
    async with connect(url, toolsets="security,dora", tools="review") as client:
        assert await names(client) == {"security_scan", "verify_fix"}
        dora = await client.call_tool("dora_metrics", {})
        review = await client.call_tool("review", {})
    for result, toolset in ((dora, "dora"), (review, "review")):
        text = text_of(result.content[0])
        assert result.is_error and "is not enabled on this server" in text and f"--toolsets {toolset}" in text


async def test_an_unknown_toolset_in_a_header_says_which_there_are(url: str) -> None:
    with pytest.raises(Exception) as raised:  # the SDK may wrap it in an exception group
        async with connect(url, toolsets="secrets") as client:
            await client.list_tools()
    assert "unknown toolset 'secrets'. The toolsets are: security, history" in messages(raised.value)


def messages(exc: BaseException) -> str:
    """The messages of an exception and of everything an exception group holds."""
    inner = exc.exceptions if isinstance(exc, BaseExceptionGroup) else ()
    return " | ".join([str(exc), *(messages(e) for e in inner)])
