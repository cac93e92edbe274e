"""Migration safety: which DDL takes long locks, rewrites tables or breaks the code still running.

PostgreSQL rules follow its lock levels; MySQL/InnoDB gets its own ALGORITHM/LOCK rule.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from sqlglot import exp

from devops_orchestra.analyzers.sql.statements import SqlHit, Statement

POSTGRES_LIKE = frozenset({"postgres", "redshift"})
MYSQL_LIKE = frozenset({"mysql", "mariadb"})
VOLATILE = re.compile(
    r"\b(RANDOM|GEN_RANDOM_UUID|UUID_GENERATE_V\w+|CLOCK_TIMESTAMP|TIMEOFDAY|NEXTVAL|TXID_CURRENT|UUID)\s*\(",
    re.I)
SERIAL_TYPES = frozenset({exp.DataType.Type.SERIAL, exp.DataType.Type.BIGSERIAL, exp.DataType.Type.SMALLSERIAL})
INT32_TYPES = frozenset({exp.DataType.Type.INT, exp.DataType.Type.SERIAL, exp.DataType.Type.SMALLINT,
                         exp.DataType.Type.SMALLSERIAL, exp.DataType.Type.MEDIUMINT})
RENAME_WITHOUT_COLUMN = re.compile(r"\bRENAME\s+(?!TO\b|COLUMN\b)(\S+)\s+TO\s+\S+")
VALIDATE = re.compile(r"^ALTER\s+TABLE\s+(?:ONLY\s+)?(\S+)\s+VALIDATE\s+CONSTRAINT\s+(\S+)$")
BLOCKING_MAINTENANCE = re.compile(r"^(VACUUM\s*(\(.*\bFULL\b.*\)|FULL\b)|CLUSTER\b|REINDEX\s+(?!.*\bCONCURRENTLY\b)"
                                  r"\w+|ALTER\s+TABLE\b.*\bSET\s+TABLESPACE\b)")
MYSQL_ONLINE = re.compile(r"ALGORITHM\s*=\s*INSTANT|ALGORITHM\s*=\s*INPLACE.*LOCK\s*=\s*NONE|"
                          r"LOCK\s*=\s*NONE.*ALGORITHM\s*=\s*INPLACE")


@dataclass
class FileState:
    """What earlier statements of one migration established."""

    dialect: str
    in_transaction: bool = False
    lock_timeout: bool = False
    lock_warned: bool = False
    new_tables: set[str] = field(default_factory=set)  # created in this migration: no rows, no readers yet
    not_null_checks: dict[str, tuple[str, str]] = field(default_factory=dict)  # constraint -> (table, column)
    proven_not_null: set[tuple[str, str]] = field(default_factory=set)  # by a validated CHECK (col IS NOT NULL)

    def is_new(self, table: str) -> bool:
        """Whether table was created earlier in this migration (so it has no rows or readers yet)."""
        return table.lower() in self.new_tables  # unquoted names fold to lower case


def check(statements: list[Statement], dialect: str, *, implicit_transaction: bool = False) -> list[SqlHit]:
    """Migration hits for one file's statements, in order (state carries from one to the next)."""
    state = FileState(dialect, in_transaction=implicit_transaction)
    hits: list[SqlHit] = []
    for stmt in statements:
        hits += statement_hits(stmt, state)
    return hits


def statement_hits(stmt: Statement, state: FileState) -> list[SqlHit]:
    """Migration hits for one statement; updates state (transaction, lock_timeout, new tables) for the next."""
    tree = stmt.tree
    maintenance = list(_maintenance(stmt)) if state.dialect in POSTGRES_LIKE else []  # read from the text
    if tree is None or maintenance:  # sqlglot could not read it, or a text rule already said what it does
        return maintenance
    text = stmt.command
    if isinstance(tree, exp.Transaction) or text.startswith(("BEGIN", "START TRANSACTION")):
        state.in_transaction = True
        return []
    if isinstance(tree, (exp.Commit, exp.Rollback)):
        state.in_transaction = False
        return []
    if "LOCK_TIMEOUT" in text and text.startswith("SET"):
        state.lock_timeout = True
        return []
    _note_not_null_checks(stmt, tree, state)
    hits = list(_rules(stmt, tree, state))
    if isinstance(tree, exp.Create) and tree.kind == "TABLE":
        state.new_tables.add(_name(tree.this).lower())
    if state.dialect in POSTGRES_LIKE and not state.lock_timeout and not state.lock_warned and _locks(tree, state):
        state.lock_warned = True
        hits.append(_hit(stmt, "missing-lock-timeout",
                         "This statement takes a lock on an existing table and nothing set lock_timeout first: "
                         "if it has to wait, every query behind it waits too.",
                         "SET lock_timeout = '5s';\n" + stmt.sql + ";"))
    return hits


