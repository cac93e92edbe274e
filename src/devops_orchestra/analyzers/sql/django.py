"""Django migrations read statically: the `operations` list and what each operation does to PostgreSQL."""

from __future__ import annotations

import ast
from collections.abc import Iterator

from devops_orchestra.analyzers.sql.pyast import arg, callee, hit, is_false, is_true, kwarg, sql_in, string
from devops_orchestra.analyzers.sql.statements import SqlHit

RELATIONS = frozenset({"ForeignKey", "OneToOneField"})
# Fields whose empty string Django uses as the effective default when blank=True and null is not set
# (BaseDatabaseSchemaEditor._effective_default: blank and empty_strings_allowed); AddField writes it into
# the existing rows and drops the default again, so the NOT NULL column does not fail on them.
EMPTY_STRING_FIELDS = frozenset({"CharField", "TextField", "SlugField", "EmailField", "URLField", "FilePathField",
                                 "FileField", "ImageField", "BinaryField", "CICharField", "CITextField",
                                 "CIEmailField"})
# Operations that lock or rewrite an existing table: on a model created earlier in the same migration (or
# squash) the table has no rows and no readers yet, so none of them is a hazard (squawk does the same for a
# table created in the same transaction). AddIndexConcurrently & co. still fail inside a transaction.
ON_NEW_TABLE_SAFE = frozenset({"AddField", "AlterField", "RemoveField", "RenameField", "AddIndex", "RemoveIndex",
                               "AddConstraint", "DeleteModel", "RenameModel"})


def is_django(source: str) -> bool:
    """Whether a Python file looks like a Django migration."""
    return "migrations.Migration" in source and "operations" in source


def check(tree: ast.Module, source: str) -> tuple[list[SqlHit], list[tuple[str, int]]]:
    """Hits from the Migration class's operations, and the SQL strings of RunSQL for the SQL rules."""
    migration = next((n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "Migration"), None)
    if migration is None:
        return [], []
    atomic = not any(isinstance(s, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "atomic" for t in s.targets)
                     and is_false(s.value) for s in migration.body)
    calls = [n for n in ast.walk(migration) if isinstance(n, ast.Call)]
    created: dict[str, int] = {}  # model (lower case, as Django keys them) -> line of its CreateModel
    for call in calls:
        name = string(arg(call, 0, "name")) if callee(call) == "CreateModel" else None
        if name:
            created.setdefault(name.lower(), call.lineno)
    hits: list[SqlHit] = []
    raw_sql: list[tuple[str, int]] = []
    for call in calls:
        if callee(call) in ON_NEW_TABLE_SAFE and _model_of(call).lower() in created \
                and created[_model_of(call).lower()] < call.lineno:
            continue
        if callee(call) == "RunSQL":
            found = sql_in(arg(call, 0, "sql"))
            if found:
                raw_sql.append(found)
        else:
            hits += _operation(call, source, atomic=atomic)
    return hits, raw_sql


def _model_of(call: ast.Call) -> str:
    """The model an operation works on: `model_name`, or `name`/`old_name` for DeleteModel/RenameModel."""
    if callee(call) in ("DeleteModel", "RenameModel"):
        return string(arg(call, 0, "old_name" if callee(call) == "RenameModel" else "name")) or ""
    return string(arg(call, 0, "model_name")) or ""


def _operation(call: ast.Call, source: str, *, atomic: bool) -> Iterator[SqlHit]:
    op = callee(call)
    model = string(arg(call, 0, "model_name")) or "model"
    field_name = string(arg(call, 1, "name")) or "field"
    if op == "AddField":
        yield from _add_field(call, source, model, field_name)
    elif op == "AlterField":
        yield hit(call, source, "django-alter-field", f"AlterField on {model}.{field_name}: check what SQL it runs.")
    elif op == "CreateModel":
        yield from _create_model(call, source, model=string(arg(call, 0, "name")) or "model")
    elif op == "RemoveField":
        yield hit(call, source, "dropping-column", f"RemoveField {model}.{field_name} breaks the running release "
                  "that still selects it.", "Deploy code without the field first (SeparateDatabaseAndState), drop "
                  "the column in a later migration.")
    elif op == "DeleteModel":
        yield hit(call, source, "dropping-table", f"DeleteModel {model} drops its table.")
    elif op == "RenameField":
        yield hit(call, source, "renaming-column", f"RenameField on {model} breaks running code that uses the old "
                  "column name.")
    elif op == "RenameModel":
        yield hit(call, source, "renaming-table", f"RenameModel {model} renames its table under running code.")
    elif op == "AddIndex":
        yield hit(call, source, "index-not-concurrent", f"AddIndex on {model} blocks writes until it is built.",
                  "from django.contrib.postgres.operations import AddIndexConcurrently\n"
                  + ast.unparse(call).replace("AddIndex(", "AddIndexConcurrently(", 1)
                  + "\n# and in the Migration class: atomic = False")
    elif op == "RemoveIndex":
        yield hit(call, source, "drop-index-not-concurrent", f"RemoveIndex on {model} locks the table.",
                  ast.unparse(call).replace("RemoveIndex(", "RemoveIndexConcurrently(", 1)
                  + "\n# and in the Migration class: atomic = False")
    elif op in ("AddIndexConcurrently", "RemoveIndexConcurrently") and atomic:
        yield hit(call, source, "concurrently-in-transaction", f"{op} needs `atomic = False` on the Migration: "
                  "CONCURRENTLY cannot run in a transaction.")
    elif op == "AddConstraint":
        yield from _add_constraint(call, source, model)


