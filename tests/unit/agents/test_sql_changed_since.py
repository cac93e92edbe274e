"""sql_analysis over the migrations a change adds: changed_since / staged, as security_scan has them."""

import sys
from pathlib import Path

import git
import pytest
from mcp import Client

from devops_orchestra import cli
from devops_orchestra.agents.sql import sql_analysis
from devops_orchestra.core.errors import PathError
from devops_orchestra.models import SqlReport
from devops_orchestra.render.sql import short_text
from devops_orchestra.server.app import create_server
from tests.helpers import text_of, write

OLD = "ALTER TABLE accounts ADD COLUMN plan text NOT NULL;\n"  # applied years ago: not this change's business
NEW = "ALTER TABLE orders ADD COLUMN note text NOT NULL;\n"


def _repo(tmp_path: Path) -> tuple[Path, git.Repo]:
    root = write(tmp_path / "repo", {"db/migrations/V1__plan.sql": OLD, "README.md": "# shop\n"})
    repo = git.Repo.init(root, initial_branch="main")
    repo.index.add(["db/migrations/V1__plan.sql", "README.md"])
    repo.index.commit("first", author=git.Actor("a", "a@b"), committer=git.Actor("a", "a@b"))
    write(root, {"db/migrations/V2__note.sql": NEW})
    return root, repo


def _paths(report: SqlReport) -> set[str]:
    return {f.location.path for f in report.findings}


async def test_changed_since_analyses_only_the_migration_added_after_the_ref(tmp_path: Path) -> None:
    root, _ = _repo(tmp_path)
    everything = await sql_analysis(root)
    assert _paths(everything) == {"db/migrations/V1__plan.sql", "db/migrations/V2__note.sql"}
    assert everything.scope.changed_only is None
    changed = await sql_analysis(root, changed_since="main")
    assert _paths(changed) == {"db/migrations/V2__note.sql"}
    assert changed.scope.files_scanned == 1 and changed.scope.changed_only == "files changed since main"
    assert changed.files_by_kind == {"sql": 1}
    assert "Only files changed since main." in short_text(changed)


async def test_staged_analyses_only_what_is_staged(tmp_path: Path) -> None:
    root, repo = _repo(tmp_path)
    assert (await sql_analysis(root, staged=True)).findings == []  # V2 is untracked, not staged
    repo.index.add(["db/migrations/V2__note.sql"])
    staged = await sql_analysis(root, staged=True)
    assert _paths(staged) == {"db/migrations/V2__note.sql"} and staged.scope.changed_only == "staged files"


async def test_bad_refs_and_no_git_are_the_same_errors_as_security_scan(tmp_path: Path) -> None:
    root, _ = _repo(tmp_path)
    with pytest.raises(PathError, match="git does not know 'nope'"):
        await sql_analysis(root, changed_since="nope")
    with pytest.raises(PathError, match="is not a git ref"):
        await sql_analysis(root, changed_since="--output=/tmp/x")
    plain = write(tmp_path / "plain", {"V1.sql": OLD})
    with pytest.raises(PathError, match="not inside a git repository"):
        await sql_analysis(plain, staged=True)


async def test_tool_arguments(tmp_path: Path) -> None:
    root, _ = _repo(tmp_path)
    async with Client(create_server([root])) as client:
        changed = await client.call_tool("sql_analysis", {"changed_since": "main"})
        bad = await client.call_tool("sql_analysis", {"changed_since": "nope"})
    report = SqlReport.model_validate(changed.structured_content)
    assert _paths(report) == {"db/migrations/V2__note.sql"}
    assert report.scope.changed_only == "files changed since main"
    assert bad.is_error and "git does not know 'nope'" in text_of(bad.content[0])


def test_cli_flags(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root, _ = _repo(tmp_path)
    assert cli.main(["sql", str(root), "--changed-since", "main", "--format", "json"]) == 0
    assert _paths(SqlReport.model_validate_json(capsys.readouterr().out)) == {"db/migrations/V2__note.sql"}
    assert cli.main(["sql", str(root), "--staged", "--format", "json"]) == 0
    assert SqlReport.model_validate_json(capsys.readouterr().out).findings == []
    assert cli.main(["sql", str(root), "--changed-since", "nope"]) == 2
    assert "git does not know 'nope'" in capsys.readouterr().err


@pytest.mark.skipif(sys.version_info >= (3, 12), reason="this grammar reads PEP 701 f-strings")
async def test_python_for_a_newer_grammar_is_in_the_scope_not_the_findings(tmp_path: Path) -> None:
    root = write(tmp_path / "repo", {
        "netbox/dcim/forms.py": "def f(self):\n    return f'site__{self.fields['side_a_site'].to_field_name}'\n",
        "old/broken.py": "def broken(:\n",
        "db/V1.sql": OLD,
    })
    report = await sql_analysis(root)
    assert {f.rule_id for f in report.findings} == {"sql:adding-not-null-column", "sql:missing-lock-timeout"}
    assert report.scope.skipped_by_reason == {"not analysed (needs a newer Python grammar)": 1,
                                              "not analysed (Python that does not parse)": 1}
    assert {(s.path, s.reason) for s in report.scope.skipped_examples} >= {
        ("netbox/dcim/forms.py", "not analysed (needs a newer Python grammar)")}
    assert report.scope.files_scanned == 1 and report.files_by_kind == {"sql": 1}
    text = short_text(report)
    assert "Python not analysed (2 files, not findings): " in text
    assert "netbox/dcim/forms.py (needs a newer Python grammar)" in text
