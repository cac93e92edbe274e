"""Secrets written into configuration files: a credential belongs in a secret store, not in the repository.

Looks at configuration (env files, YAML, JSON, TOML, INI, properties, Terraform, compose, Kubernetes
manifests) for a key named like a credential, connection URLs with a password, and private keys. The key only
says where to look; the value decides (judge): a known credential shape is a secret for certain, a value that
is plainly something else (a path, a URL, a placeholder, a reference, a number, a word) is not, and what is
left counts when it is random enough for its length and alphabet.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import PurePosixPath

from devops_orchestra.core.secret_shapes import PRIVATE_KEY, SECRET_NAME_WORD, known_shape
from devops_orchestra.models import Confidence

_CONFIG_SUFFIXES = frozenset({".env", ".yaml", ".yml", ".json", ".toml", ".ini", ".cfg", ".conf", ".properties",
                              ".tf", ".tfvars", ".pem", ".key"})
_KEY = rf"""[\w.-]*{SECRET_NAME_WORD}(?:[_.-][\w.-]*)?"""
_ASSIGNMENT = re.compile(
    rf"""^\s*(?:-\s*)?(?:export\s+)?["']?(?P<key>{_KEY})["']?\s*[:=]\s*(?P<value>.+?)\s*,?\s*$""",
    re.IGNORECASE,
)
_K8S_NAME = re.compile(rf"""^\s*-?\s*name:\s*["']?(?P<key>{_KEY})["']?\s*$""", re.IGNORECASE)
_K8S_VALUE = re.compile(r"""^\s*value:\s*(?P<value>.+?)\s*$""")
_URL_PASSWORD = re.compile(r"""\b[a-z][a-z0-9+.-]*://[^:@/\s'"]*:(?P<value>[^@/\s'"]+)@""", re.IGNORECASE)

# A key about a secret rather than holding one: token_url, password_file, secret_name, api_key_env, token_ttl.
_ABOUT_A_SECRET = re.compile(r"[_.-](?:file|path|dir|url|uri|endpoint|env|var|name|id|length|len|min|max|ttl|"
                             r"expir\w*|lifetime|timeout|header|type|algorithm|policy|rotation\w*|ref|key_?ref)$",
                             re.IGNORECASE)
# Values that stand for a secret kept elsewhere, or say one goes here.
_PLACEHOLDER = re.compile(r"""^(?:\$|%\(|%\w+%$|<|\*|!|~$|x{3,}|changeme|change[-_]?me|replace[-_]?me|your[-_]|"""
                          r"""todo|fixme|none$|null$|nil$|undefined$|example|dummy|redacted|secretKeyRef|valueFrom|"""
                          r"""@Microsoft\.KeyVault|vault:|ref\+|arn:aws:(?:secretsmanager|ssm):|\[|\{)""",
                          re.IGNORECASE)
_TEMPLATE = re.compile(r"\$\{|\{\{|\$\(|%\(\w+\)s")  # anywhere: "Bearer ${TOKEN}", "{{ .Values.token }}"
_BOOLEAN = re.compile(r"^(?:true|false|yes|no|on|off)$", re.IGNORECASE)
_NUMBER = re.compile(r"^[+-]?\d[\d_.,:]*[a-zA-Z]{0,3}$")  # 12, 3600s, 1.5, 12:00
_URL = re.compile(r"^[a-z][a-z0-9+.-]*://", re.IGNORECASE)  # one with a password is caught as a URL password
_PATH = re.compile(r"^(?:\.{1,2}/|~/|/[A-Za-z_]+(?=/|$))[\w@.+-]*(?:/[\w@.+-]*)*$"  # ./x, ~/x, /run/secrets/x
                   r"|^[\w@.+-]+(?:/[\w@.+-]+)+\.[A-Za-z][A-Za-z0-9]{0,5}$")  # models/users/token.md
_DOTTED_NAME = re.compile(r"^[A-Za-z_][\w-]*(?:\.[A-Za-z_][\w-]*)+$")  # var.db_password, settings.SECRET_KEY
_ENV_NAME = re.compile(r"^[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+$")  # GITHUB_TOKEN: the name of a variable
_WORDS = re.compile(r"^[A-Za-z]+(?:[-_][A-Za-z]+)*$")  # critical, enabled, db-credentials, your_token_here
_HEX = re.compile(r"^(?:[0-9a-f]+|[0-9A-F]+)$")
_MIN_LENGTH = 8  # shorter, a value cannot be told from a setting (HS256, sha256, v1.2)
_MIN_RANDOMNESS = 0.75  # of the most entropy a value of this length and alphabet can have
_RANDOM_LENGTH = 16  # from here on, a random value reads as a generated key rather than a chosen password


