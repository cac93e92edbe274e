"""One file's SQL analysis: a .sql migration or script, or a Python module (migrations, embedded SQL)."""

from __future__ import annotations

import ast
import re
import sys
from dataclasses import replace

from devops_orchestra.analyzers.sql import alembic, django, injection, migration, queries
from devops_orchestra.analyzers.sql.dialect import detect
from devops_orchestra.analyzers.sql.statements import SqlHit, split

# Down/undo steps (golang-migrate `.down.sql`, Flyway `U1__x.sql`) undo an up step on purpose: their drops
# are no hazard, so only their syntax and queries are checked.
_DOWN_MIGRATION = re.compile(r"(^|[._-])down\.sql$|^U\d+(\.\d+)*__.*\.sql$", re.I)

# Driver placeholders sqlglot does not read (psycopg's %s and %(name)s): parse them as named parameters.
_DRIVER_PLACEHOLDER = re.compile(r"%\((\w+)\)s|%s")


# Python no SQL rule can judge is not a finding: the file goes into the report's scope with one of these.
NEEDS_NEWER_GRAMMAR = "not analysed (needs a newer Python grammar)"
DOES_NOT_PARSE = "not analysed (Python that does not parse)"
# What Python 3.12 added that 3.11 reads as an error: PEP 701 f-strings (quotes reused inside, backslashes,
# comments), PEP 695 `type X = ...` and `def f[T]` / `class C[T]`.
_PEP_695 = re.compile(r"^\s*(type\s+\w+\s*(\[.*\])?\s*=|(async\s+)?def\s+\w+\s*\[|class\s+\w+\s*\[)")


class PythonNotAnalysed(Exception):
    """A Python file that could not be read: why, for the report's scope."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason


def is_down_migration(name: str) -> bool:
    """Whether a file name is a down/undo migration (golang-migrate .down.sql, Flyway U1__x.sql)."""
    return bool(_DOWN_MIGRATION.search(name))


def analyse_sql(text: str, dialect: str | None, *, line_offset: int = 0, implicit_transaction: bool = False,
                migrations: bool = True, parse_errors: bool = True) -> list[SqlHit]:
    """Parse errors, migration hazards and query anti-patterns of SQL text, lines counted from line_offset."""
    dialect = dialect or detect(text)
    statements = split(text, dialect)
    hits = migration.check(statements, dialect, implicit_transaction=implicit_transaction) if migrations else []
    recognised = {h.context for h in hits}  # a statement a text rule understood was checked after all
    hits += [SqlHit("parse-error", s.line, s.end_line, f"Not checked: {s.error}", None, s.sql)
             for s in statements if s.error and parse_errors and s.sql not in recognised]
    for stmt in statements:
        hits += queries.check(stmt)
    if line_offset:
        hits = [replace(h, line=h.line + line_offset, end_line=h.end_line + line_offset) for h in hits]
    return sorted(hits, key=lambda h: (h.line, h.rule))


def analyse_python(source: str, dialect: str | None, *, is_migration_path: bool) -> tuple[list[SqlHit], str]:
    """Alembic/Django operations, SQL they run, injection, and anti-patterns in literal SQL. Also returns
    which kind of file it was: 'alembic', 'django' or 'code'.

    Raises PythonNotAnalysed for Python that does not parse: written for a newer Python than this one, or
    broken (an old file nobody imports, a template); neither says anything about its SQL.
    """
    try:
        tree = ast.parse(source)
    except SyntaxError as exc:
        raise PythonNotAnalysed(_why_not_parsed(exc), f"line {exc.lineno or 1}: {exc.msg}") from exc
    except (RecursionError, MemoryError, ValueError) as exc:  # nested too deeply, or a NUL byte past the start
        raise PythonNotAnalysed(DOES_NOT_PARSE, type(exc).__name__) from exc
    kind = "code"
    hits: list[SqlHit] = []
    raw_sql: list[tuple[str, int]] = []
    if alembic.is_alembic(source):
        kind = "alembic"
        hits, raw_sql = alembic.check(tree, source)
    elif is_migration_path and django.is_django(source):
        kind = "django"
        hits, raw_sql = django.check(tree, source)
    if raw_sql:  # one script, so SET lock_timeout carries; both frameworks run a migration in a transaction
        hits += analyse_sql(_as_script(raw_sql), dialect, implicit_transaction=True)
    found, literals = injection.check(tree, source)
    hits += found
    for text, line in literals:  # code holds fragments too: a string that does not parse is not news
        hits += analyse_sql(_DRIVER_PLACEHOLDER.sub(lambda m: f":{m[1] or 'p'}", text), dialect,
                            line_offset=line - 1, migrations=False, parse_errors=False)
    return sorted(hits, key=lambda h: (h.line, h.rule)), kind


def _why_not_parsed(exc: SyntaxError) -> str:
    """Whether a syntax error is this interpreter's grammar being older than the code's."""
    if sys.version_info < (3, 12) and (exc.msg.startswith("f-string") or _PEP_695.match(exc.text or "")):
        return NEEDS_NEWER_GRAMMAR
    return DOES_NOT_PARSE


def _as_script(pieces: list[tuple[str, int]]) -> str:
    """SQL strings of one migration as one script, each starting on its own line of the Python file."""
    out = ""
    for text, line in sorted(pieces, key=lambda p: p[1]):
        out += "\n" * max(0, line - 1 - out.count("\n")) + text.rstrip().rstrip(";") + ";"
    return out
