"""Our own in-process analyses of a repository (no external scanner involved)."""
