"""The baseline of bench/cold_start.py: a bare mcp 2.x stdio server with one tool, built the way ours is
(MCPServer with a version, instructions and a lifespan)."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from mcp.server.mcpserver import MCPServer


@asynccontextmanager
async def lifespan(_: MCPServer) -> AsyncIterator[dict[str, str]]:
    yield {}


server = MCPServer("bare", version="0", instructions="One tool.", lifespan=lifespan)


@server.tool()
def echo(text: str) -> str:
    """Return the text unchanged."""
    return text


if __name__ == "__main__":
    server.run()