def _rules(stmt: Statement, tree: exp.Expr, state: FileState) -> Iterator[SqlHit]:
    pg = state.dialect in POSTGRES_LIKE
    if isinstance(tree, exp.Alter) and tree.kind == "TABLE":
        table = _name(tree.this)
        fresh = state.is_new(table)
        for action in tree.args.get("actions") or []:
            fresh_or_proven = fresh or (isinstance(action, exp.AlterColumn)
                                        and (table, action.name) in state.proven_not_null)
            yield from _alter_action(stmt, tree, table, action, pg=pg, fresh=fresh_or_proven)
        if state.dialect in MYSQL_LIKE and not MYSQL_ONLINE.search(stmt.command) and not fresh:
            yield _hit(stmt, "mysql-unsafe-alter", f"ALTER TABLE {table} does not say ALGORITHM/LOCK: InnoDB may "
                       "copy the table while blocking writes.", stmt.sql.rstrip() + ", ALGORITHM=INPLACE, LOCK=NONE;")
    elif isinstance(tree, exp.Command) and tree.name.upper() == "ALTER":
        yield from _alter_command(stmt)
    elif isinstance(tree, exp.Create):
        yield from _create(stmt, tree, state)
    elif isinstance(tree, exp.Drop):
        yield from _drop(stmt, tree, state, pg=pg)
    elif isinstance(tree, exp.TruncateTable):
        yield _hit(stmt, "truncate-table", "TRUNCATE deletes every row under an ACCESS EXCLUSIVE lock.")
    if state.dialect in MYSQL_LIKE and re.match(r"CREATE\s+(UNIQUE\s+)?INDEX\b", stmt.command) \
            and not MYSQL_ONLINE.search(stmt.command):
        yield _hit(stmt, "mysql-unsafe-alter", "CREATE INDEX without ALGORITHM=INPLACE, LOCK=NONE may block writes.",
                   stmt.sql.rstrip() + " ALGORITHM=INPLACE LOCK=NONE;")


def _alter_action(stmt: Statement, alter: exp.Alter, table: str, action: exp.Expr, *,
                  pg: bool, fresh: bool) -> Iterator[SqlHit]:
    if isinstance(action, exp.ColumnDef):  # ADD COLUMN
        if not fresh:
            yield from _added_column(stmt, table, action, pg=pg)
    elif isinstance(action, exp.AlterColumn):
        column = action.name
        if action.args.get("dtype") is not None and not fresh:
            yield _hit(stmt, "changing-column-type", f"Changing the type of {table}.{column} rewrites the table "
                       "under an ACCESS EXCLUSIVE lock and may break code reading it.")
        if action.args.get("allow_null") is False and not action.args.get("drop") and pg and not fresh:
            c = f"{table}_{column}_not_null"
            yield _hit(stmt, "setting-not-null", f"SET NOT NULL on {table}.{column} scans the whole table under "
                       "an ACCESS EXCLUSIVE lock.",
                       f"ALTER TABLE {table} ADD CONSTRAINT {c} CHECK ({column} IS NOT NULL) NOT VALID;\n"
                       f"ALTER TABLE {table} VALIDATE CONSTRAINT {c};\n"
                       f"ALTER TABLE {table} ALTER COLUMN {column} SET NOT NULL;\n"
                       f"ALTER TABLE {table} DROP CONSTRAINT {c};")
    elif isinstance(action, exp.ModifyColumn) and not fresh:  # MySQL MODIFY/CHANGE COLUMN
        yield _hit(stmt, "changing-column-type", f"MODIFY COLUMN on {table} may rebuild the table and change "
                   "what running code reads.")
    elif isinstance(action, exp.Drop) and (action.args.get("kind") or "").upper() == "COLUMN":
        names = ", ".join(t.name for t in _targets(action))
        yield _hit(stmt, "dropping-column", f"Dropping {table}.{names} breaks code of the previous release "
                   "that still reads or writes it.")
    elif isinstance(action, exp.RenameColumn):
        old, new = action.this.name, action.args["to"].name
        yield _hit(stmt, "renaming-column", f"Renaming {table}.{old} to {new} breaks running code that uses "
                   f"{old}.")
    elif isinstance(action, exp.AlterRename) and (renamed := RENAME_WITHOUT_COLUMN.search(stmt.command)):
        # `RENAME a TO b` (COLUMN is optional) is a column rename that sqlglot reads as a table rename
        yield _hit(stmt, "renaming-column", f"Renaming {table}.{renamed[1].lower()} breaks running code that uses it.")
    elif isinstance(action, exp.AlterRename):
        yield _hit(stmt, "renaming-table", f"Renaming {table} to {_name(action.this)} breaks running code that "
                   f"uses {table}.")
    elif isinstance(action, exp.AddConstraint) and pg and not fresh:
        yield from _added_constraint(stmt, alter, table, action)


