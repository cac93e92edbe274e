"""SQL in Python read statically: injection through a function's variables, Alembic and Django lines."""

import sys
import textwrap

import pytest

from devops_orchestra.analyzers.sql.files import (
    DOES_NOT_PARSE,
    NEEDS_NEWER_GRAMMAR,
    PythonNotAnalysed,
    analyse_python,
)


def _hits(source: str, migration: bool = False) -> list[tuple[str, int]]:
    hits, _ = analyse_python(textwrap.dedent(source), None, is_migration_path=migration)
    return [(h.rule, h.line) for h in hits]


@pytest.mark.parametrize("body", [
    'cur.execute(f"SELECT id FROM users WHERE name = \'{name}\'")',
    'cur.execute("SELECT id FROM users WHERE name = \'%s\'" % name)',
    'cur.executemany("DELETE FROM users WHERE name = \'" + name + "\'", [])',
    'session.execute(text("SELECT id FROM users WHERE name = \'{}\'".format(name)))',
    'User.objects.raw(f"SELECT * FROM app_user WHERE name = \'{name}\'")',
    'User.objects.extra(where=["name = \'%s\'" % name])',
])
def test_formatted_sql_reaching_a_query_call_is_injection(body: str) -> None:
    assert ("injection", 3) in _hits(f"def find(cur, session, name):\n    x = 1\n    {body}\n")


def test_the_flow_through_variables_within_a_function_is_followed() -> None:
    source = """
    def search(cur, term, order):
        sql = "SELECT id FROM products WHERE 1 = 1"
        if term:
            sql += " AND name = '" + term + "'"
        cur.execute(sql)
    """
    assert _hits(source) == [("injection", 6)]


@pytest.mark.parametrize("body", [
    'cur.execute("SELECT id FROM users WHERE name = %s", (name,))',
    'cur.execute(text("SELECT id FROM users WHERE name = :n"), {"n": name})',
    'query = "SELECT id, name FROM users WHERE active"\n    cur.execute(query)',
    'log.info(f"SELECT took {name} ms")',
    'cur.execute(f"SET statement_timeout = {5000}")',
])
def test_parameterised_or_constant_sql_is_not_injection(body: str) -> None:
    assert [r for r, _ in _hits(f"def find(cur, name):\n    {body}\n")] == []


def test_a_name_assigned_in_another_function_is_not_this_functions_flow() -> None:
    source = """
    def build(name):
        sql = f"SELECT id FROM users WHERE name = '{name}'"
        return sql

    def run(cur):
        sql = "SELECT id FROM users"
        cur.execute(sql)
    """
    assert [r for r, _ in _hits(source)] == []


def test_literal_sql_in_code_is_checked_for_anti_patterns() -> None:
    source = """
    def wipe(cur):
        cur.execute("DELETE FROM sessions")
        cur.execute("SELECT id FROM users WHERE email = %(email)s LIMIT 1", {"email": "x"})
    """
    assert _hits(source) == [("delete-without-where", 3)]


def test_alembic_op_calls_and_their_lines() -> None:
    source = """
    import sqlalchemy as sa
    from alembic import op


    def upgrade():
        op.add_column("users", sa.Column("plan", sa.Text(), nullable=False))
        op.create_index("users_plan_idx", "users", ["plan"])
        op.execute("ALTER TABLE users ALTER COLUMN email SET NOT NULL")


    def downgrade():
        op.drop_column("users", "plan")
    """
    hits, kind = analyse_python(textwrap.dedent(source), None, is_migration_path=True)
    assert kind == "alembic"
    assert [(h.rule, h.line) for h in hits] == [
        ("adding-not-null-column", 7), ("index-not-concurrent", 8), ("missing-lock-timeout", 9),
        ("setting-not-null", 9)]
    fix = next(h.fix for h in hits if h.rule == "index-not-concurrent")
    assert fix and "autocommit_block" in fix and "postgresql_concurrently=True" in fix


def test_django_operations_only_in_migration_folders() -> None:
    source = """
    from django.db import migrations, models


    class Migration(migrations.Migration):
        operations = [
            migrations.AddField(model_name="order", name="currency", field=models.CharField(max_length=3)),
            migrations.AddField(model_name="order", name="note", field=models.TextField(null=True)),
            migrations.RunSQL("UPDATE shop_order SET note = ''"),
        ]
    """
    hits, kind = analyse_python(textwrap.dedent(source), None, is_migration_path=True)
    assert kind == "django"
    assert [(h.rule, h.line) for h in hits] == [("adding-not-null-column", 7), ("update-without-where", 9)]
    assert analyse_python(textwrap.dedent(source), None, is_migration_path=False)[1] == "code"


NEWER_FSTRING = """\
class CableFilterForm:
    def site_field(self):
        return f'site__{self.fields['side_a_site'].to_field_name}'
"""


