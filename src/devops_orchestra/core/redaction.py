"""No secret value in any output: what every finding's snippet, title and message passes through.

Two levels. A line a secret was found on (by any scanner) is redacted as a whole: assigned or quoted values and
long tokens go. Everywhere else only what is plainly a secret goes: the value after a name that says it is one
(password, token, api_key...), the password in a URL, and well-known token shapes; code stays readable.
Values taken from secret lines are then hidden wherever else they appear (a bandit message quoting them).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from devops_orchestra.core.secret_shapes import KNOWN_TOKEN, KNOWN_TOKEN_HINT, SECRET_NAME_WORD
from devops_orchestra.models import Finding

MASK = "«redacted»"
_MIN_VALUE = 6  # shorter values are too common to hide everywhere they occur

_QUOTED_VALUE = re.compile(r"""(?P<pre>(?:[:=,(]|=>)\s*)(?P<q>['"`])(?P<value>[^'"`]+)(?P=q)""")
_BARE_ASSIGNMENT = re.compile(
    r"""^(?P<pre>\s*(?:(?:export|ENV|ARG)\s+)?[\w.-]+\s*[:=]\s*)(?P<value>[^'"`\s#][^\s#]*)""")
_DOCKER_ENV_PAIR = re.compile(r"^(?P<pre>\s*(?:ENV|ARG)\s+[\w.-]+\s+)(?P<value>[^=\s][^\s]*)$")  # ENV KEY value
_LONG_TOKEN = re.compile(r"\b(?P<value>(?=[A-Za-z+/_\-]*\d)[A-Za-z0-9+/_\-]{16,}={0,2})")  # a digit: not a name

_SECRET_NAME = rf"[\w.-]*{SECRET_NAME_WORD}[\w-]*"
_NOT_A_VALUE = r"(?!(?:none|null|nil|true|false|undefined)\b)"
_NAMED_QUOTED = re.compile(
    rf"""(?i)\b(?P<pre>{_SECRET_NAME}["']?\s*(?:[:=]|=>)\s*)(?P<q>["'`]){_NOT_A_VALUE}(?P<value>[^"'`\n]{{3,}})(?P=q)""")
# A bare value: not a call, an index or an attribute (password = request.form["password"] is code, not a secret).
_NAMED_BARE = re.compile(
    rf"""(?i)\b(?P<pre>{_SECRET_NAME}\s*[:=]\s*){_NOT_A_VALUE}(?P<value>[^\s"'`#,;()\[\]{{}}$<>]{{3,}})(?![\w.(\[])""")
_URL_PASSWORD = re.compile(r"(?P<pre>\b[A-Za-z][A-Za-z0-9+.-]*://[^/\s:@]+:)(?P<value>[^@\s/]+)(?=@)")


def redact(line: str) -> str:
    """A line known to hold a secret, with every value that could be it hidden."""
    return redact_collecting(line, [])


def redact_collecting(line: str, values: list[str]) -> str:
    """redact(line), adding each value it hid to values."""
    def hide(m: re.Match[str]) -> str:
        values.append(m["value"])
        return _masked(m)

    for pattern in (_QUOTED_VALUE, _BARE_ASSIGNMENT, _DOCKER_ENV_PAIR, _LONG_TOKEN):
        line = pattern.sub(hide, line)
    return line


# What every match of the four patterns above contains: text without any of it is left as it is, unsearched
# (most titles and messages: a rescan's redaction 10 ms -> under 2 ms on pygoat).
_HINT = re.compile(rf"(?i){SECRET_NAME_WORD}|://|{KNOWN_TOKEN_HINT}")


def hide_plain_secrets(text: str) -> str:
    """Text of any kind with only what is plainly a secret hidden: named values, URL passwords, known tokens."""
    if not _HINT.search(text):
        return text
    for pattern in (_NAMED_QUOTED, _NAMED_BARE, _URL_PASSWORD):
        text = pattern.sub(_masked, text)
    return KNOWN_TOKEN.sub(MASK, text)


def _masked(m: re.Match[str]) -> str:
    """The match with its value group replaced by the mask (the name before it may contain the same text)."""
    start, end = m.span("value")
    return m.string[m.start():start] + MASK + m.string[end:m.end()]


def hide_secrets(findings: Iterable[Finding]) -> list[Finding]:
    """The findings with no secret value left in a snippet, title or message.

    A line any secret finding points at is redacted in every snippet that shows it; the values found there
    are hidden wherever else they appear; plain secrets are hidden everywhere.
    """
    findings = list(findings)
    secret_lines = {(f.location.path, n) for f in findings if f.category == "secret"
                    for n in range(f.location.start_line, f.location.end_line + 1)}
    values: list[str] = []
    snippets = [_snippet(f, secret_lines, values) for f in findings]
    known = sorted({v for v in values if len(v) >= _MIN_VALUE and MASK not in v}, key=len, reverse=True)

    def clean(text: str) -> str:
        for value in known:
            text = text.replace(value, MASK)
        return hide_plain_secrets(text)

    out = []
    for f, snippet in zip(findings, snippets, strict=True):
        update = {"title": clean(f.title), "message": clean(f.message)}
        location = f.location.model_copy(update={"snippet": clean(snippet) if snippet is not None else None})
        changed = update["title"] != f.title or update["message"] != f.message or location != f.location
        out.append(f.model_copy(update={**update, "location": location}) if changed else f)
    return out


def _snippet(f: Finding, secret_lines: set[tuple[str, int]], values: list[str]) -> str | None:
    if f.location.snippet is None:
        return None
    lines = f.location.snippet.split("\n")
    return "\n".join(redact_collecting(line, values) if (f.location.path, f.location.start_line + i) in secret_lines
                     else line for i, line in enumerate(lines))
