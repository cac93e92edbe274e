"""Alembic revisions read statically: the `op.*` calls of upgrade() and what they will do to the database."""

from __future__ import annotations

import ast
from collections.abc import Iterator

from devops_orchestra.analyzers.sql.pyast import arg, callee, hit, is_false, is_true, kwarg, sql_in, string
from devops_orchestra.analyzers.sql.statements import SqlHit

VOLATILE_WORDS = ("random(", "gen_random_uuid(", "uuid_generate_v", "clock_timestamp(", "nextval(")
# Which argument names the table each op works on. On a table op.create_table made earlier in the same
# revision (no rows, no readers yet) none of these is a hazard, as squawk treats a table created in the
# same transaction; postgresql_concurrently inside the transaction still fails, so create_index keeps that.
TABLE_ARG = {"add_column": (0, "table_name"), "alter_column": (0, "table_name"), "drop_column": (0, "table_name"),
             "drop_table": (0, "table_name"), "rename_table": (0, "old_table_name"),
             "create_index": (1, "table_name"), "drop_index": (1, "table_name"),
             "create_foreign_key": (1, "source_table"), "create_check_constraint": (1, "table_name"),
             "create_unique_constraint": (1, "table_name"), "create_primary_key": (1, "table_name")}


def is_alembic(source: str) -> bool:
    """Whether a Python file looks like an Alembic revision."""
    return "alembic" in source and "def upgrade" in source


def check(tree: ast.Module, source: str) -> tuple[list[SqlHit], list[tuple[str, int]]]:
    """Hits from upgrade()'s op calls, and the raw SQL strings of op.execute() for the SQL rules."""
    upgrade = next((n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "upgrade"), None)
    if upgrade is None:
        return [], []
    hits: list[SqlHit] = []
    raw_sql: list[tuple[str, int]] = []
    autocommit = _autocommit_lines(upgrade)
    calls = sorted((n for n in ast.walk(upgrade) if isinstance(n, ast.Call) and _is_op_call(n)),
                   key=lambda n: (n.lineno, n.col_offset))
    created: set[str] = set()  # tables op.create_table made so far in this revision
    for call in calls:
        if callee(call) == "create_table" and (new := string(arg(call, 0, "table_name"))):
            created.add(new)
        if _on_new_table(call, created):
            if callee(call) == "create_index" and is_true(kwarg(call, "postgresql_concurrently")) \
                    and call.lineno not in autocommit:
                hits += _op(call, source, in_autocommit=False)
            continue
        if callee(call) == "execute":
            found = sql_in(arg(call, 0, "sqltext"))
            if found:
                raw_sql.append(found)
            continue
        hits += _op(call, source, in_autocommit=call.lineno in autocommit)
    return hits, raw_sql


def _on_new_table(call: ast.Call, created: set[str]) -> bool:
    where = TABLE_ARG.get(callee(call))
    return where is not None and string(arg(call, *where)) in created


def _is_op_call(call: ast.Call) -> bool:
    """op.x(...); batch_alter_table() (SQLite's copy-and-move) is left alone."""
    f = call.func
    return isinstance(f, ast.Attribute) and isinstance(f.value, ast.Name) and f.value.id == "op"


def _autocommit_lines(fn: ast.FunctionDef) -> set[int]:
    lines: set[int] = set()
    for node in ast.walk(fn):
        if isinstance(node, ast.With) and any("autocommit_block" in ast.unparse(i.context_expr) for i in node.items):
            lines |= set(range(node.lineno, (node.end_lineno or node.lineno) + 1))
    return lines


