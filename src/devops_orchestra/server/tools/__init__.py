"""MCP tools: thin wrappers that validate arguments, resolve paths and call an agent."""
