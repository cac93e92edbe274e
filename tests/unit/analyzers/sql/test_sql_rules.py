"""The SQL rules on sqlglot: the migration corpus, exact lines, parse errors, rewrites, query anti-patterns."""

import re
from pathlib import Path

import pytest

from devops_orchestra.analyzers.sql.catalog import RULES
from devops_orchestra.analyzers.sql.dialect import detect
from devops_orchestra.analyzers.sql.files import PythonNotAnalysed, analyse_python, analyse_sql, is_down_migration
from tests.helpers import REPO

CORPUS = REPO / "bench" / "sql_migrations"
CORPUS_FILES = sorted(p for p in CORPUS.rglob("*") if p.suffix in (".sql", ".py"))


def _expected(path: Path) -> set[str]:
    m = re.search(r"expect: (.*)", path.read_text())
    assert m
    return {r.strip() for r in m[1].split(",")} - {"safe"}


def test_corpus_is_large_enough_and_covers_every_migration_rule() -> None:
    """At least 60 migrations, safe ones among them, and every migration rule hidden in one."""
    assert len(CORPUS_FILES) >= 60
    assert sum(not _expected(p) for p in CORPUS_FILES) >= 20
    migration_rules = {r.id for r in RULES.values() if r.kind == "migration"}
    assert migration_rules <= set().union(*map(_expected, CORPUS_FILES))
    assert len(migration_rules) >= 20


@pytest.mark.parametrize("path", CORPUS_FILES, ids=lambda p: p.name)
def test_each_corpus_migration_finds_exactly_its_hazards(path: Path) -> None:
    text = path.read_text()
    dialect = "mysql" if "mysql" in path.parts else None
    if path.suffix == ".sql":
        hits = analyse_sql(text, dialect, migrations=not is_down_migration(path.name))
    else:
        hits, _ = analyse_python(text, dialect, is_migration_path=True)
    assert {h.rule for h in hits} == _expected(path)


def test_lines_are_the_statements_own_and_a_bad_statement_does_not_stop_the_rest() -> None:
    sql = (
        "-- add the plan\n"
        "SET lock_timeout = '5s';\n"
        "\n"
        "ALTER TABLE accounts\n"
        "  ADD COLUMN plan text NOT NULL;\n"
        "CREATE TABLE (id int);\n"
        "/* later */ CREATE INDEX accounts_plan_idx ON accounts (plan);\n"
    )
    hits = {h.rule: (h.line, h.end_line) for h in analyse_sql(sql, "postgres")}
    assert hits == {"adding-not-null-column": (4, 5), "parse-error": (6, 6), "index-not-concurrent": (7, 7)}


def test_an_unterminated_string_is_one_finding_not_a_crash() -> None:
    hits = analyse_sql("SELECT 1;\nSELECT 'never closed\n", "postgres")
    assert [h.rule for h in hits] == ["parse-error"]


def test_rewrites_are_concrete_sql() -> None:
    hits = {h.rule: h.fix for h in analyse_sql(
        "SET lock_timeout = '5s';\n"
        "ALTER TABLE users ADD COLUMN email text NOT NULL;\n"
        "CREATE INDEX users_email_idx ON users (email);\n"
        "ALTER TABLE orders ADD CONSTRAINT orders_user_fk FOREIGN KEY (user_id) REFERENCES users (id);\n",
        "postgres")}
    steps = (hits["adding-not-null-column"] or "").splitlines()
    assert steps[0] == "ALTER TABLE users ADD COLUMN email text;"
    assert "CHECK (email IS NOT NULL) NOT VALID" in steps[2] and "VALIDATE CONSTRAINT" in steps[3]
    assert steps[4] == "ALTER TABLE users ALTER COLUMN email SET NOT NULL;"
    assert hits["index-not-concurrent"] == "CREATE INDEX CONCURRENTLY users_email_idx ON users(email);"
    assert "NOT VALID;\nALTER TABLE orders VALIDATE CONSTRAINT orders_user_fk;" in (hits["foreign-key-not-valid"] or "")


def test_tables_created_in_the_same_migration_are_not_locked_hazards() -> None:
    sql = ("CREATE TABLE t (id bigint PRIMARY KEY, email text);\n"
           "CREATE INDEX t_email_idx ON t (email);\n"
           "ALTER TABLE t ADD COLUMN plan text NOT NULL;\n")
    assert analyse_sql(sql, "postgres") == []