def _op(call: ast.Call, source: str, *, in_autocommit: bool) -> Iterator[SqlHit]:
    name = callee(call)
    table = string(arg(call, 0, "table_name")) or "table"
    if name == "add_column":
        yield from _add_column(call, source, table)
    elif name == "alter_column":
        column = string(arg(call, 1, "column_name")) or "column"
        if is_false(kwarg(call, "nullable")):
            yield hit(call, source, "setting-not-null", f"alter_column(nullable=False) on {table}.{column} scans "
                      "the table under an ACCESS EXCLUSIVE lock.",
                      f"op.create_check_constraint('{column}_not_null', '{table}', '{column} IS NOT NULL', "
                      "postgresql_not_valid=True)\n"
                      f"op.execute('ALTER TABLE {table} VALIDATE CONSTRAINT {column}_not_null')\n"
                      f"op.alter_column('{table}', '{column}', nullable=False)\n"
                      f"op.drop_constraint('{column}_not_null', '{table}')")
        if kwarg(call, "type_") is not None:
            yield hit(call, source, "changing-column-type", f"alter_column(type_=...) on {table}.{column} rewrites "
                      "the table under an ACCESS EXCLUSIVE lock.")
        if kwarg(call, "new_column_name") is not None:
            yield hit(call, source, "renaming-column", f"Renaming {table}.{column} breaks running code.")
    elif name == "create_index":
        concurrent = is_true(kwarg(call, "postgresql_concurrently"))
        index_table = string(arg(call, 1, "table_name")) or "table"
        if not concurrent:
            yield hit(call, source, "index-not-concurrent", f"create_index on {index_table} blocks writes until "
                      "the index is built.",
                      "with op.get_context().autocommit_block():\n    "
                      + ast.unparse(call).rstrip(")") + ", postgresql_concurrently=True)")
        elif not in_autocommit:
            yield hit(call, source, "concurrently-in-transaction", "postgresql_concurrently=True inside Alembic's "
                      "migration transaction fails: wrap it in op.get_context().autocommit_block().")
    elif name == "drop_index" and not is_true(kwarg(call, "postgresql_concurrently")):
        yield hit(call, source, "drop-index-not-concurrent", "drop_index locks the table against reads and writes.",
                  ast.unparse(call).rstrip(")") + ", postgresql_concurrently=True)")
    elif name == "drop_column":
        yield hit(call, source, "dropping-column", f"Dropping a column of {table} breaks code still using it.")
    elif name == "drop_table":
        yield hit(call, source, "dropping-table", f"Dropping {table} loses its data and breaks code using it.")
    elif name == "rename_table":
        yield hit(call, source, "renaming-table", f"Renaming {table} breaks running code that uses it.")
    elif name == "create_foreign_key" and not is_true(kwarg(call, "postgresql_not_valid")):
        yield hit(call, source, "foreign-key-not-valid", "create_foreign_key validates at once, blocking writes "
                  "on both tables.", ast.unparse(call).rstrip(")") + ", postgresql_not_valid=True)")
    elif name == "create_check_constraint" and not is_true(kwarg(call, "postgresql_not_valid")):
        yield hit(call, source, "check-not-valid", "create_check_constraint scans the table under an ACCESS "
                  "EXCLUSIVE lock.", ast.unparse(call).rstrip(")") + ", postgresql_not_valid=True)")
    elif name == "create_unique_constraint":
        yield hit(call, source, "unique-constraint-without-index", "create_unique_constraint builds its index "
                  "under an ACCESS EXCLUSIVE lock: create a unique index concurrently, then attach it.")
    elif name == "create_table":
        yield from _new_table_columns(call, source, table)
    elif name == "create_primary_key":
        yield hit(call, source, "adding-primary-key", "create_primary_key builds its index under an ACCESS "
                  "EXCLUSIVE lock.")


def _new_table_columns(call: ast.Call, source: str, table: str) -> Iterator[SqlHit]:
    """Column types of op.create_table that age badly: 32-bit keys, timestamps without a zone, CHAR."""
    for column in call.args[1:]:
        if not isinstance(column, ast.Call) or callee(column) != "Column" or len(column.args) < 2:
            continue
        name, kind = string(column.args[0]) or "column", column.args[1]
        type_name = callee(kind) if isinstance(kind, ast.Call) else kind.attr if isinstance(kind, ast.Attribute) \
            else kind.id if isinstance(kind, ast.Name) else ""
        with_zone = isinstance(kind, ast.Call) and is_true(kwarg(kind, "timezone"))
        if type_name in ("Integer", "SmallInteger", "INTEGER") and is_true(kwarg(column, "primary_key")):
            yield hit(column, source, "integer-primary-key", f"{table}.{name} is a 32-bit key.",
                      ast.unparse(column).replace(type_name, "BigInteger", 1))
        elif type_name in ("DateTime", "TIMESTAMP") and not with_zone:
            yield hit(column, source, "timestamp-without-time-zone", f"{table}.{name} has no time zone.",
                      f"sa.Column({name!r}, sa.DateTime(timezone=True), ...)")
        elif type_name in ("CHAR", "NCHAR"):
            yield hit(column, source, "char-column", f"{table}.{name} is CHAR(n).", f"sa.Column({name!r}, sa.Text())")


def _add_column(call: ast.Call, source: str, table: str) -> Iterator[SqlHit]:
    column = arg(call, 1, "column")
    if not isinstance(column, ast.Call) or callee(column) != "Column":
        return
    name = string(column.args[0]) if column.args else "column"
    server_default = kwarg(column, "server_default")
    default_text = ast.unparse(server_default).lower() if server_default is not None else ""
    if any(word in default_text for word in VOLATILE_WORDS):
        yield hit(call, source, "volatile-default", f"server_default {default_text} on {table}.{name} is "
                  "volatile: every row is rewritten under an ACCESS EXCLUSIVE lock.")
    if is_false(kwarg(column, "nullable")) and server_default is None and not is_true(kwarg(column, "primary_key")):
        nullable = ast.unparse(column).replace("nullable=False", "nullable=True")
        yield hit(call, source, "adding-not-null-column", f"{table}.{name} is added NOT NULL without a "
                  "server_default: it fails on a table with rows.",
                  f"op.add_column('{table}', {nullable})\n"
                  f"# backfill in batches, then in a later revision:\n"
                  f"op.create_check_constraint('{name}_not_null', '{table}', '{name} IS NOT NULL', "
                  "postgresql_not_valid=True)\n"
                  f"op.execute('ALTER TABLE {table} VALIDATE CONSTRAINT {name}_not_null')\n"
                  f"op.alter_column('{table}', '{name}', nullable=False)")
