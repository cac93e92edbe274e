"""How a tool answers: structured content with a short text, a report paged to the budget, our errors as tool errors."""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

from mcp.server.mcpserver.exceptions import ToolError
from mcp_types import CallToolResult, TextContent
from pydantic import BaseModel

from devops_orchestra.core.errors import OrchestraError
from devops_orchestra.models import AgentReport
from devops_orchestra.server.paging import page

R = TypeVar("R", bound=AgentReport)


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


def paged(report: R, max_findings: int, full_report_uri: str, text: Callable[[R], str]) -> CallToolResult:
    """An agent's report as a tool result: its first findings within the response budget, the rest behind
    full_report_uri, and text(report) beside it."""
    shown = page(report, max_findings, full_report_uri, text)
    return structured(shown, text(shown))
