"""Bearer tokens for the team server: where they come from, and which one a request carries."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from devops_orchestra.core.errors import OrchestraError

if TYPE_CHECKING:
    from mcp.server.auth.middleware.bearer_auth import AuthenticatedUser

TOKENS_ENV = "DEVOPS_ORCHESTRA_TOKENS"
MIN_TOKEN_LENGTH = 16
# A shell command that makes a good token (shown in error messages; the server itself prints nothing to stdout).
MAKE_TOKEN = "python -c 'import secrets; print(secrets.token_urlsafe(32))'"


def load_tokens(env_value: str | None, tokens_file: Path | None) -> tuple[str, ...]:
    """Tokens from the environment (comma-separated) and a file (one a line, # comments); at least one."""
    tokens: list[str] = [t.strip() for t in (env_value or "").split(",")]
    if tokens_file is not None:
        try:
            lines = tokens_file.read_text(encoding="utf-8").splitlines()
        except OSError as exc:
            raise OrchestraError(f"cannot read the tokens file {tokens_file}: {exc.strerror or exc}") from exc
        tokens += [line.split("#", 1)[0].strip() for line in lines]
    tokens = list(dict.fromkeys(t for t in tokens if t))
    if not tokens:
        raise OrchestraError(
            f"the HTTP server needs at least one bearer token: set {TOKENS_ENV}=TOKEN[,TOKEN...] or pass "
            f"--tokens-file PATH (one token a line). Make one with: {MAKE_TOKEN}"
        )
    short = [t for t in tokens if len(t) < MIN_TOKEN_LENGTH]
    if short:
        raise OrchestraError(
            f"{len(short)} token(s) shorter than {MIN_TOKEN_LENGTH} characters: use long random tokens, "
            f"e.g. {MAKE_TOKEN}"
        )
    return tuple(tokens)


class TokenCheck:
    """Which configured token a request carries, compared in constant time against every one of them."""

    def __init__(self, tokens: Sequence[str]) -> None:
        self._digests = [hashlib.sha256(t.encode()).digest() for t in tokens]

    def identify(self, authorization: str | None) -> int | None:
        """The index of the matching token, or None. Hashing first makes every comparison the same length."""
        scheme, _, given = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not given.strip():
            return None
        digest = hashlib.sha256(given.strip().encode()).digest()
        matches = [hmac.compare_digest(digest, known) for known in self._digests]  # no early exit
        return matches.index(True) if any(matches) else None


def token_user(who: int) -> AuthenticatedUser:
    """The SDK's user for token number `who`: the SDK ties each session to the user that opened it."""
    from mcp.server.auth.middleware.bearer_auth import AuthenticatedUser
    from mcp.server.auth.provider import AccessToken

    return AuthenticatedUser(AccessToken(token="", client_id=f"token-{who + 1}", scopes=[]))