def _added_column(stmt: Statement, table: str, col: exp.ColumnDef, *, pg: bool) -> Iterator[SqlHit]:
    kinds = [c.args.get("kind") for c in col.args.get("constraints") or []]
    not_null = any(isinstance(k, exp.NotNullColumnConstraint) and not k.args.get("allow_null") for k in kinds)
    default = next((k for k in kinds if isinstance(k, exp.DefaultColumnConstraint)), None)
    dtype = col.args.get("kind")
    name = col.name
    if default is not None and pg and VOLATILE.search(default.sql("postgres")):
        yield _hit(stmt, "volatile-default", f"The default of {table}.{name} is volatile: PostgreSQL writes it "
                   "into every existing row, rewriting the table under an ACCESS EXCLUSIVE lock.",
                   f"ALTER TABLE {table} ADD COLUMN {name} {_type(dtype)};\n"
                   f"ALTER TABLE {table} ALTER COLUMN {name} SET {default.sql('postgres')};\n"
                   f"-- backfill existing rows in batches, e.g. UPDATE {table} SET {name} = ... WHERE id BETWEEN ...")
    if pg and ((isinstance(dtype, exp.DataType) and dtype.this in SERIAL_TYPES)
               or any(isinstance(k, exp.GeneratedAsIdentityColumnConstraint) for k in kinds)):
        yield _hit(stmt, "adding-serial-column", f"Adding serial/identity column {table}.{name} fills every row: "
                   "the table is rewritten under an ACCESS EXCLUSIVE lock.")
    if pg and any(isinstance(k, exp.Reference) for k in kinds):
        yield _hit(stmt, "foreign-key-not-valid", f"{table}.{name} REFERENCES another table: the foreign key is "
                   "validated at once while writes to both tables wait.",
                   f"ALTER TABLE {table} ADD COLUMN {name} {_type(dtype)};\n"
                   f"ALTER TABLE {table} ADD CONSTRAINT {table}_{name}_fkey FOREIGN KEY ({name}) REFERENCES ... "
                   f"NOT VALID;\nALTER TABLE {table} VALIDATE CONSTRAINT {table}_{name}_fkey;")
    if not_null and default is None:
        c = f"{table}_{name}_not_null"
        yield _hit(stmt, "adding-not-null-column", f"{table}.{name} is added NOT NULL without a default: it fails "
                   "on a table with rows, and code of the previous release cannot insert.",
                   f"ALTER TABLE {table} ADD COLUMN {name} {_type(dtype)};\n"
                   f"-- backfill in batches: UPDATE {table} SET {name} = ... WHERE id BETWEEN ... ;\n"
                   f"ALTER TABLE {table} ADD CONSTRAINT {c} CHECK ({name} IS NOT NULL) NOT VALID;\n"
                   f"ALTER TABLE {table} VALIDATE CONSTRAINT {c};\n"
                   f"ALTER TABLE {table} ALTER COLUMN {name} SET NOT NULL;\n"
                   f"ALTER TABLE {table} DROP CONSTRAINT {c};")
    yield from _column_types(stmt, table, col, primary=False)


