"""SQL text -> statements with their lines, each parsed on its own so one bad statement spoils nothing."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError, TokenError
from sqlglot.tokenizer_core import Token, TokenType

# sqlglot logs every statement it keeps as an opaque Command; we handle those ourselves.
logging.getLogger("sqlglot").setLevel(logging.ERROR)

DIALECTS = ("postgres", "mysql", "sqlite", "snowflake", "bigquery", "tsql", "oracle", "redshift", "duckdb",
            "clickhouse", "databricks", "spark", "trino", "presto", "hive", "mariadb")


@dataclass(frozen=True)
class SqlHit:
    """One rule matched: where (1-based lines of the analysed text) and what to do instead."""

    rule: str
    line: int
    end_line: int
    message: str
    fix: str | None = None
    context: str = ""  # the code the fingerprint is built from


@dataclass(frozen=True)
class Statement:
    """One SQL statement: its text, lines, and parse tree (None, with the error, when it did not parse)."""

    sql: str
    line: int
    end_line: int
    tree: exp.Expr | None  # None: did not parse
    error: str | None = None

    @property
    def command(self) -> str:
        """The statement's text in upper case on one line: for what sqlglot keeps as an opaque Command."""
        return " ".join(self.sql.upper().split())


def _line_at(text: str, offset: int) -> int:
    return text.count("\n", 0, offset) + 1


def split(text: str, dialect: str) -> list[Statement]:
    """Every statement of text, with its lines; a statement that does not parse carries the error."""
    d = sqlglot.Dialect.get_or_raise(dialect)
    try:
        tokens = d.tokenize(text)
    except TokenError as exc:  # an unterminated string or comment: nothing after it can be trusted
        return [Statement(text.strip(), 1, max(1, text.count("\n")), None, f"cannot tokenize: {exc}")]
    groups: list[list[Token]] = [[]]
    for tok in tokens:
        if tok.token_type == TokenType.SEMICOLON or (dialect == "tsql" and _batch_separator(text, tok)):
            groups.append([])
        else:
            groups[-1].append(tok)
    out = []
    for group in groups:
        if not group:
            continue
        start, end = group[0].start, group[-1].end + 1
        sql = text[start:end]
        line, end_line = _line_at(text, start), _line_at(text, end - 1)
        try:
            trees = d.parser().parse(group, sql)
            tree = trees[0] if trees else None
            if isinstance(tree, (exp.Condition, exp.Alias)):  # sqlglot reads `SELEC x` as a bare expression
                out.append(Statement(sql, line, end_line, None, f"not a statement: it starts with {group[0].text!r}"))
            else:
                out.append(Statement(sql, line, end_line, tree))
        except (ParseError, TokenError) as exc:
            out.append(Statement(sql, line, end_line, None, _first_error(exc)))
        except RecursionError:
            out.append(Statement(sql, line, end_line, None, "nested too deeply to parse"))
    return out


def _batch_separator(text: str, tok: Token) -> bool:
    """T-SQL's GO: alone on its line, it ends a batch (it is a client command, not SQL)."""
    if tok.text.upper() != "GO":
        return False
    line_start = text.rfind("\n", 0, tok.start) + 1
    line_end = text.find("\n", tok.end + 1)
    return text[line_start:len(text) if line_end < 0 else line_end].strip().upper() == "GO"


_TOKEN_REPR = re.compile(r"<Token token_type: [^,]+, text: (.*?), line: .*?>")


def _first_error(exc: Exception) -> str:
    """sqlglot's first complaint, with its token objects shown as the text they hold."""
    text = str(exc.errors[0].get("description") or exc) if isinstance(exc, ParseError) and exc.errors else str(exc)
    return _TOKEN_REPR.sub(lambda m: repr(m[1]), text.splitlines()[0].strip() if text else "syntax error")