@pytest.mark.skipif(sys.version_info >= (3, 12), reason="this grammar reads PEP 701 f-strings")
def test_python_for_a_newer_grammar_is_not_analysed_and_says_so() -> None:
    with pytest.raises(PythonNotAnalysed) as caught:
        analyse_python(NEWER_FSTRING, None, is_migration_path=False)
    assert caught.value.reason == NEEDS_NEWER_GRAMMAR == "not analysed (needs a newer Python grammar)"
    with pytest.raises(PythonNotAnalysed, match="newer Python grammar"):
        analyse_python("type Point = tuple[float, float]\n", None, is_migration_path=False)


def test_python_that_does_not_parse_is_not_a_finding() -> None:
    with pytest.raises(PythonNotAnalysed, match="line 2") as caught:
        analyse_python("x = 1\ndef broken(:\n", None, is_migration_path=False)
    assert caught.value.reason == DOES_NOT_PARSE


DJANGO_NEW_MODEL = """
from django.db import migrations, models


class Migration(migrations.Migration):
    replaces = [("dcim", "0001_initial"), ("dcim", "0002_auto")]
    operations = [
        migrations.CreateModel(name="Cable", fields=[("id", models.BigAutoField(primary_key=True))]),
        migrations.AddField(model_name="cable", name="site", field=models.ForeignKey(on_delete=models.CASCADE,
                                                                                      to="dcim.site")),
        migrations.AddField(model_name="cable", name="label", field=models.CharField(max_length=100)),
        migrations.AddIndex(model_name="cable", index=models.Index(fields=["label"], name="cable_label")),
        migrations.AddConstraint(model_name="cable", constraint=models.UniqueConstraint(fields=["label"],
                                                                                        name="cable_label_uniq")),
        migrations.AlterField(model_name="cable", name="label", field=models.CharField(max_length=200)),
        migrations.AddField(model_name="site", name="cable", field=models.ForeignKey(on_delete=models.CASCADE,
                                                                                     to="dcim.cable")),
    ]
"""


def test_django_operations_on_a_model_created_earlier_in_the_migration_are_no_hazard() -> None:
    hits, kind = analyse_python(DJANGO_NEW_MODEL, None, is_migration_path=True)
    assert kind == "django"
    # only the existing table (site) is locked: its foreign key and NOT NULL column are still findings
    assert [(h.rule, h.line) for h in hits] == [("adding-not-null-column", 16), ("foreign-key-not-valid", 16)]


def test_django_operations_before_the_create_model_or_on_another_model_still_count() -> None:
    source = """
    from django.db import migrations, models


    class Migration(migrations.Migration):
        operations = [
            migrations.AddIndex(model_name="cable", index=models.Index(fields=["label"], name="cable_label")),
            migrations.CreateModel(name="Cable", fields=[("id", models.BigAutoField(primary_key=True))]),
            migrations.AddIndex(model_name="cables", index=models.Index(fields=["x"], name="cables_x")),
        ]
    """
    hits, _ = analyse_python(textwrap.dedent(source), None, is_migration_path=True)
    assert [(h.rule, h.line) for h in hits] == [("index-not-concurrent", 7), ("index-not-concurrent", 9)]


def test_alembic_ops_on_a_table_created_earlier_in_the_revision_are_no_hazard() -> None:
    source = """
    import sqlalchemy as sa
    from alembic import op


    def upgrade():
        op.create_table("cable", sa.Column("id", sa.BigInteger(), primary_key=True))
        op.add_column("cable", sa.Column("label", sa.Text(), nullable=False))
        op.create_foreign_key("cable_site_fk", "cable", "site", ["site_id"], ["id"])
        op.create_index("cable_label_idx", "cable", ["label"])
        op.create_unique_constraint("cable_label_uniq", "cable", ["label"])
        op.create_index("cable_x_idx", "cable", ["x"], postgresql_concurrently=True)
        op.create_foreign_key("site_cable_fk", "site", "cable", ["cable_id"], ["id"])
        op.create_index("site_cable_idx", "site", ["cable_id"])
    """
    hits, kind = analyse_python(textwrap.dedent(source), None, is_migration_path=True)
    assert kind == "alembic"
    assert [(h.rule, h.line) for h in hits] == [
        ("concurrently-in-transaction", 12), ("foreign-key-not-valid", 13), ("index-not-concurrent", 14)]


@pytest.mark.parametrize(("field", "fails"), [
    ("models.TextField(blank=True)", False),  # Django fills existing rows with '' (its effective default)
    ("models.CharField(max_length=100, blank=True)", False),
    ("models.DateTimeField(auto_now_add=True)", False),  # and with now() for auto_now(_add)
    ("models.TextField(null=True)", False),
    ("models.TextField(default='')", False),
    ("models.TextField()", True),
    ("models.IntegerField(blank=True)", True),  # no empty string for numbers: no default, fails on rows
    ("models.CharField(max_length=100, blank=False)", True),
])
def test_django_effective_defaults_of_add_field(field: str, fails: bool) -> None:
    source = f"""
from django.db import migrations, models


class Migration(migrations.Migration):
    operations = [migrations.AddField(model_name="site", name="comments", field={field})]
"""
    hits, _ = analyse_python(source, None, is_migration_path=True)
    assert ("adding-not-null-column" in {h.rule for h in hits}) is fails
