"""The team server: MCP over streamable HTTP for several people at once.

One ASGI layer in front of the SDK's streamable HTTP app, checking in this order: Host and Origin (DNS
rebinding), the bearer token (`auth`: constant-time against every configured token), the token's rate limit and
the body size (`limits`), and for tool calls that do real work (scans) a bounded queue (`queue`) that answers
"busy, retry after N s" when full. A client that goes away while its call runs gets the call cancelled, so its
scanner processes are killed: the 2026-07-28 protocol does this in the SDK itself, and for the session protocol
(2025-11-25 and earlier) this layer posts the `notifications/cancelled` the client could no longer send.
"""

from __future__ import annotations

import asyncio
import json
import math
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import structlog
from mcp_types import CallToolResult, TextContent
from mcp_types.version import HANDSHAKE_PROTOCOL_VERSIONS
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from devops_orchestra.http.auth import TokenCheck, token_user
from devops_orchestra.http.limits import RateLimit, read_body
from devops_orchestra.http.queue import LIGHT_TOOLS, Busy, Gone, ScanQueue

if TYPE_CHECKING:
    from devops_orchestra.server.toolsets import Selection

MCP_PATH = "/mcp"
LOCAL_HOSTS = ("127.0.0.1", "localhost", "[::1]")
WILDCARD_HOSTS = ("0.0.0.0", "::", "")

log = structlog.get_logger("devops_orchestra.http")


@dataclass(frozen=True)
class HttpSettings:
    """How the team server is started: its tokens, where it listens, and its limits."""

    tokens: tuple[str, ...]
    host: str = "127.0.0.1"
    port: int = 8080
    max_scans: int = field(default_factory=lambda: os.cpu_count() or 2)  # scans running at once
    scan_queue: int = 8  # scans waiting for a slot; past that the answer is "busy, retry after"
    rate_per_minute: int = 120  # requests per token; a whole minute's worth may come at once
    max_body_bytes: int = 1024 * 1024
    allowed_hosts: tuple[str, ...] = ()  # host names besides localhost that clients use to reach us

    def host_headers(self) -> list[str]:
        """Every Host header value accepted: name:port for localhost, the bound host and --allow-host names."""
        names = [*LOCAL_HOSTS, *self.allowed_hosts]
        if self.host not in WILDCARD_HOSTS:
            names.append(f"[{self.host}]" if ":" in self.host else self.host)
        values = [f"{name}:{self.port}" for name in dict.fromkeys(names)]
        return values + (list(dict.fromkeys(names)) if self.port == 80 else [])

    def origins(self) -> list[str]:
        """Every Origin header value accepted: http and https for each accepted Host header."""
        return [f"{scheme}://{h}" for h in self.host_headers() for scheme in ("http", "https")]