@pytest.mark.parametrize(("sql", "rule"), [
    ("SELECT * FROM users", "select-star"),
    ("UPDATE users SET active = false", "update-without-where"),
    ("DELETE FROM sessions", "delete-without-where"),
    ("SELECT id FROM users WHERE email LIKE '%@example.com'", "leading-wildcard-like"),
    ("SELECT id FROM users WHERE id NOT IN (SELECT user_id FROM bans)", "not-in-subquery"),
    ("SELECT u.id FROM users u, orders o", "implicit-cross-join"),
    ("SELECT id FROM users ORDER BY RANDOM() LIMIT 5", "order-by-random"),
    ("SELECT id FROM users ORDER BY id LIMIT 20 OFFSET 100000", "large-offset"),
    ("SELECT id FROM users WHERE lower(email) = 'a@b.c'", "function-on-column"),
])
def test_query_anti_patterns(sql: str, rule: str) -> None:
    assert [h.rule for h in analyse_sql(sql, "postgres")] == [rule]


@pytest.mark.parametrize("sql", [
    "SELECT id, email FROM users WHERE email LIKE 'a%'",
    "SELECT u.id FROM users u, orders o WHERE u.id = o.user_id",
    "SELECT name FROM users, orders WHERE user_id = users_pk",
    "SELECT id FROM users u WHERE NOT EXISTS (SELECT 1 FROM bans b WHERE b.user_id = u.id)",
    "SELECT count(*) FROM users WHERE EXISTS (SELECT * FROM orders WHERE orders.user_id = users.id)",
    "SELECT id FROM users ORDER BY id LIMIT 20 OFFSET 40",
    "DELETE FROM sessions WHERE expires_at < now()",
    "SELECT a.x FROM a CROSS JOIN b",
])
def test_sound_queries_pass(sql: str) -> None:
    assert analyse_sql(sql, "postgres") == []


def test_dialect_is_detected_from_telltale_syntax() -> None:
    assert detect("CREATE TABLE t (id int AUTO_INCREMENT) ENGINE=InnoDB") == "mysql"
    assert detect("CREATE TABLE [dbo].[t] (id int IDENTITY(1,1))") == "tsql"
    assert detect("ALTER TABLE t ADD COLUMN a text") == "postgres"


def test_mysql_gets_its_own_rule_and_not_postgres_ones() -> None:
    hits = analyse_sql("CREATE INDEX users_email_idx ON users (email);\n"
                       "ALTER TABLE users ADD COLUMN nick varchar(64), ALGORITHM=INSTANT;", "mysql")
    assert [(h.rule, h.line) for h in hits] == [("mysql-unsafe-alter", 1)]


def test_every_rule_says_why_and_the_safe_pattern_and_is_in_the_docs() -> None:
    page = (REPO / "docs" / "agents" / "sql.md").read_text()
    for rule in RULES.values():
        assert len(rule.why) > 30 and len(rule.safe) > 10, rule.id
        assert f"`sql:{rule.id}`" in page, f"docs/agents/sql.md lacks sql:{rule.id}"


@pytest.mark.parametrize(("name", "down"), [
    ("000012_users.down.sql", True), ("U3__drop_users.sql", True), ("down.sql", True),
    ("000012_users.up.sql", False), ("V3__slowdown.sql", False), ("countdown.sql", False),
])
def test_down_and_undo_migrations_are_recognised(name: str, down: bool) -> None:
    assert is_down_migration(name) is down


def test_tsql_batches_split_on_go_lines() -> None:
    sql = "CREATE TABLE [dbo].[t] ([id] int IDENTITY(1,1) NOT NULL)\nGO\nSELECT * FROM t\nGO\nSELECT go FROM t\n"
    assert [(h.rule, h.line) for h in analyse_sql(sql, None)] == [("select-star", 3)]


def test_input_that_would_exhaust_the_parser_is_a_finding_not_a_crash() -> None:
    deep = "SELECT " + "(" * 3000 + "1" + ")" * 3000 + ";\nDELETE FROM t;"
    hits = analyse_sql(deep, "postgres")
    assert [(h.rule, h.line) for h in hits] == [("parse-error", 1), ("delete-without-where", 2)]
    with pytest.raises(PythonNotAnalysed, match="does not parse"):  # the scope says so; not a finding
        analyse_python("x = 1\0\n", None, is_migration_path=False)


def test_alter_table_after_create_table_in_the_same_file_is_no_lock_hazard() -> None:
    fresh = """CREATE TABLE cable (id bigint PRIMARY KEY, site_id bigint, label text);
ALTER TABLE cable ADD CONSTRAINT cable_site_fk FOREIGN KEY (site_id) REFERENCES site (id);
ALTER TABLE cable ADD COLUMN note text NOT NULL;
CREATE INDEX cable_label_idx ON cable (label);
ALTER TABLE site ADD CONSTRAINT site_cable_fk FOREIGN KEY (cable_id) REFERENCES cable (id);
"""
    assert [(h.rule, h.line) for h in analyse_sql(fresh, "postgres")] == [
        ("foreign-key-not-valid", 5), ("missing-lock-timeout", 5)]
