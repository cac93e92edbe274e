"""What the checks here take for a secret: a variable named like one, given a literal value.

Imported by the checks beside it (checkov puts this directory on sys.path while it loads them).
"""

from __future__ import annotations

import re

# Names that say the value is a secret; KEY alone is too common (KEY_FILE, CACHE_KEY_PREFIX) to count.
SECRET_NAME = re.compile(
    r"(?i)passw(?:or)?d|secret|(?:^|[_.-])(?:pwd|passwd|token|api[_-]?key|access[_-]?key|private[_-]?key"
    r"|credentials?|auth[_-]?key)(?:$|[_.-])"
)
# Names that only point at a secret kept elsewhere: a file, a path, a Secret's name.
POINTER_NAME = re.compile(r"(?i)(?:^|[_.-])(?:file|path|dir|name|ref|url|type|length|len|ttl)$")


def is_secret_name(name: str) -> bool:
    """Whether a variable's name says its value is a secret (DB_PASSWORD, API_TOKEN, not PASSWORD_FILE)."""
    return bool(SECRET_NAME.search(name)) and not POINTER_NAME.search(name)


def is_literal(value: str) -> bool:
    """Whether a value is written out, not empty and not taken from elsewhere ($VAR, ${VAR}, $(cmd))."""
    value = value.strip().strip("\"'")
    return bool(value) and "$" not in value
