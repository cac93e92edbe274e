"""MCP tools: thin wrappers that validate arguments, resolve paths and call an agent."""

from collections.abc import Iterator
from contextlib import contextmanager

from mcp.server.mcpserver.exceptions import ToolError
from mcp_types import CallToolResult, TextContent
from pydantic import BaseModel

from devops_orchestra.errors import OrchestraError


@contextmanager
def tool_errors() -> Iterator[None]:
    """Our own errors (bad path, unknown git ref...) reach the client as a tool error it shows as is."""
    try:
        yield
    except OrchestraError as exc:
        raise ToolError(str(exc)) from exc


def structured(model: BaseModel, text: str) -> CallToolResult:
    """A model as structured content plus a short text. Fields that are None are left out: the output
    schemas show optional fields by their plain type, to keep every turn's context small."""
    return CallToolResult(
        content=[TextContent(type="text", text=text)],
        structured_content=model.model_dump(mode="json", exclude_none=True),
    )
