"""SQL analysis: migration safety, query anti-patterns and injection, on sqlglot and Python's ast."""
