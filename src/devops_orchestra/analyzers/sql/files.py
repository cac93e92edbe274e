"""One file's SQL analysis: a .sql migration or script, or a Python module (migrations, embedded SQL)."""

from __future__ import annotations

import ast
import re
from dataclasses import replace

from devops_orchestra.analyzers.sql import alembic, django, injection, migration, queries
from devops_orchestra.analyzers.sql.dialect import detect
from devops_orchestra.analyzers.sql.statements import SqlHit, split

# Down/undo steps (golang-migrate `.down.sql`, Flyway `U1__x.sql`) undo an up step on purpose: their drops
# are no hazard, so only their syntax and queries are checked.
_DOWN_MIGRATION = re.compile(r"(^|[._-])down\.sql$|^U\d+(\.\d+)*__.*\.sql$", re.I)

# Driver placeholders sqlglot does not read (psycopg's %s and %(name)s): parse them as named parameters.
_DRIVER_PLACEHOLDER = re.compile(r"%\((\w+)\)s|%s")


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
    which kind of file it was: 'alembic', 'django' or 'code'."""
    try:
        tree = ast.parse(source)
    except SyntaxError as exc:
        line = exc.lineno or 1
        return [SqlHit("parse-error", line, line, f"Python that does not parse: {exc.msg}")], "code"
    except (RecursionError, MemoryError, ValueError) as exc:  # nested too deeply, or a NUL byte past the start
        return [SqlHit("parse-error", 1, 1, f"Python that cannot be read: {type(exc).__name__}")], "code"
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


def _as_script(pieces: list[tuple[str, int]]) -> str:
    """SQL strings of one migration as one script, each starting on its own line of the Python file."""
    out = ""
    for text, line in sorted(pieces, key=lambda p: p[1]):
        out += "\n" * max(0, line - 1 - out.count("\n")) + text.rstrip().rstrip(";") + ";"
    return out
