"""The team server: MCP over streamable HTTP for several people, behind auth, limits and a queue."""
