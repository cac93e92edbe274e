"""Secrets written into configuration files: a credential belongs in a secret store, not in the repository.

Looks at configuration (env files, YAML, JSON, TOML, INI, properties, Terraform, compose, Kubernetes
manifests) for a key named like a credential with a literal value, connection URLs with a password,
and private keys. Placeholders (`${VAR}`, `<changeme>`, `{{ .Values.x }}`, empty) do not count.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import PurePosixPath

_CONFIG_SUFFIXES = frozenset({".env", ".yaml", ".yml", ".json", ".toml", ".ini", ".cfg", ".conf", ".properties",
                              ".tf", ".tfvars", ".pem", ".key"})
_KEY = r"""[\w.-]*(?:password|passwd|pwd|secret|token|api[_-]?key|apikey|access[_-]?key|private[_-]?key|credentials?)"""
_ASSIGNMENT = re.compile(
    rf"""^\s*(?:-\s*)?(?:export\s+)?["']?(?P<key>{_KEY}(?:[_.-][\w.-]*)?)["']?\s*[:=]\s*(?P<value>.+?)\s*,?\s*$""",
    re.IGNORECASE,
)
_K8S_NAME = re.compile(rf"""^\s*-?\s*name:\s*["']?(?P<key>{_KEY}(?:[_.-][\w.-]*)?)["']?\s*$""", re.IGNORECASE)
_K8S_VALUE = re.compile(r"""^\s*value:\s*(?P<value>.+?)\s*$""")
_URL_PASSWORD = re.compile(r"""\b[a-z][a-z0-9+.-]*://[^:@/\s'"]*:(?P<value>[^@/\s'"]+)@""", re.IGNORECASE)
_PRIVATE_KEY = re.compile(r"-----BEGIN (?:[A-Z]+ )?PRIVATE KEY-----")
_PLACEHOLDER = re.compile(r"""^(\$\{?|\{\{|%\(|<|\*+$|x+$|changeme|change-me|todo|none|null|true|false|~|var\.|"""
                          r"""local\.|data\.|module\.|\[|\{|secretKeyRef|valueFrom)""", re.IGNORECASE)


@dataclass(frozen=True)
class ConfigSecret:
    """A secret written into a configuration file: where, under which key, of which kind."""

    path: str
    line: int
    key: str
    kind: str  # "credential", "url password", "private key"


def is_config(rel: str) -> bool:
    """Whether a file is configuration (env, YAML, JSON, TOML, INI, Terraform, keys, ...) worth checking."""
    name = PurePosixPath(rel).name
    return (PurePosixPath(rel).suffix.lower() in _CONFIG_SUFFIXES or name.startswith(".env")
            or name.endswith(".env"))


def find_secrets(rel: str, text: str) -> list[ConfigSecret]:
    """The credentials, passwords in URLs and private keys written into one configuration file's text."""
    out: list[ConfigSecret] = []
    lines = text.splitlines()
    for i, line in enumerate(lines, 1):
        if line.lstrip().startswith(("#", "//", ";")):
            continue
        if _PRIVATE_KEY.search(line):
            out.append(ConfigSecret(rel, i, "private key", "private key"))
            continue
        m = _ASSIGNMENT.match(line)
        if m and _literal(m["value"]):
            out.append(ConfigSecret(rel, i, m["key"], "credential"))
            continue
        m = _K8S_NAME.match(line)
        if m and i < len(lines):
            value = _K8S_VALUE.match(lines[i])
            if value and _literal(value["value"]):
                out.append(ConfigSecret(rel, i + 1, m["key"], "credential"))
                continue
        url = _URL_PASSWORD.search(line)
        if url and _literal(url["value"]):
            out.append(ConfigSecret(rel, i, "password in a URL", "url password"))
    return out


def _literal(value: str) -> bool:
    """A value that looks like a credential: one word with a digit or a symbol, or a long one.

    A plain word (`critical`, `enabled`) or a sentence is a setting or a description, not a secret.
    """
    value = value.strip().strip("\"'`").strip()
    if len(value) < 4 or _PLACEHOLDER.match(value) or value.startswith("$") or any(c.isspace() for c in value):
        return False
    return len(value) >= 16 or not value.isalpha()
