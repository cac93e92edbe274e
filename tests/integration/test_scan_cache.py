"""The scan cache: an unchanged file is not scanned again, a changed one is, a broken cache is rebuilt."""

import shutil
import sqlite3
from pathlib import Path

import pytest
from mcp import Client

from devops_orchestra.core.cache import ScanCache, keys_for
from devops_orchestra.core.workspace import build_inventory
from devops_orchestra.models import SecurityReport
from devops_orchestra.server.app import create_server
from tests.helpers import EXAMPLE, text_of

pytestmark = pytest.mark.scanners


@pytest.fixture
def shop(tmp_path: Path) -> Path:
    return Path(shutil.copytree(EXAMPLE, tmp_path / "shop"))


async def _scan(client: Client) -> SecurityReport:
    result = await client.call_tool("security_scan", {"max_findings": 1000})
    assert not result.is_error, result.content
    full = await client.read_resource(result.structured_content["full_report"])
    return SecurityReport.model_validate_json(text_of(full.contents[0]))


async def test_rescan_answers_from_the_cache_with_the_same_findings(shop: Path) -> None:
    async with Client(create_server([shop])) as client:
        cold = await _scan(client)
        warm = await _scan(client)
    assert all(r.cached == 0 for r in cold.scanners)
    # deps: never cached; zizmor: the example has no workflows
    assert all(r.cached == r.files > 0 for r in warm.scanners if r.name not in ("deps", "zizmor"))
    assert [f.id for f in warm.findings] == [f.id for f in cold.findings]
    assert warm.findings == [f.model_copy(update={"status": "existing"}) for f in cold.findings]


async def test_only_the_edited_file_is_scanned_again(shop: Path) -> None:
    async with Client(create_server([shop])) as client:
        await _scan(client)
        app = shop / "api" / "app.py"
        app.write_text(app.read_text() + "\n\ndef probe(cmd):\n    return eval(cmd)\n")
        (shop / "infra" / "variables.tf").write_text('variable "region" {\n  default = "eu-central-1"\n}\n')
        again = await _scan(client)
    runs = {r.name: r for r in again.scanners}
    assert runs["bandit"].cached == runs["bandit"].files - 1
    assert runs["semgrep"].cached == runs["semgrep"].files - 1
    assert runs["secrets"].cached == runs["secrets"].files - 2
    # Terraform is read a directory at a time: main.tf beside the edited variables.tf is checked again.
    assert runs["checkov"].cached == runs["checkov"].files - 2
    new = [f for f in again.findings if f.status == "new"]
    assert any(f.location.path == "api/app.py" and f.category == "code-injection" for f in new)


def test_a_corrupt_or_foreign_cache_is_rebuilt(tmp_path: Path) -> None:
    corrupt = tmp_path / "corrupt.sqlite3"
    corrupt.write_bytes(b"garbage" * 1000)
    ScanCache(corrupt).store({"a.py": "k1"}, [])
    assert ScanCache(corrupt).lookup({"a.py": "k1"}) == {"a.py": []}
    assert list(tmp_path.glob("corrupt.sqlite3.broken-*"))

    foreign = tmp_path / "foreign.sqlite3"
    with sqlite3.connect(foreign) as db:
        db.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
        db.execute("INSERT INTO meta VALUES ('magic', 'somebody else')")
    assert ScanCache(foreign).lookup({"a.py": "k1"}) == {}
    assert list(tmp_path.glob("foreign.sqlite3.broken-*"))


def test_an_entry_that_does_not_parse_is_a_miss(tmp_path: Path) -> None:
    cache = ScanCache(tmp_path / "c.sqlite3")
    with sqlite3.connect(cache.path) as db:
        db.execute("INSERT INTO entries VALUES ('k1', '[{\"not\": \"a finding\"}]', 0)")
    assert cache.lookup({"a.py": "k1"}) == {}


def test_a_lookup_marks_an_entry_used_at_most_once_a_day(tmp_path: Path) -> None:
    """Eviction goes by last use; a rescan within the day writes nothing (no commit to wait for)."""
    cache = ScanCache(tmp_path / "c.sqlite3")
    cache.store({"a.py": "fresh", "b.py": "old"}, [])
    with sqlite3.connect(cache.path) as db:
        db.execute("UPDATE entries SET used = used - 2 * 86400 WHERE key = 'old'")
        before = dict(db.execute("SELECT key, used FROM entries"))
    assert cache.lookup({"a.py": "fresh", "b.py": "old"}) == {"a.py": [], "b.py": []}
    with sqlite3.connect(cache.path) as db:
        after = dict(db.execute("SELECT key, used FROM entries"))
    assert after["fresh"] == before["fresh"] and after["old"] > before["old"] + 86400


def test_keys_change_with_content_scanner_version_and_test_status(shop: Path) -> None:
    files = {f.rel: f for f in build_inventory(shop).files}
    app = files["api/app.py"]
    base = keys_for("bandit", "1.9.4", [app])
    assert base != keys_for("bandit", "1.9.5", [app])
    assert base != keys_for("semgrep", "1.9.4", [app])
    (shop / "api" / "app.py").write_text("x = 1\n")
    changed = {f.rel: f for f in build_inventory(shop).files}["api/app.py"]
    assert base != keys_for("bandit", "1.9.4", [changed])
