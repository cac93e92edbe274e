"""Every SQL rule with why it matters and the safe pattern: the documentation a finding links to."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from devops_orchestra.models import Severity

Kind = Literal["migration", "query", "injection", "parse"]
DOCS = "https://www.postgresql.org/docs/current/sql-altertable.html"


@dataclass(frozen=True)
class Rule:
    """A SQL rule: its severity, what it catches, why it matters and the safe pattern."""

    id: str  # without the `sql:` prefix
    kind: Kind
    severity: Severity
    title: str
    why: str
    safe: str  # the safe pattern, in words or SQL; a finding may carry a concrete rewrite instead
    reference: str = DOCS


_H, _M, _L = Severity.high, Severity.medium, Severity.low

RULES: dict[str, Rule] = {r.id: r for r in [
    Rule("adding-not-null-column", "migration", _H, "NOT NULL column added without a default",
         "Fails on a table with rows; with a volatile default it rewrites the table under an ACCESS EXCLUSIVE "
         "lock. Code still running the old release inserts rows without the column and breaks.",
         "Add the column nullable, backfill in batches, then enforce NOT NULL through a NOT VALID check "
         "(three steps), or add it with a constant DEFAULT (no rewrite since PostgreSQL 11)."),
    Rule("setting-not-null", "migration", _H, "SET NOT NULL on an existing column",
         "Scans the whole table under an ACCESS EXCLUSIVE lock to prove there are no NULLs: reads and "
         "writes wait for the scan.",
         "ADD CONSTRAINT c CHECK (col IS NOT NULL) NOT VALID; VALIDATE CONSTRAINT c; then SET NOT NULL "
         "(PostgreSQL 12+ uses the valid check and skips the scan); DROP CONSTRAINT c."),
    Rule("index-not-concurrent", "migration", _H, "CREATE INDEX without CONCURRENTLY",
         "Blocks every write to the table (SHARE lock) for as long as the index takes to build.",
         "CREATE INDEX CONCURRENTLY, outside a transaction (in Alembic: postgresql_concurrently=True inside "
         "autocommit_block(); in Django: AddIndexConcurrently with atomic = False).",
         "https://www.postgresql.org/docs/current/sql-createindex.html#SQL-CREATEINDEX-CONCURRENTLY"),
    Rule("drop-index-not-concurrent", "migration", _M, "DROP INDEX without CONCURRENTLY",
         "Takes an ACCESS EXCLUSIVE lock on the index's table: reads and writes queue behind it.",
         "DROP INDEX CONCURRENTLY (outside a transaction).",
         "https://www.postgresql.org/docs/current/sql-dropindex.html"),
    Rule("changing-column-type", "migration", _H, "Column type changed",
         "Most type changes rewrite the table and every index under an ACCESS EXCLUSIVE lock, and code that "
         "reads the old type may break.",
         "Add a new column of the new type, backfill in batches, switch the code, then drop the old column. "
         "Only widening varchar(n) or varchar to text is free."),
    Rule("dropping-column", "migration", _H, "Column dropped",
         "Code still running the previous release selects or inserts the column and fails until it is "
         "deployed everywhere.",
         "First deploy code that no longer uses the column (in Django/Rails: mark it ignored), then drop it "
         "in a later migration."),
    Rule("dropping-table", "migration", _H, "Table dropped",
         "Irreversible data loss, and running code that still queries the table fails.",
         "Stop using the table in code first; rename or back it up, and drop it in a later release."),
    Rule("renaming-column", "migration", _H, "Column renamed",
         "Running code uses the old name and fails the moment the rename commits.",
         "Add the new column, write to both, backfill, switch reads, then drop the old one; or expose the "
         "new name through a view."),
    Rule("renaming-table", "migration", _H, "Table renamed",
         "Running code uses the old name and fails the moment the rename commits.",
         "Create the new table (or a view with the new name), migrate code to it, then drop the old name."),
    Rule("foreign-key-not-valid", "migration", _H, "Foreign key added without NOT VALID",
         "Validating the constraint scans the whole table while holding a SHARE ROW EXCLUSIVE lock on both "
         "tables: writes to either wait.",
         "ADD CONSTRAINT ... NOT VALID; then, in a separate statement, VALIDATE CONSTRAINT (only a SHARE "
         "UPDATE EXCLUSIVE lock)."),
    Rule("check-not-valid", "migration", _H, "CHECK constraint added without NOT VALID",
         "Validating the constraint scans the whole table under an ACCESS EXCLUSIVE lock.",
         "ADD CONSTRAINT ... CHECK (...) NOT VALID; then VALIDATE CONSTRAINT in a separate statement."),
    Rule("unique-constraint-without-index", "migration", _H, "UNIQUE constraint built under lock",
         "Adding a UNIQUE (or PRIMARY KEY) constraint builds its index while holding an ACCESS EXCLUSIVE lock.",
         "CREATE UNIQUE INDEX CONCURRENTLY idx ON t (cols); then ALTER TABLE t ADD CONSTRAINT c UNIQUE USING "
         "INDEX idx."),
    Rule("volatile-default", "migration", _H, "Column added with a volatile default",
         "A volatile default (random(), gen_random_uuid(), clock_timestamp()...) is evaluated per row: the "
         "table is rewritten under an ACCESS EXCLUSIVE lock.",
         "Add the column without a default (or with a constant one), set the default for new rows, backfill "
         "existing rows in batches."),
    Rule("missing-lock-timeout", "migration", _M, "Locking migration without lock_timeout",
         "A DDL statement waiting for its lock blocks every query that arrives after it: one long transaction "
         "turns the migration into an outage.",
         "Start the migration with SET lock_timeout = '5s' (and retry on timeout); in Alembic "
         "op.execute(\"SET lock_timeout = '5s'\")."),
    Rule("concurrently-in-transaction", "migration", _H, "CONCURRENTLY inside a transaction",
         "CREATE/DROP INDEX CONCURRENTLY cannot run in a transaction block: the migration fails.",
         "Run it outside BEGIN/COMMIT (Flyway: a migration of its own; Alembic: autocommit_block(); Django: "
         "atomic = False)."),
    Rule("integer-primary-key", "migration", _M, "32-bit integer primary key",
         "int/serial keys stop at 2,147,483,647; changing the type later rewrites the table and every "
         "referencing table.",
         "bigint GENERATED ALWAYS AS IDENTITY (or bigserial)."),
    Rule("timestamp-without-time-zone", "migration", _L, "timestamp without time zone",
         "Stores wall-clock time with no zone: values shift silently when servers or sessions change zone.",
         "timestamptz (timestamp with time zone)."),
    Rule("char-column", "migration", _L, "char(n) column",
         "char(n) pads with spaces, compares surprisingly and is no faster than text in PostgreSQL.",
         "text (with a CHECK on length if needed) or varchar(n)."),
    Rule("adding-serial-column", "migration", _H, "serial or identity column added to an existing table",
         "Filling the new sequence for every row rewrites the table under an ACCESS EXCLUSIVE lock.",
         "Add a nullable bigint, attach a sequence default, backfill in batches, then add the constraint."),
    Rule("adding-primary-key", "migration", _H, "PRIMARY KEY added to an existing table",
         "Builds the unique index and checks NOT NULL while holding an ACCESS EXCLUSIVE lock.",
         "CREATE UNIQUE INDEX CONCURRENTLY; then ADD CONSTRAINT pk PRIMARY KEY USING INDEX idx."),
    Rule("truncate-table", "migration", _H, "TRUNCATE in a migration",
         "Deletes every row (CASCADE: in referencing tables too) under an ACCESS EXCLUSIVE lock.",
         "Delete the rows you mean in batches, or do it as an operational task, not a migration."),
    Rule("blocking-maintenance", "migration", _H, "Table-rewriting maintenance in a migration",
         "VACUUM FULL, CLUSTER and SET TABLESPACE rewrite the table under an ACCESS EXCLUSIVE lock; REINDEX "
         "without CONCURRENTLY blocks writes while it rebuilds.",
         "REINDEX ... CONCURRENTLY (PostgreSQL 12+); for bloat use pg_repack or pg_squeeze, outside migrations.",
         "https://www.postgresql.org/docs/current/routine-vacuuming.html"),
    Rule("django-alter-field", "migration", _M, "Django AlterField",
         "AlterField may change the column type (a table rewrite under an ACCESS EXCLUSIVE lock) or set NOT NULL "
         "(a full scan under that lock); which one depends on the field's previous state.",
         "Run `manage.py sqlmigrate <app> <migration>` to see the SQL; for a type change add a new field and "
         "backfill, for NOT NULL add a CheckConstraint NOT VALID and validate it first (RunSQL)."),
    Rule("dropping-database", "migration", Severity.critical, "DROP DATABASE",
         "Deletes everything in the database.", "Never in a migration."),
    Rule("mysql-unsafe-alter", "migration", _H, "MySQL ALTER without ALGORITHM/LOCK",
         "Without ALGORITHM=INPLACE|INSTANT and LOCK=NONE, InnoDB may silently fall back to copying the table "
         "while blocking writes.",
         "Append ALGORITHM=INPLACE, LOCK=NONE (or ALGORITHM=INSTANT): MySQL then refuses instead of locking; "
         "for changes it refuses, use gh-ost or pt-online-schema-change.",
         "https://dev.mysql.com/doc/refman/8.0/en/innodb-online-ddl-operations.html"),
    Rule("select-star", "query", _L, "SELECT *",
         "Reads columns nobody uses, defeats index-only scans and breaks callers when columns are added.",
         "Name the columns you need."),
    Rule("update-without-where", "query", _H, "UPDATE without WHERE",
         "Changes every row of the table.", "Add a WHERE clause; for a deliberate backfill, batch it by key."),
    Rule("delete-without-where", "query", _H, "DELETE without WHERE",
         "Deletes every row of the table.", "Add a WHERE clause (or TRUNCATE if you really mean all rows)."),
    Rule("leading-wildcard-like", "query", _M, "LIKE with a leading wildcard",
         "A pattern starting with % cannot use a B-tree index: every row is scanned.",
         "Anchor the pattern ('abc%'), or use a trigram (pg_trgm GIN) or full-text index."),
    Rule("not-in-subquery", "query", _M, "NOT IN over a subquery",
         "If the subquery returns a single NULL, NOT IN is never true: the query silently returns no rows. "
         "It also plans badly.",
         "NOT EXISTS (SELECT 1 FROM ... WHERE ...)."),
    Rule("implicit-cross-join", "query", _M, "Implicit cross join",
         "Tables listed with commas and no join condition multiply: every row of one with every row of the "
         "other.",
         "Write explicit JOIN ... ON ...; use CROSS JOIN when a product is really meant."),
    Rule("order-by-random", "query", _M, "ORDER BY RANDOM()",
         "Sorts the whole table to return a few rows.",
         "TABLESAMPLE SYSTEM (n), or pick random keys in the application."),
    Rule("large-offset", "query", _M, "Large OFFSET pagination",
         "The database reads and throws away every skipped row: deep pages get slower linearly.",
         "Keyset pagination: WHERE (created_at, id) > (:last_created_at, :last_id) ORDER BY created_at, id "
         "LIMIT n."),
    Rule("function-on-column", "query", _L, "Function on a column in WHERE",
         "Wrapping an indexed column in a function (lower(email), date(created_at)) stops the index being "
         "used.",
         "Compare the bare column (a range for dates), or create an expression index on the function."),
    Rule("injection", "injection", _H, "SQL built from strings reaches a query call",
         "Values formatted into SQL text can change the query: SQL injection.",
         "Pass values as bind parameters: cursor.execute(\"... WHERE id = %s\", (user_id,)); "
         "text(\"... WHERE id = :id\").bindparams(id=user_id).",
         "https://cheatsheetseries.owasp.org/cheatsheets/Query_Parameterization_Cheat_Sheet.html"),
    Rule("parse-error", "parse", _L, "Statement that does not parse",
         "The statement could not be parsed in this dialect, so it was not checked.",
         "Fix the syntax, or pass the right dialect (postgres, mysql, sqlite, snowflake, bigquery, tsql...)."),
]}
