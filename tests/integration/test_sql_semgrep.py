"""The SQL agent beyond .sql and Python: JavaScript, Go and Java read through our semgrep rules."""

from pathlib import Path

import pytest

from devops_orchestra.agents.sql import sql_analysis
from tests.helpers import EXAMPLE, write

pytestmark = pytest.mark.scanners


async def test_injection_in_javascript_go_and_java_comes_from_the_semgrep_rules() -> None:
    """The security agent's semgrep SQL-injection rules, relabelled as sql:injection with their source."""
    report = await sql_analysis(EXAMPLE)
    semgrep = {(f.location.path, f.location.start_line): f.sources for f in report.findings if f.sources}
    assert set(semgrep) == {("web/server.js", 19), ("web/server.js", 24), ("worker/main.go", 27),
                            ("billing/src/main/java/shop/Billing.java", 25)}
    assert all(s[0].startswith("semgrep:") and "sql-injection" in s[0] for s in semgrep.values())
    assert {r.name: r.status for r in report.scanners} == {"sql": "ok", "semgrep": "ok"}


async def test_literal_sql_in_javascript_go_and_java_is_read_for_anti_patterns(tmp_path: Path) -> None:
    write(tmp_path, {
        "a.js": 'async function f(db) {\n  await db.query("SELECT id FROM users WHERE lower(email) = $1", [e]);\n'
                "  await db.query(\n    `UPDATE users SET active = false`\n  );\n}\n",
        "b.go": 'package main\n\nfunc f(db *sql.DB) {\n\tdb.ExecContext(ctx, "DELETE FROM sessions")\n}\n',
        "C.java": 'class C {\n  void f(java.sql.Connection c) throws Exception {\n'
                  "    c.createStatement().executeQuery(\"SELECT id FROM users WHERE name LIKE '%x'\");\n  }\n}\n",
    })
    report = await sql_analysis(tmp_path)
    assert {(f.rule_id, f.location.path, f.location.start_line) for f in report.findings} == {
        ("sql:function-on-column", "a.js", 2), ("sql:update-without-where", "a.js", 4),
        ("sql:delete-without-where", "b.go", 4), ("sql:leading-wildcard-like", "C.java", 3)}
    assert report.files_by_kind["semgrep"] == 3
