"""zizmor's adapter on its recorded output: its command line, what it keeps, and where findings land."""

import json
from pathlib import Path
from typing import Any

from devops_orchestra.core.workspace import SourceFile, build_inventory
from devops_orchestra.models import Severity
from devops_orchestra.scanners import zizmor
from tests.helpers import ACTIONS_REPO, GOLDEN, write

TRIAGE = ".github/workflows/triage.yml"


def _raw() -> list[dict[str, Any]]:
    raw: list[dict[str, Any]] = json.loads((GOLDEN / "zizmor.raw.json").read_text())
    return raw


def test_command_never_goes_online_nor_reads_a_token_or_a_configuration() -> None:
    argv = zizmor.command("/opt/zizmor", [SourceFile("-odd.yml", "yaml", 1, False)])
    assert argv[:8] == ["env", "-u", "GH_TOKEN", "-u", "GITHUB_TOKEN", "-u", "ZIZMOR_GITHUB_TOKEN", "/opt/zizmor"]
    assert {"--offline", "--no-config", "--no-exit-codes"} <= set(argv)
    assert argv[argv.index("--format") + 1] == "json-v1"
    assert argv[-1] == "./-odd.yml"  # a file name cannot pass for an option


def test_selects_the_workflows_and_actions(tmp_path: Path) -> None:
    write(tmp_path, {**ACTIONS_REPO, ".github/dependabot.yml": "version: 2\n", "deploy/action.yaml": "name: x\n",
                     ".github/workflows/templates/ci.yml": "on: push\n", "app.py": ""})
    picked = {f.rel for f in zizmor.ZizmorScanner().select(build_inventory(tmp_path))}
    assert picked == set(ACTIONS_REPO) | {"deploy/action.yaml"}


def test_regular_persona_and_top_level_write_all_are_kept() -> None:
    """Recorded with --persona pedantic: its pedantic findings go, except write-all in a one-job workflow."""
    raw = _raw()
    pedantic = [h for h in raw if h["determinations"]["persona"] == "Pedantic"]
    assert {"anonymous-definition", "excessive-permissions"} <= {h["ident"] for h in pedantic}
    kept = [h for h in pedantic if zizmor.keep(h)]
    assert [(h["ident"], h["locations"][0]["concrete"]["location"]["start_point"]["row"]) for h in kept] == [
        ("excessive-permissions", 4)]  # permissions: write-all, 0-based row
    assert all(zizmor.keep(h) for h in raw if h["determinations"]["persona"] == "Regular")
    assert not zizmor.keep({**kept[0], "ignored": True})


def test_each_problem_is_on_its_line_with_a_fix(tmp_path: Path) -> None:
    findings = zizmor.parse(_raw(), write(tmp_path, ACTIONS_REPO))
    at = {(f.rule_id, f.location.path, f.location.start_line): f for f in findings}
    injection = at[("zizmor:template-injection", TRIAGE, 17)]
    assert injection.severity is Severity.high and injection.cwe == "CWE-94" and injection.category == "code-injection"
    assert "`github.event.pull_request.title`" in injection.message
    assert injection.location.snippet == '          echo "Labelling ${{ github.event.pull_request.title }}"'
    assert (injection.location.start_column, injection.location.end_column) == (31, 62)
    assert injection.remediation.fix and "PULL_REQUEST_TITLE: ${{ github.event.pull_request.title }}" in \
        injection.remediation.fix
    assert at[("zizmor:excessive-permissions", TRIAGE, 5)].location.snippet == "permissions: write-all"
    unpinned = at[("zizmor:unpinned-uses", TRIAGE, 19)]
    assert unpinned.remediation.fix == "uses: someone/label-action@<40-character commit SHA of v1>  # v1"
    # A checkout that keeps its token: medium alone, high when an artifact of the workspace follows.
    assert at[("zizmor:artipacked", TRIAGE, 10)].severity is Severity.medium
    assert at[("zizmor:artipacked", ".github/workflows/nightly.yml", 10)].severity is Severity.high
    assert ("zizmor:template-injection", ".github/actions/notify/action.yml", 11) in at
    assert not any(f.location.path == ".github/workflows/ci.yml" for f in findings)
    assert all(f.remediation.references == [f"https://docs.zizmor.sh/audits/#{f.rule_id[7:]}"] for f in findings)
    assert len({f.id for f in findings}) == len(findings)


def test_pull_request_target_is_critical_when_it_checks_out_the_pull_request(tmp_path: Path) -> None:
    pwn = next(f for f in zizmor.parse(_raw(), write(tmp_path / "a", ACTIONS_REPO))
               if f.rule_id == "zizmor:dangerous-triggers")
    assert (pwn.location.start_line, pwn.severity, pwn.confidence) == (3, Severity.critical, "high")
    assert "Line 12 checks out the pull request's own code" in pwn.message
    # The same workflow checking out the base branch: zizmor's own grade (same lines, so the output still fits).
    base = {**ACTIONS_REPO, TRIAGE: ACTIONS_REPO[TRIAGE].replace("pull_request.head.sha", "pull_request.base.sha")}
    trigger = next(f for f in zizmor.parse(_raw(), write(tmp_path / "b", base))
                   if f.rule_id == "zizmor:dangerous-triggers")
    assert (trigger.severity, trigger.confidence) == (Severity.high, "medium") and "Line" not in trigger.message


def test_a_file_that_is_not_yaml_is_named(tmp_path: Path) -> None:
    write(tmp_path, {"a.yml": "on: push\n", "b.yml": "name: [unclosed\n"})
    files = [SourceFile(rel, "yaml", 1, False) for rel in ("a.yml", "b.yml")]
    assert zizmor.yaml_errors(tmp_path, files) == [
        "could not parse b.yml (line 2): did not find expected ',' or ']'; zizmor did not check it"]