def _create_model(call: ast.Call, source: str, model: str) -> Iterator[SqlHit]:
    """A new table is no lock hazard, but a 32-bit AutoField key is one for later."""
    fields = arg(call, 1, "fields")
    for item in fields.elts if isinstance(fields, (ast.List, ast.Tuple)) else []:
        field = item.elts[1] if isinstance(item, ast.Tuple) and len(item.elts) == 2 else None
        if isinstance(field, ast.Call) and callee(field) in ("AutoField", "SmallAutoField"):
            yield hit(item, source, "integer-primary-key", f"{model}'s {callee(field)} is a 32-bit key.",
                      ast.unparse(item).replace(callee(field), "BigAutoField", 1)
                      + "\n# and DEFAULT_AUTO_FIELD = 'django.db.models.BigAutoField' in settings")


def _add_field(call: ast.Call, source: str, model: str, name: str) -> Iterator[SqlHit]:
    field = arg(call, 2, "field")
    if not isinstance(field, ast.Call):
        return
    kind = callee(field)
    has_default = kwarg(field, "default") is not None or kwarg(field, "db_default") is not None \
        or (kind in EMPTY_STRING_FIELDS and is_true(kwarg(field, "blank"))) \
        or is_true(kwarg(field, "auto_now")) or is_true(kwarg(field, "auto_now_add"))  # Django's effective default
    nullable = is_true(kwarg(field, "null"))
    if kind in RELATIONS:
        yield hit(call, source, "foreign-key-not-valid", f"Adding {kind} {model}.{name} creates a validated "
                  "foreign key (and its index) while writes to both tables wait.",
                  "Add the field with db_constraint=False and db_index=False, then RunSQL: ADD CONSTRAINT ... "
                  "NOT VALID; VALIDATE CONSTRAINT; and AddIndexConcurrently.")
    if kind != "ManyToManyField" and not nullable and not has_default:
        yield hit(call, source, "adding-not-null-column", f"AddField {model}.{name} is NOT NULL without a default: "
                  "it fails on a table with rows, and the running release cannot insert.",
                  ast.unparse(call).replace(ast.unparse(field), ast.unparse(field).rstrip(")")
                                            + (", " if field.args or field.keywords else "") + "null=True)")
                  + "\n# backfill, then AlterField to null=False after a NOT VALID check constraint is validated")


def _add_constraint(call: ast.Call, source: str, model: str) -> Iterator[SqlHit]:
    constraint = arg(call, 1, "constraint")
    kind = callee(constraint) if isinstance(constraint, ast.Call) else ""
    if kind == "UniqueConstraint":
        yield hit(call, source, "unique-constraint-without-index", f"UniqueConstraint on {model} builds its index "
                  "under an ACCESS EXCLUSIVE lock.", "RunSQL: CREATE UNIQUE INDEX CONCURRENTLY ...; ALTER TABLE ... "
                  "ADD CONSTRAINT ... UNIQUE USING INDEX ... (with SeparateDatabaseAndState)")
    elif kind == "CheckConstraint":
        yield hit(call, source, "check-not-valid", f"CheckConstraint on {model} scans the table under an ACCESS "
                  "EXCLUSIVE lock.", "RunSQL: ADD CONSTRAINT ... CHECK (...) NOT VALID; then VALIDATE CONSTRAINT")
