"""Our own in-process analyses (no subprocess, no mcp)."""
