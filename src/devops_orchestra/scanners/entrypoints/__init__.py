"""Scripts that run inside the scanners' own Python environments (by path, not import), patching their
internals for speed while keeping their output identical. Nothing here imports devops_orchestra."""
