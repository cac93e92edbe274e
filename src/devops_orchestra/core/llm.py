"""The optional LLM (Anthropic): drafts what no template covers. Never required; off without ANTHROPIC_API_KEY.

The SDK reads ANTHROPIC_API_KEY and honours ANTHROPIC_BASE_URL (a proxy, or a local test server).
"""

from __future__ import annotations

import os
import re

from devops_orchestra.core.errors import OrchestraError

DEFAULT_MODEL = "claude-sonnet-5-5"
_FENCE = re.compile(r"```(?:dockerfile|Dockerfile|docker)?\s*\n(.*?)```", re.S)


class LlmUnavailable(OrchestraError):
    """No key configured, or the API call failed."""


def configured() -> bool:
    """Whether an Anthropic API key is set, so the LLM can be used."""
    return bool(os.environ.get("ANTHROPIC_API_KEY"))


def model() -> str:
    """The model to ask: $DEVOPS_ORCHESTRA_LLM_MODEL, else DEFAULT_MODEL."""
    return os.environ.get("DEVOPS_ORCHESTRA_LLM_MODEL") or DEFAULT_MODEL


async def complete(prompt: str, *, max_tokens: int = 2_000, timeout_s: float = 120.0) -> str:
    """The model's text answer to one user message."""
    if not configured():
        raise LlmUnavailable("ANTHROPIC_API_KEY is not set")
    import anthropic  # only when asked: the import costs time the server's start does not need to pay

    client = anthropic.AsyncAnthropic(timeout=timeout_s, max_retries=1)
    try:
        message = await client.messages.create(
            model=model(), max_tokens=max_tokens, messages=[{"role": "user", "content": prompt}])
    except anthropic.APIError as exc:
        raise LlmUnavailable(f"the Anthropic API call failed: {exc}") from exc
    finally:
        await client.close()
    return "".join(block.text for block in message.content if block.type == "text")


def code_block(text: str) -> str:
    """The first fenced code block of an answer, or the whole answer when it has none."""
    m = _FENCE.search(text)
    return (m.group(1) if m else text).strip() + "\n"