def _added_constraint(stmt: Statement, alter: exp.Alter, table: str, action: exp.AddConstraint) -> Iterator[SqlHit]:
    not_valid = bool(alter.args.get("not_valid"))
    for con in action.find_all(exp.Constraint, exp.ForeignKey, exp.PrimaryKey, exp.UniqueColumnConstraint,
                               exp.CheckColumnConstraint):
        name = con.parent.name if isinstance(con.parent, exp.Constraint) else "c"
        if isinstance(con, exp.ForeignKey) and not not_valid:
            yield _hit(stmt, "foreign-key-not-valid", f"The foreign key on {table} is validated at once, locking "
                       "writes on both tables while it scans.",
                       f"{stmt.sql.rstrip()} NOT VALID;\nALTER TABLE {table} VALIDATE CONSTRAINT {name};")
        elif isinstance(con, exp.CheckColumnConstraint) and not not_valid:
            yield _hit(stmt, "check-not-valid", f"The CHECK constraint on {table} scans the table under an ACCESS "
                       "EXCLUSIVE lock.",
                       f"{stmt.sql.rstrip()} NOT VALID;\nALTER TABLE {table} VALIDATE CONSTRAINT {name};")
        elif isinstance(con, exp.UniqueColumnConstraint):
            cols = con.this.sql("postgres") if con.this is not None else "(...)"
            yield _hit(stmt, "unique-constraint-without-index", f"UNIQUE on {table} builds its index under an "
                       "ACCESS EXCLUSIVE lock.",
                       f"CREATE UNIQUE INDEX CONCURRENTLY {name}_idx ON {table} {cols};\n"
                       f"ALTER TABLE {table} ADD CONSTRAINT {name} UNIQUE USING INDEX {name}_idx;")
        elif isinstance(con, exp.PrimaryKey):
            cols = ", ".join(e.sql("postgres") for e in con.expressions)
            yield _hit(stmt, "adding-primary-key", f"PRIMARY KEY on {table} builds its index under an ACCESS "
                       "EXCLUSIVE lock.",
                       f"CREATE UNIQUE INDEX CONCURRENTLY {name}_idx ON {table} ({cols});\n"
                       f"ALTER TABLE {table} ADD CONSTRAINT {name} PRIMARY KEY USING INDEX {name}_idx;")


def _note_not_null_checks(stmt: Statement, tree: exp.Expr, state: FileState) -> None:
    """Remember `CHECK (col IS NOT NULL) NOT VALID` + VALIDATE: SET NOT NULL after them needs no scan (PG 12+)."""
    if isinstance(tree, exp.Alter):
        table = _name(tree.this)
        for con in tree.find_all(exp.Constraint):
            check = con.find(exp.CheckColumnConstraint)
            is_null = check.find(exp.Is) if check else None
            negated = is_null is not None and (is_null.args.get("negate") or isinstance(is_null.parent, exp.Not))
            if is_null is not None and negated and isinstance(is_null.this, exp.Column):
                state.not_null_checks[con.name.lower()] = (table, is_null.this.name)
    elif isinstance(tree, exp.Command) and (m := VALIDATE.search(stmt.command)):
        known = state.not_null_checks.get(m[2].lower().strip('"'))
        if known and known[0].lower() == m[1].lower().strip('"'):
            state.proven_not_null.add(known)


def _maintenance(stmt: Statement) -> Iterator[SqlHit]:
    """Maintenance commands that rewrite or lock a whole table (sqlglot keeps them as text or cannot read them)."""
    m = BLOCKING_MAINTENANCE.search(stmt.command)
    if m:
        yield _hit(stmt, "blocking-maintenance", f"{m[0].strip()} holds an ACCESS EXCLUSIVE lock (REINDEX: a "
                   "write-blocking one) on the whole table while it works.")


def _alter_command(stmt: Statement) -> Iterator[SqlHit]:
    """ALTER statements sqlglot keeps as text (e.g. `ADD CONSTRAINT .. USING INDEX`, VALIDATE): all safe
    except the renames and drops it cannot model."""
    text = stmt.command
    if re.search(r"\bRENAME\s+COLUMN\b", text):
        yield _hit(stmt, "renaming-column", "Renaming a column breaks running code that uses the old name.")
    elif re.search(r"\bDROP\s+COLUMN\b", text):
        yield _hit(stmt, "dropping-column", "Dropping a column breaks code of the previous release.")


def _create(stmt: Statement, tree: exp.Create, state: FileState) -> Iterator[SqlHit]:
    pg = state.dialect in POSTGRES_LIKE
    kind = (tree.kind or "").upper()
    if kind == "INDEX" and pg:
        index = tree.this
        table = _name(index.args.get("table")) if isinstance(index, exp.Index) else ""
        if tree.args.get("concurrently") and state.in_transaction:
            yield _hit(stmt, "concurrently-in-transaction", "CREATE INDEX CONCURRENTLY cannot run inside a "
                       "transaction block: the migration fails.")
        elif not tree.args.get("concurrently") and not state.is_new(table):
            safe = tree.copy()
            safe.set("concurrently", True)
            yield _hit(stmt, "index-not-concurrent", f"Building this index blocks writes to {table} until it is "
                       "done.", safe.sql("postgres") + ";")
    if kind == "TABLE" and isinstance(tree.this, exp.Schema):
        table = _name(tree.this)
        primary = _primary_columns(tree.this)
        for col in tree.this.expressions:
            if isinstance(col, exp.ColumnDef):
                yield from _column_types(stmt, table, col, primary=col.name in primary, pg=pg)


