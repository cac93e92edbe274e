"""Which SQL dialect a file is written in, when the caller did not say: telltale syntax, else postgres."""

from __future__ import annotations

import re

DEFAULT = "postgres"
_TELLTALES = [
    ("mysql", re.compile(r"(?i)\bENGINE\s*=\s*InnoDB\b|\bAUTO_INCREMENT\b|\bALGORITHM\s*=\s*(INPLACE|INSTANT|COPY)\b|"
                         r"\bMODIFY\s+COLUMN\b|`\w+`")),
    ("tsql", re.compile(r"(?im)\[dbo\]|\bNVARCHAR\s*\(\s*MAX\s*\)|^\s*GO\s*$|\bIDENTITY\s*\(\s*1\s*,\s*1\s*\)")),
    ("bigquery", re.compile(r"(?i)\bCREATE\s+(OR\s+REPLACE\s+)?TABLE\s+`[\w-]+\.[\w-]+\.\w+`|\bSTRUCT<")),
    ("snowflake", re.compile(r"(?i)\bVARIANT\b|\bCREATE\s+(OR\s+REPLACE\s+)?(WAREHOUSE|STAGE)\b")),
]


def detect(text: str) -> str:
    """The dialect the text's syntax gives away, else postgres."""
    for dialect, telltale in _TELLTALES:
        if telltale.search(text):
            return dialect
    return DEFAULT
