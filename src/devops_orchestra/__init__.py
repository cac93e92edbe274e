"""devops-orchestra: a team of DevOps agents served over MCP."""

__version__ = "0.1.0"