class TeamServer:
    """The ASGI layer in front of the SDK's app (see the module's docstring for the order of the checks)."""

    def __init__(self, app: ASGIApp, settings: HttpSettings) -> None:
        self.app = app
        self.settings = settings
        self.tokens = TokenCheck(settings.tokens)
        self.rate = RateLimit(settings.rate_per_minute)
        self.scans = ScanQueue(settings.max_scans, settings.scan_queue)
        self._hosts = set(settings.host_headers())
        self._origins = set(settings.origins())
        self._users = [token_user(i) for i in range(len(settings.tokens))]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """One request through the checks, in order, to the SDK's app."""
        if scope["type"] != "http":  # lifespan: the SDK's session manager and our AppState
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        if headers.get("host") not in self._hosts:
            await _plain(send, 421, f"Host {headers.get('host')!r} is not one this server answers to "
                                    "(start it with --allow-host NAME to add one)")
            return
        origin = headers.get("origin")
        if origin is not None and origin not in self._origins:
            await _plain(send, 403, f"Origin {origin!r} is not allowed")
            return
        who = self.tokens.identify(headers.get("authorization"))
        if who is None:
            log.info("refused: no valid bearer token", path=scope.get("path"), client=_client(scope))
            await _plain(send, 401, "a valid bearer token is required: send Authorization: Bearer <token>",
                         [("www-authenticate", 'Bearer realm="devops-orchestra"')])
            return
        wait = self.rate.wait_s(who)
        if wait > 0:
            retry = math.ceil(wait)
            await _plain(send, 429, f"rate limit of {self.settings.rate_per_minute} requests a minute reached; "
                                    f"retry after {retry} s", [("retry-after", str(retry))])
            return
        # The SDK ties each session to the credential that opened it: another token gets 404 for it.
        scope = {**scope, "user": self._users[who]}
        if scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        body, rest = await read_body(receive, headers, self.settings.max_body_bytes)
        if body is None:
            await _plain(send, 413, f"request body larger than {self.settings.max_body_bytes} bytes")
            return
        call = _tool_call(body)
        replay = _replay(body, rest)
        if call is None or call[1] in LIGHT_TOOLS:
            await self._forward(scope, replay, send, headers, call)
            return
        try:
            async with self.scans.slot(gone=lambda: _disconnected(rest)):
                await self._forward(scope, replay, send, headers, call)
        except Gone:
            log.info("client left while its call waited: dropped", tool=call[1], client=_client(scope))
        except Busy as busy:
            log.info("busy", tool=call[1], running=self.scans.running, waiting=self.scans.waiting)
            version = headers.get("mcp-protocol-version", HANDSHAKE_PROTOCOL_VERSIONS[0])
            await _busy(send, call[0], str(busy), busy.retry_after_s, version not in HANDSHAKE_PROTOCOL_VERSIONS)

    async def _forward(
        self, scope: Scope, receive: Receive, send: Send, headers: dict[str, str], call: tuple[Any, str] | None,
    ) -> None:
        """Pass the request on; if the client left before its tool call was answered, cancel that call."""
        finished = False

        async def watch(message: Message) -> None:
            nonlocal finished
            if message["type"] == "http.response.body" and not message.get("more_body", False):
                finished = True
            await send(message)

        try:
            await self.app(scope, receive, watch)
        except OSError:  # the client's socket went away under a write
            finished = False
        session = headers.get("mcp-session-id")
        if call is not None and not finished and session is not None:
            await self._cancel(scope, headers, call[0])

    async def _cancel(self, scope: Scope, headers: dict[str, str], request_id: Any) -> None:
        """Post, on the gone client's behalf, the `notifications/cancelled` it would have sent."""
        log.info("client left mid-call: cancelling it", request_id=request_id, client=_client(scope))
        params = {"requestId": request_id, "reason": "client disconnected"}
        body = _jsonrpc(method="notifications/cancelled", params=params)
        keep = ("host", "authorization", "mcp-session-id", "mcp-protocol-version")
        fake = {**scope, "headers": [(k.encode(), headers[k].encode()) for k in keep if k in headers] + [
            (b"content-type", b"application/json"), (b"accept", b"application/json, text/event-stream"),
            (b"content-length", str(len(body)).encode())]}

        async def discard(_: Message) -> None:
            return None

        try:
            await self.app(fake, _replay(body, _never), discard)
        except Exception:  # the session may be gone already; nothing more to do then
            log.warning("could not cancel the call of a client that left", exc_info=True)


async def _disconnected(receive: Receive) -> None:
    """Returns when the client disconnects (the body has been read: nothing else comes)."""
    while (await receive())["type"] != "http.disconnect":
        pass


async def _never() -> Message:
    """A receive for a request we make ourselves: no client, so nothing ever comes."""
    await asyncio.Event().wait()
    return {"type": "http.disconnect"}  # pragma: no cover


def _replay(body: bytes, rest: Receive) -> Receive:
    """A receive that gives the app the body already read, then whatever the client sends next."""
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await rest()  # the client's disconnect, which cancels the call in the 2026 protocol

    return receive