def _drop(stmt: Statement, tree: exp.Drop, state: FileState, *, pg: bool) -> Iterator[SqlHit]:
    kind = (tree.kind or "").upper()
    names = ", ".join(_name(t) for t in _targets(tree))
    if kind == "TABLE" and not all(state.is_new(_name(t)) for t in _targets(tree)):
        yield _hit(stmt, "dropping-table", f"Dropping {names} loses its data and breaks code that still uses it.")
    elif kind == "DATABASE":
        yield _hit(stmt, "dropping-database", f"DROP DATABASE {names} deletes everything in it.")
    elif kind == "INDEX" and pg:
        if tree.args.get("concurrently") and state.in_transaction:
            yield _hit(stmt, "concurrently-in-transaction", "DROP INDEX CONCURRENTLY cannot run inside a "
                       "transaction block: the migration fails.")
        elif not tree.args.get("concurrently"):
            safe = tree.copy()
            safe.set("concurrently", True)
            yield _hit(stmt, "drop-index-not-concurrent", f"DROP INDEX {names} locks its table against reads and "
                       "writes.", safe.sql("postgres") + ";")


def _column_types(stmt: Statement, table: str, col: exp.ColumnDef, *, primary: bool,
                  pg: bool = True) -> Iterator[SqlHit]:
    dtype = col.args.get("kind")
    if not isinstance(dtype, exp.DataType) or not pg:
        return
    name = col.name
    is_pk = primary or any(isinstance(c.args.get("kind"), exp.PrimaryKeyColumnConstraint)
                           for c in col.args.get("constraints") or [])
    if is_pk and dtype.this in INT32_TYPES:
        yield _hit(stmt, "integer-primary-key", f"{table}.{name} is a 32-bit key: it runs out at 2,147,483,647.",
                   f"{name} bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY")
    if dtype.this == exp.DataType.Type.TIMESTAMP:
        yield _hit(stmt, "timestamp-without-time-zone", f"{table}.{name} is timestamp without time zone.",
                   f"{name} timestamptz")
    if dtype.this in (exp.DataType.Type.CHAR, exp.DataType.Type.NCHAR):
        yield _hit(stmt, "char-column", f"{table}.{name} is char(n): space-padded.", f"{name} text")


def _primary_columns(schema: exp.Schema) -> set[str]:
    return {c.name for pk in schema.find_all(exp.PrimaryKey) for c in pk.expressions}


def _locks(tree: exp.Expr, state: FileState) -> bool:
    """Does this statement wait for a strong lock on a table that existed before the migration?"""
    if isinstance(tree, exp.Alter):
        return not state.is_new(_name(tree.this))
    if isinstance(tree, exp.Create) and (tree.kind or "").upper() == "INDEX" and not tree.args.get("concurrently"):
        index = tree.this
        return isinstance(index, exp.Index) and not state.is_new(_name(index.args.get("table")))
    if isinstance(tree, exp.Drop) and (tree.kind or "").upper() in ("TABLE", "INDEX"):
        return not tree.args.get("concurrently") and not all(state.is_new(_name(t)) for t in _targets(tree))
    return isinstance(tree, exp.Command) and tree.name.upper() == "ALTER"


def _targets(drop: exp.Drop) -> list[exp.Expr]:
    """What a DROP names (sqlglot keeps them under `tables`, or `this` for a single one)."""
    return list(drop.args.get("tables") or ([drop.this] if drop.this is not None else []))


def _name(node: exp.Expr | None) -> str:
    if isinstance(node, exp.Schema):
        node = node.this
    if isinstance(node, exp.Table):
        return ".".join(p.name for p in node.parts)
    return node.name if node is not None else ""


def _type(dtype: exp.Expr | None) -> str:
    return dtype.sql("postgres").lower() if dtype is not None else "..."


def _hit(stmt: Statement, rule: str, message: str, fix: str | None = None) -> SqlHit:
    return SqlHit(rule, stmt.line, stmt.end_line, message, fix, stmt.sql)
