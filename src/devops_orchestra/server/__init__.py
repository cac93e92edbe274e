"""The MCP server: the app, the state shared between calls, how results are paged, and the tools."""
