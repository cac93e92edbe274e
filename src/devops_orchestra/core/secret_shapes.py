"""What a secret looks like: names that say a value is one, and the shapes of well-known credentials.

One home for both, read by redaction (what to hide in any output) and by the config-secret pass (what to flag).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# A name that says its value is a credential (db_password, API_KEY, github-token, aws_credentials...).
SECRET_NAME_WORD = (r"(?:passw(?:or)?d|pwd|secret|token|api[_-]?key|apikey|access[_-]?key|private[_-]?key"
                    r"|credentials?)")


@dataclass(frozen=True)
class Shape:
    """A credential format someone issues: its name for a person, the fixed prefix it starts with, the rest."""

    name: str
    prefix: str  # a regex; also what a cheap pre-filter looks for
    rest: str


SHAPES = (
    Shape("AWS access key ID", r"(?:AKIA|ASIA)", r"[0-9A-Z]{16}"),
    Shape("GitHub token", r"gh[pousr]_", r"[A-Za-z0-9]{30,}"),
    Shape("GitHub fine-grained token", r"github_pat_", r"[A-Za-z0-9_]{22,}"),
    Shape("GitLab token", r"glpat-", r"[A-Za-z0-9_-]{20,}"),
    Shape("Slack token", r"xox[abposr]-", r"[A-Za-z0-9-]{10,}"),
    Shape("Stripe live key", r"[sr]k_live_", r"[A-Za-z0-9]{16,}"),
    Shape("Google API key", r"AIza", r"[0-9A-Za-z_-]{35}"),
    Shape("JSON Web Token", r"eyJ", r"[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}"),
)
KNOWN_TOKEN = re.compile(r"\b(?:" + "|".join(s.prefix + s.rest for s in SHAPES) + ")")
KNOWN_TOKEN_HINT = "|".join(s.prefix for s in SHAPES)  # in every KNOWN_TOKEN match
PRIVATE_KEY = re.compile(r"-----BEGIN (?:[A-Z]+ )?PRIVATE KEY-----")
_NAMED = [re.compile(r"\b" + s.prefix + s.rest) for s in SHAPES]


def known_shape(text: str) -> str | None:
    """The name of the well-known credential in text (an AWS key ID, a GitHub token...), or None."""
    if PRIVATE_KEY.search(text):
        return "private key"
    return next((s.name for s, pattern in zip(SHAPES, _NAMED, strict=True) if pattern.search(text)), None)