@dataclass(frozen=True)
class Judgement:
    """Why a value is taken for a secret, and how sure that is."""

    confidence: Confidence
    why: str  # "a GitHub token", "a random-looking value (...)": for the finding's message


@dataclass(frozen=True)
class ConfigSecret:
    """A secret written into a configuration file: where, under which key, of which kind, and why."""

    path: str
    line: int
    key: str
    kind: str  # "credential", "url password", "private key"
    confidence: Confidence = "high"
    why: str = "a credential"


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
        if PRIVATE_KEY.search(line):
            out.append(ConfigSecret(rel, i, "private key", "private key", "high", "a private key"))
            continue
        m = _ASSIGNMENT.match(line)
        if m and (found := judge(m["key"], m["value"])):
            out.append(ConfigSecret(rel, i, m["key"], "credential", found.confidence, found.why))
            continue
        m = _K8S_NAME.match(line)
        if m and i < len(lines):
            value = _K8S_VALUE.match(lines[i])
            if value and (found := judge(m["key"], value["value"])):
                out.append(ConfigSecret(rel, i + 1, m["key"], "credential", found.confidence, found.why))
                continue
        url = _URL_PASSWORD.search(line)
        if url and (found := _url_password(url["value"])):
            out.append(ConfigSecret(rel, i, "password in a URL", "url password", found.confidence, found.why))
    return out


def judge(key: str, raw: str) -> Judgement | None:
    """Whether the value written under a key that names a credential is one, and how sure that is."""
    value = _unquoted(raw)
    if shape := known_shape(value):
        return Judgement("high", _a(shape))
    if _ABOUT_A_SECRET.search(key) or _stands_for_something_else(value):
        return None
    if len(value) < _MIN_LENGTH or (_WORDS.match(value) and not _random_letters(value)):
        return None
    randomness, alphabet = _randomness(value)
    if randomness < _MIN_RANDOMNESS:
        return None
    measure = f"{len(value)} characters of a {alphabet}-symbol alphabet, {randomness:.0%} of the entropy it could have"
    kind = "a random-looking value" if len(value) >= _RANDOM_LENGTH else "a password-like literal"
    return Judgement("medium", f"{kind} ({measure})")


def _url_password(raw: str) -> Judgement | None:
    """The password in a connection URL: the URL says what it is, so only placeholders are let through."""
    value = _unquoted(raw)
    if shape := known_shape(value):
        return Judgement("high", f"{_a(shape)} as a URL password")
    if _PLACEHOLDER.match(value) or _TEMPLATE.search(value):
        return None
    # postgres:postgres, user:password: a local default more often than a leaked production password
    return Judgement("low" if _WORDS.match(value) else "medium", "a password in a connection URL")


def _a(name: str) -> str:
    return f"{'an' if name[0] in 'AEIOU' else 'a'} {name}"


def _unquoted(raw: str) -> str:
    """The value as written: inside its quotes, or without a trailing comment."""
    raw = raw.strip()
    if raw[:1] in ("'", '"', "`"):
        end = raw.find(raw[0], 1)
        return raw[1:end] if end > 0 else raw[1:]
    return re.split(r"\s+[#;]", raw, maxsplit=1)[0].strip()


def _stands_for_something_else(value: str) -> bool:
    """A value that is plainly not a secret: empty, a placeholder or reference, a number, a path, a sentence."""
    return (not value or bool(_PLACEHOLDER.match(value) or _TEMPLATE.search(value) or _BOOLEAN.match(value)
                              or _NUMBER.match(value) or _URL.match(value) or _PATH.match(value)
                              or _DOTTED_NAME.match(value) or _ENV_NAME.match(value))
            or any(c.isspace() for c in value))


def _random_letters(value: str) -> bool:
    """Letters only, yet long and in mixed case throughout (a generated key), not a word or a camelCase name."""
    upper = sum(c.isupper() for c in value)
    return len(value) >= _RANDOM_LENGTH and min(upper, len(value) - upper) >= len(value) / 4


def _randomness(value: str) -> tuple[float, int]:
    """Shannon entropy per character over the most a value of this length and alphabet can have; the alphabet."""
    if _HEX.match(value):
        alphabet = 16
    else:
        alphabet = (26 * any(c.islower() for c in value) + 26 * any(c.isupper() for c in value)
                    + 10 * any(c.isdigit() for c in value) + 32 * any(not c.isalnum() for c in value))
    counts = Counter(value).values()
    entropy = -sum(n / len(value) * math.log2(n / len(value)) for n in counts)
    return entropy / math.log2(min(len(value), alphabet)), alphabet
