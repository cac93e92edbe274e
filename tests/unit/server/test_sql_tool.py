"""sql_analysis through the in-memory MCP client, and `devops-orchestra sql` from a shell."""

import json
from pathlib import Path

import pytest
from mcp import Client

from devops_orchestra import cli
from devops_orchestra.models import SqlReport
from devops_orchestra.server.app import create_server
from tests.helpers import REPO, text_of, write

MIGRATION = """\
-- V2: plan per account
ALTER TABLE accounts ADD COLUMN plan text NOT NULL;
CREATE INDEX accounts_plan_idx ON accounts (plan);
SELEC broken;
"""
CODE = """\
def find(cur, name):
    cur.execute(f"SELECT id FROM users WHERE name = '{name}'")
"""


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("DEVOPS_ORCHESTRA_WARM_CHECKOV", "0")  # not needed here; spares a process
    return write(tmp_path / "repo", {
        "db/migrations/V2__plan.sql": MIGRATION,
        "app/queries.py": CODE,
        "tests/test_queries.py": CODE,
        "db/latin1.sql": "SELECT 'caf\xe9';".encode("latin-1"),
        "README.md": "# shop\n",
    })


async def test_tool_is_listed_lean_and_read_only(repo: Path) -> None:
    async with Client(create_server([repo])) as client:
        tool = {t.name: t for t in (await client.list_tools()).tools}["sql_analysis"]
    assert tool.output_schema is not None and tool.annotations is not None
    assert set(tool.input_schema["properties"]) == {"path", "sql", "dialect", "max_findings", "changed_since", "staged"}
    assert "postgres" in json.dumps(tool.input_schema["properties"]["dialect"])
    assert {"findings", "summary", "dialect", "files_by_kind"} <= set(tool.output_schema["properties"])
    assert tool.annotations.read_only_hint is True
    # 6,384: every scanner's name is in it (Finding.scanner's enum), a finding's resource and folded rules,
    # the report's `more` lines, and changed_since/staged (+283, less 132 trimmed from the output schema)
    assert len(json.dumps(tool.model_dump(mode="json", exclude_none=True))) < 6_500  # grows with the scanner names


async def test_directory_findings_lines_fixes_and_the_full_report(repo: Path) -> None:
    async with Client(create_server([repo])) as client:
        result = await client.call_tool("sql_analysis", {"max_findings": 2})
        assert not result.is_error, result.content
        report = SqlReport.model_validate(result.structured_content)
        assert report.findings_returned == 2 < report.findings_total
        assert report.full_report is not None
        full = await client.read_resource(report.full_report)
        everything = SqlReport.model_validate_json(text_of(full.contents[0]))
        rules = await client.read_resource("orchestra://sql/rules")
    found = {(f.rule_id, f.location.path, f.location.start_line) for f in everything.findings}
    assert found == {
        ("sql:adding-not-null-column", "db/migrations/V2__plan.sql", 2),
        ("sql:missing-lock-timeout", "db/migrations/V2__plan.sql", 2),
        ("sql:index-not-concurrent", "db/migrations/V2__plan.sql", 3),
        ("sql:parse-error", "db/migrations/V2__plan.sql", 4),
        ("sql:injection", "app/queries.py", 2),
        ("sql:injection", "tests/test_queries.py", 2),
    }
    by_rule = {f.rule_id: f for f in everything.findings if not f.in_test_code}
    assert by_rule["sql:injection"].cwe == "CWE-89" and by_rule["sql:injection"].severity.value == "high"
    assert "CONCURRENTLY" in (by_rule["sql:index-not-concurrent"].remediation.fix or "")
    assert [f.severity.value for f in everything.findings if f.in_test_code] == ["info"]
    assert everything.scope.skipped_by_reason == {"not UTF-8": 1}
    assert everything.files_by_kind["sql"] == 1 and everything.files_by_kind["code"] == 2
    assert len({f.id for f in everything.findings}) == len(everything.findings)
    assert "SQL analysis of .:" in text_of(result.content[0])
    assert "`sql:volatile-default`" in text_of(rules.contents[0])


async def test_inline_sql_with_a_dialect(repo: Path) -> None:
    async with Client(create_server([repo])) as client:
        result = await client.call_tool("sql_analysis", {
            "sql": "ALTER TABLE users ADD COLUMN bio text;\nDELETE FROM users;", "dialect": "mysql"})
    report = SqlReport.model_validate(result.structured_content)
    assert report.dialect == "mysql" and report.path == "<inline>"
    assert [(f.rule_id, f.location.path, f.location.start_line) for f in report.findings] == [
        ("sql:mysql-unsafe-alter", "<inline>", 1), ("sql:delete-without-where", "<inline>", 2)]


@pytest.mark.parametrize(("arguments", "message"), [
    ({"path": "../.."}, "outside the directories this server may read"),
    ({"path": "nope.sql"}, "does not exist"),
    ({"path": "db/latin1.sql"}, "not UTF-8"),
    ({"path": "README.md"}, "not a file with SQL in it"),
    ({"sql": "  "}, "`sql` is empty"),
    ({"sql": "SELECT 1", "dialect": "cobol"}, "dialect"),
])
async def test_bad_input_is_a_clear_tool_error(repo: Path, arguments: dict[str, str], message: str) -> None:
    async with Client(create_server([repo])) as client:
        result = await client.call_tool("sql_analysis", arguments)
    assert result.is_error
    assert message in text_of(result.content[0])


def test_cli_text_json_and_exit_codes(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    migration = str(repo / "db/migrations/V2__plan.sql")
    assert cli.main(["sql", migration]) == 0
    text = capsys.readouterr().out
    assert "[HIGH] V2__plan.sql:2  NOT NULL column added without a default" in text
    assert "ALTER TABLE accounts ADD COLUMN plan text;" in text  # the first step of the rewrite
    assert cli.main(["sql", migration, "--fail-on", "high", "--format", "json"]) == 1
    assert SqlReport.model_validate_json(capsys.readouterr().out).findings_total == 4
    assert cli.main(["sql", "--sql", "SELECT id FROM t WHERE id = 1", "--fail-on", "low"]) == 0
    assert cli.main(["sql", "--dialect", "cobol", "--sql", "SELECT 1"]) == 2
    assert cli.main(["sql", str(repo / "missing")]) == 2


async def test_the_whole_corpus_in_one_run_has_distinct_stable_ids() -> None:
    """Two hazards in one statement (two char columns) are two findings; a second run gives the same ids."""
    from devops_orchestra.agents.sql import sql_analysis

    first = await sql_analysis(REPO / "bench" / "sql_migrations")
    second = await sql_analysis(REPO / "bench" / "sql_migrations")
    ids = [f.id for f in first.findings]
    assert len(ids) == len(set(ids)) > 60
    assert ids == [f.id for f in second.findings]
    assert first.files_by_kind == {"sql": 77, "alembic": 4, "django": 3}


def test_the_tools_dialect_choices_are_the_analysers() -> None:
    from typing import get_args

    from devops_orchestra.analyzers.sql.statements import DIALECTS
    from devops_orchestra.server.tools.sql import DialectArg

    assert set(get_args(DialectArg)) == set(DIALECTS)
