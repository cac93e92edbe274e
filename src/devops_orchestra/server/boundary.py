"""The one boundary every tool call crosses: which tools this server (and this request) may use, and errors
that say what went wrong and what to do.

mcp 2.x turns any exception other than ToolError into the bare text "Error executing tool NAME" (mcp's
Tool.run raises UnexpectedToolError, whose __cause__ is the original). OrchestraServer.call_tool catches it
there and answers with the tool, the exception's type and message (secrets hidden) and what to do.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import structlog
from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError, UnexpectedToolError
from mcp.shared.exceptions import MCPError
from mcp_types import INVALID_PARAMS, CallToolResult, InputRequiredResult

from devops_orchestra.core.errors import OrchestraError
from devops_orchestra.core.redaction import hide_plain_secrets
from devops_orchestra.server.state import AppState
from devops_orchestra.server.toolsets import Selection, ToolInfo, check_tool_names, not_enabled, selection, truthy

log = structlog.get_logger("devops_orchestra.server")

# Request headers that narrow a team server's tools for one connection; they can never add a tool.
TOOLSETS_HEADER = "X-Devops-Orchestra-Toolsets"
TOOLS_HEADER = "X-Devops-Orchestra-Tools"
READ_ONLY_HEADER = "X-Devops-Orchestra-Read-Only"
MAX_DETAIL = 400  # characters of an exception's message shown: a 5,000-character path is not news


@dataclass
class _Registration:
    selection: Selection
    catalog: dict[str, ToolInfo] = field(default_factory=dict)
    toolset: str | None = None  # the toolset whose module is registering its tools right now


class OrchestraServer(MCPServer[AppState]):
    """MCPServer that registers only the selected tools and translates every failure at call time."""

    def __init__(self, *args: Any, selection: Selection, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._registration = _Registration(selection)
        self.tools_listed = asyncio.Event()  # set once a client has been answered its tools/list
        self.middleware.append(self._narrow_tools_list)

    @property
    def selection(self) -> Selection:
        return self._registration.selection

    @property
    def catalog(self) -> Mapping[str, ToolInfo]:
        """Every tool the modules define, registered or not."""
        return self._registration.catalog

    def register_toolsets(self, groups: Mapping[str, Callable[[MCPServer[AppState]], None]], where: str) -> None:
        """Let each toolset's module define its tools; only the selected ones are registered."""
        for toolset, register in groups.items():
            self._registration.toolset = toolset
            register(self)
        self._registration.toolset = None
        check_tool_names(self.selection, self.catalog.values(), where)

    def add_tool(self, fn: Callable[..., Any], name: str | None = None, *args: Any, **kwargs: Any) -> None:
        toolset = self._registration.toolset
        if toolset is None:
            raise RuntimeError("tools are added through register_toolsets, so each has a toolset")
        annotations = kwargs.get("annotations")
        info = ToolInfo(name or fn.__name__, toolset, bool(annotations and annotations.read_only_hint))
        self._registration.catalog[info.name] = info
        if self.selection.allows(info):
            super().add_tool(fn, info.name, *args, **kwargs)

    async def call_tool(
        self, name: str, arguments: dict[str, Any], context: Context[AppState, Any] | None = None
    ) -> CallToolResult | InputRequiredResult:
        info = self.catalog.get(name)
        if info is not None:
            if not self.selection.allows(info):
                raise ToolError(not_enabled(info, self.selection, "server"))
            request = _request_selection(_http_request(context))
            if request is not None and not request.allows(info):
                raise ToolError(not_enabled(info, request, "request"))
        try:
            return await super().call_tool(name, arguments, context)
        except UnexpectedToolError as exc:
            raise ToolError(crash_message(name, exc.__cause__ or exc)) from exc

    async def _narrow_tools_list(self, ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
        """tools/list shows a team-server connection only the tools its headers leave (call_tool checks again)."""
        result = await call_next(ctx)
        if ctx.method != "tools/list" or not isinstance(result, dict):
            return result
        self.tools_listed.set()
        try:
            request = _request_selection(ctx.request)
        except ToolError as exc:
            raise MCPError(code=INVALID_PARAMS, message=str(exc)) from exc
        if request is None:
            return result
        return {**result, "tools": [t for t in result.get("tools", [])
                                    if t.get("name") in self.catalog and request.allows(self.catalog[t["name"]])]}


def crash_message(tool: str, exc: BaseException) -> str:
    """What an unexpected exception in a tool tells the person: what happened, a hint, and how to report it."""
    error_id = uuid.uuid4().hex[:12]
    log.error("tool failed unexpectedly", tool=tool, error_id=error_id, exc_info=exc)
    detail = hide_plain_secrets(str(exc)).strip() or "(no message)"
    if len(detail) > MAX_DETAIL:
        detail = detail[:MAX_DETAIL] + f"... ({len(detail)} characters)"
    hint = next((text for kind, text in _HINTS if isinstance(exc, kind)), "")
    return (f"{tool} failed: {type(exc).__name__}: {detail}. {hint}If the arguments look right, this is a bug in "
            f"devops-orchestra: please report it with error id {error_id} (the server's log has the details "
            "under it).")


_HINTS: tuple[tuple[type[BaseException], str], ...] = (
    (UnicodeError, "An argument holds characters this tool cannot handle: try plain ASCII. "),
    (OSError, "A file operation was refused: check that the paths given exist, are readable and not too long. "),
    (RecursionError, "The input is nested too deeply: try a smaller directory or fewer items. "),
    (MemoryError, "The input is too large: try a smaller directory or fewer items. "),
)


def _http_request(context: Context[AppState, Any] | None) -> Any:
    """The HTTP request a tool call came in, if it came over HTTP (None over stdio or outside a request)."""
    try:
        return context.request_context.request if context is not None else None
    except ValueError:  # a Context made outside a request has no request_context
        return None


def _request_selection(request: Any) -> Selection | None:
    """The narrowing a team-server request asks for in its headers; None when it asks for none (or over stdio)."""
    headers = getattr(request, "headers", None)
    if headers is None:
        return None
    toolsets, tools, read_only = (headers.get(h) for h in (TOOLSETS_HEADER, TOOLS_HEADER, READ_ONLY_HEADER))
    if toolsets is None and tools is None and not truthy(read_only):
        return None
    try:
        # headers only narrow: the server's own selection has decided about deploy tools already
        return selection(toolsets, tools, truthy(read_only), TOOLSETS_HEADER, allow_deploy=True)
    except OrchestraError as exc:
        raise ToolError(str(exc)) from exc
