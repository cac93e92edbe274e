"""Secrets of the webhook server (webhook secret, GitHub token or App key, Slack tokens): read from the
environment or a file, never logged, and hidden from every error text that leaves this process."""

from __future__ import annotations

import os
from pathlib import Path

from devops_orchestra.core.errors import OrchestraError
from devops_orchestra.core.redaction import MASK, hide_plain_secrets


def read_secret(env: str, file: Path | None = None) -> str | None:
    """The secret in file (when given) or in $env; None when neither is set. Trailing newlines are not part of it."""
    if file is not None:
        try:
            text = file.expanduser().read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise OrchestraError(f"cannot read the secret file {file}: {exc.strerror}. Give a readable file, "
                                 f"or set ${env} instead.") from None
        if not text:
            raise OrchestraError(f"the secret file {file} is empty: put the secret in it, or set ${env}.")
        return text
    value = os.environ.get(env, "").strip()
    return value or None


class Redactor:
    """Hides the secrets it was given, and whatever plainly looks like one, from a text."""

    def __init__(self) -> None:
        self._values: list[str] = []

    def add(self, *secrets: str | None) -> None:
        for secret in secrets:
            if secret:
                self._values = sorted({*self._values, secret, *secret.splitlines()} - {""}, key=len, reverse=True)

    def __call__(self, text: str) -> str:
        for value in self._values:
            if len(value) >= 4:  # a shorter line of a key (a PEM's last line) is too common to hide everywhere
                text = text.replace(value, MASK)
        return hide_plain_secrets(text)


REDACT = Redactor()  # the process's secrets, added where they are read (cli/webhooks.py)
