"""The SQL agent's semgrep step answers from the scan cache for files it has seen, and only for those."""

from pathlib import Path

import pytest

from devops_orchestra.agents.sql import sql_analysis
from devops_orchestra.core.cache import ScanCache
from devops_orchestra.models import Finding
from tests.helpers import REPO, write

pytestmark = pytest.mark.scanners

JS = ("const db = require('pg');\n"
      "async function find(name) {\n"
      "  return db.query('SELECT * FROM users WHERE name = ' + name);\n"
      "}\n"
      "module.exports = { find };\n")


async def test_second_analysis_answers_from_the_cache(tmp_path: Path) -> None:
    write(tmp_path / "repo", {"a.js": JS, "b.js": JS.replace("users", "orders")})
    cache = ScanCache(tmp_path / "cache.sqlite3")
    first = await sql_analysis(tmp_path / "repo", cache=cache)
    second = await sql_analysis(tmp_path / "repo", cache=cache)
    semgrep = [next(r for r in report.scanners if r.name == "semgrep") for report in (first, second)]
    assert (semgrep[0].cached, semgrep[1].cached) == (0, 2)
    assert sorted(f.id for f in first.findings) == sorted(f.id for f in second.findings)
    assert any(f.rule_id == "sql:injection" for f in second.findings)

    write(tmp_path / "repo", {"b.js": JS.replace("users", "orders").replace("+ name", "+ name + ''")})
    third = await sql_analysis(tmp_path / "repo", cache=cache)
    assert next(r for r in third.scanners if r.name == "semgrep").cached == 1


async def test_our_own_analyses_answer_from_the_cache_by_kind(tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """.sql, Alembic, Django and plain Python files: a repeat reads none of them again, finds the same and
    counts each file as the kind it was read as; an edited file alone is analysed again."""
    import shutil

    from devops_orchestra.agents import sql

    repo = tmp_path / "repo"
    shutil.copytree(REPO / "bench" / "sql_migrations", repo)
    write(repo, {"app/db.py": "def find(cur, name):\n    cur.execute(f\"SELECT * FROM users WHERE name = '{name}'\")\n",
                 "app/broken.py": "def broken(:\n"})
    cache = ScanCache(tmp_path / "cache.sqlite3")
    first = await sql_analysis(repo, cache=cache)

    def must_not_run(*args: object) -> None:
        raise AssertionError(f"analysed again: {args[1]}")

    with monkeypatch.context() as patch:
        patch.setattr(sql, "_analyse_file", must_not_run)
        second = await sql_analysis(repo, cache=cache)
    assert [f.id for f in second.findings] == [f.id for f in first.findings]
    assert second.files_by_kind == first.files_by_kind
    assert first.files_by_kind == {"sql": 77, "alembic": 4, "django": 3, "code": 1}  # broken.py: in the scope
    in_app = {f.rule_id for f in second.findings if f.location.path.startswith("app/")}
    assert {"sql:injection"} <= in_app and "sql:parse-error" not in in_app
    assert second.scope.skipped_by_reason["not analysed (Python that does not parse)"] == 1

    analysed: list[str] = []
    real = sql._analyse_file

    def counted(base: Path, rel: str, dialect: str | None) -> tuple[list[Finding], str]:
        analysed.append(rel)
        return real(base, rel, dialect)

    monkeypatch.setattr(sql, "_analyse_file", counted)
    write(repo, {"app/db.py": "def find(cur, name):\n    cur.execute('SELECT 1')\n"})
    third = await sql_analysis(repo, cache=cache)
    assert analysed == ["app/db.py"]
    assert "sql:injection" not in {f.rule_id for f in third.findings if f.location.path == "app/db.py"}
