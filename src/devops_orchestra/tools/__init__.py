"""MCP tools: thin wrappers that validate arguments, resolve paths and call an agent."""

from mcp_types import CallToolResult, TextContent
from pydantic import BaseModel


def structured(model: BaseModel, text: str) -> CallToolResult:
    """A model as structured content plus a short text. Fields that are None are left out: the output
    schemas show optional fields by their plain type, to keep every turn's context small."""
    return CallToolResult(
        content=[TextContent(type="text", text=text)],
        structured_content=model.model_dump(mode="json", exclude_none=True),
    )