def _tool_call(body: bytes) -> tuple[Any, str] | None:
    """(request id, tool name) if the body is one tools/call request."""
    try:
        message = json.loads(body)
    except ValueError:
        return None
    if not isinstance(message, dict) or message.get("method") != "tools/call" or "id" not in message:
        return None
    params = message.get("params")
    name = params.get("name") if isinstance(params, dict) else None
    return (message["id"], name) if isinstance(name, str) else None


def _client(scope: Scope) -> str | None:
    client = scope.get("client")
    return f"{client[0]}:{client[1]}" if client else None


async def _plain(send: Send, status: int, text: str, extra: Iterable[tuple[str, str]] = ()) -> None:
    body = (text + "\n").encode()
    headers = [(b"content-type", b"text/plain; charset=utf-8"), (b"content-length", str(len(body)).encode())]
    headers += [(k.encode(), v.encode()) for k, v in extra]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def _jsonrpc(**fields: Any) -> bytes:
    """One JSON-RPC 2.0 message, echoing the client's request id exactly as it came.

    Hand-built, not the SDK's JSONRPCResponse/JSONRPCNotification: those accept only int or str ids and would
    raise where we echo whatever id a client sent.
    """
    return json.dumps({"jsonrpc": "2.0", **fields}).encode()


async def _busy(send: Send, request_id: Any, text: str, retry_after_s: int, modern: bool) -> None:
    """A tool error the agent reads and acts on (HTTP 200 with Retry-After): it says when to come back."""
    message = f"The team server is {text}. Nothing was run; call the tool again then."
    result = CallToolResult(content=[TextContent(text=message)], is_error=True)
    wire = result.model_dump(mode="json", by_alias=True, exclude_none=True)
    if not modern:
        del wire["resultType"]  # required from protocol 2026-07-28 on; session-protocol clients never got it
    body = _jsonrpc(id=request_id, result=wire)
    await send({"type": "http.response.start", "status": 200, "headers": [
        (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
        (b"retry-after", str(retry_after_s).encode())]})
    await send({"type": "http.response.body", "body": body})


def build_app(
    roots: list[Path], settings: HttpSettings, selection: Selection | None = None, where: str = "--tools"
) -> ASGIApp:
    """Our MCP server's streamable HTTP app at MCP_PATH, behind the team server's checks. Its tools are the
    selection's; each request's X-Devops-Orchestra-* headers may narrow them further (server/boundary.py)."""
    from mcp.server.transport_security import TransportSecuritySettings

    from devops_orchestra.server.app import create_server

    server = create_server(roots, selection, where)
    security = TransportSecuritySettings(allowed_hosts=settings.host_headers(), allowed_origins=settings.origins())
    inner = server.streamable_http_app(
        streamable_http_path=MCP_PATH, transport_security=security, max_request_body_size=settings.max_body_bytes,
        host=settings.host,
    )
    return TeamServer(inner, settings)


def run_team_server(
    roots: list[Path], settings: HttpSettings, selection: Selection | None = None, where: str = "--tools"
) -> None:
    """Serve the team server with uvicorn until stopped."""
    import uvicorn

    if settings.host in WILDCARD_HOSTS:
        log.warning("listening on every network interface: anyone who can reach this machine and holds a token "
                    "can scan the roots", host=settings.host, allowed_hosts=settings.host_headers())
    app = build_app(roots, settings, selection, where)
    log.info("team server", url=f"http://{settings.host}:{settings.port}{MCP_PATH}", tokens=len(settings.tokens),
             max_scans=settings.max_scans, scan_queue=settings.scan_queue, rate_per_minute=settings.rate_per_minute)
    config = uvicorn.Config(app, host=settings.host, port=settings.port, log_level="warning", lifespan="on",
                            timeout_graceful_shutdown=3, server_header=False)
    uvicorn.Server(config).run()
