"""The SQL agent's semgrep step answers from the scan cache for files it has seen, and only for those."""

from pathlib import Path

import pytest

from devops_orchestra.agents.sql import sql_analysis
from devops_orchestra.cache import ScanCache
from tests.conftest import write

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
