"""GitHub Actions workflows under the real zizmor and checkov: each problem on its line, one finding when both
report it, a clean workflow left alone, and zizmor never touching the network."""

import asyncio
import shutil
import subprocess
from pathlib import Path

import pytest

from devops_orchestra.agents.compliance import compliance_check
from devops_orchestra.agents.security import security_scan
from devops_orchestra.core import toolchain
from devops_orchestra.core.cache import ScanCache
from devops_orchestra.core.workspace import build_inventory
from devops_orchestra.models import SecurityReport, Severity
from devops_orchestra.scanners import zizmor
from tests.helpers import ACTIONS_REPO, write

pytestmark = pytest.mark.scanners
TRIAGE, NIGHTLY = ".github/workflows/triage.yml", ".github/workflows/nightly.yml"


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write(tmp_path_factory.mktemp("actions"), ACTIONS_REPO)


@pytest.fixture(scope="module")
def report(repo: Path) -> SecurityReport:
    return asyncio.run(security_scan(repo, scanners=["zizmor", "checkov"], timeout_s=60))


def _at(report: SecurityReport, rule: str, path: str, line: int) -> tuple[Severity, list[str]]:
    found = [f for f in report.findings if (f.rule_id, f.location.path, f.location.start_line) == (rule, path, line)]
    assert len(found) == 1, (rule, path, line, [(f.rule_id, f.location.path, f.location.start_line)
                                                for f in report.findings])
    return found[0].severity, found[0].sources


def test_both_scanners_run_offline_and_pinned(report: SecurityReport) -> None:
    runs = {r.name: r for r in report.scanners}
    assert (runs["zizmor"].status, runs["zizmor"].version, runs["zizmor"].files) == ("ok", "1.33.1", 5)
    assert (runs["checkov"].status, runs["checkov"].files) == ("ok", 4)  # checkov reads no action.yml
    assert runs["zizmor"].warnings == [] and runs["zizmor"].duration_s < 30


def test_each_workflow_problem_is_found_on_its_line(report: SecurityReport) -> None:
    # Template injection in run:, found by both: one finding naming both.
    assert _at(report, "zizmor:template-injection", TRIAGE, 17) == (Severity.high, ["checkov:CKV_GHA_2"])
    assert _at(report, "zizmor:template-injection", ".github/actions/notify/action.yml", 11)[0] is Severity.high
    # pull_request_target checking out the pull request's head.
    assert _at(report, "zizmor:dangerous-triggers", TRIAGE, 3)[0] is Severity.critical
    # permissions: write-all (one job: zizmor calls it pedantic; kept) and no permissions block at all.
    assert _at(report, "zizmor:excessive-permissions", TRIAGE, 5) == (Severity.high, ["checkov:CKV2_GHA_1"])
    assert _at(report, "zizmor:excessive-permissions", NIGHTLY, 1) == (Severity.medium, ["checkov:CKV2_GHA_1"])
    # An action not pinned to a commit.
    assert _at(report, "zizmor:unpinned-uses", TRIAGE, 19)[0] is Severity.high
    # actions/checkout keeping its token in .git/config; worse when the workspace is uploaded.
    assert _at(report, "zizmor:artipacked", TRIAGE, 10)[0] is Severity.medium
    assert _at(report, "zizmor:artipacked", NIGHTLY, 10)[0] is Severity.high
    # Each of checkov's merged into zizmor's but one: a top-level block missing where every job has its own,
    # which zizmor calls pedantic (checkov's own line is the job's permissions:, line 10).
    assert [(f.rule_id, f.location.path, f.location.start_line, f.severity) for f in report.findings
            if f.scanner == "checkov"] == [("checkov:CKV2_GHA_1", ".github/workflows/release.yml", 1, Severity.medium)]
    for f in report.findings:
        lines = Path(report.root, f.location.path).read_text().splitlines()
        assert 1 <= f.location.start_line <= f.location.end_line <= len(lines), f.location
        assert f.remediation.summary and f.title and f.category
        assert f.cwe or f.rule_id == "zizmor:self-repository", f.rule_id


def test_insecure_commands_found_by_both_are_one_finding(tmp_path: Path) -> None:
    """checkov reports the whole job; its line becomes the env: block zizmor points at."""
    write(tmp_path, {".github/workflows/legacy.yml": (
        "name: Legacy\non: push\npermissions: {}\njobs:\n  build:\n    name: Build\n    runs-on: ubuntu-24.04\n"
        "    env:\n      ACTIONS_ALLOW_UNSECURE_COMMANDS: true\n    steps:\n"
        "      - run: echo \"::add-path::/opt/tool/bin\"\n")})
    report = asyncio.run(security_scan(tmp_path, scanners=["zizmor", "checkov"], timeout_s=60))
    assert [(f.rule_id, f.location.start_line, f.severity, f.sources) for f in report.findings] == [
        ("zizmor:insecure-commands", 8, Severity.high, ["checkov:CKV_GHA_1"])]


def test_the_clean_workflow_gives_nothing_above_low(report: SecurityReport) -> None:
    assert [f for f in report.findings if f.location.path == ".github/workflows/ci.yml"
            and f.severity.rank > Severity.low.rank] == []
    assert not any(f.scanner == "zizmor" and f.location.path == ".github/workflows/release.yml"
                   for f in report.findings)


def test_no_network_and_no_token_needed(repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An empty GH_TOKEN makes zizmor refuse to start, a proxy on a closed port fails anything online at once:
    neither matters to a scan."""
    monkeypatch.setenv("GH_TOKEN", "")
    monkeypatch.setenv("GITHUB_TOKEN", "")
    monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:9")
    run = asyncio.run(security_scan(repo, scanners=["zizmor"], timeout_s=30)).scanners[0]
    assert (run.status, run.findings) == ("ok", 12), run.error
    strace = shutil.which("strace")
    if strace is None:
        pytest.skip("strace is not installed: the system calls cannot be watched")
    exe = toolchain.executable("zizmor")
    assert exe
    files = zizmor.ZizmorScanner().select(build_inventory(repo))
    trace = tmp_path / "trace.txt"
    done = subprocess.run([strace, "-f", "-qq", "-e", "trace=network", "-o", str(trace),
                           *zizmor.command(str(exe), files)], cwd=repo, capture_output=True, timeout=60)
    if done.returncode != 0 and not trace.exists():
        pytest.skip(f"strace cannot trace here: {done.stderr.decode()[-200:]}")
    assert done.returncode == 0 and done.stdout.startswith(b"[")
    assert trace.read_text() == ""  # not one socket, not even for a name lookup


def test_files_zizmor_cannot_read_are_warnings(tmp_path: Path) -> None:
    write(tmp_path, {".github/workflows/broken.yml": "name: [unclosed\n",
                     ".github/workflows/notes.yml": "title: not a workflow\n"})
    alone = asyncio.run(security_scan(tmp_path, scanners=["zizmor"], timeout_s=30)).scanners[0]
    assert (alone.status, alone.findings) == ("ok", 0), alone.error  # zizmor: "no inputs collected"
    assert sorted(alone.warnings) == [
        "could not parse .github/workflows/broken.yml (line 2): did not find expected ',' or ']'; "
        "zizmor did not check it",
        "failed to validate .github/workflows/notes.yml as workflow: input does not match expected validation schema"]
    write(tmp_path, {".github/workflows/triage.yml": ACTIONS_REPO[TRIAGE]})
    beside = asyncio.run(security_scan(tmp_path, scanners=["zizmor"], timeout_s=30)).scanners[0]
    assert beside.status == "ok" and beside.findings > 5 and len(beside.warnings) == 2


def test_rescan_comes_from_the_cache(repo: Path, tmp_path: Path) -> None:
    cache = ScanCache(tmp_path / "cache.sqlite3")
    cold = asyncio.run(security_scan(repo, scanners=["zizmor"], cache=cache))
    warm = asyncio.run(security_scan(repo, scanners=["zizmor"], cache=cache))
    assert (warm.scanners[0].cached, warm.scanners[0].files) == (5, 5)
    assert [f.id for f in warm.findings] == [f.id for f in cold.findings]


async def test_workflow_findings_break_controls_but_are_no_infrastructure(repo: Path) -> None:
    report = await compliance_check(repo, frameworks=["soc2"])
    controls = {c.id: c for fw in report.frameworks for c in fw.controls}
    assert controls["CC6.8"].status == "fail"  # injection: template injection in a workflow
    assert (TRIAGE, 17) in {(e.path, e.line) for e in controls["CC6.8"].evidence}
    assert controls["CC6.1"].status == "fail"  # least privilege: write-all (CWE-250)
    backups = controls["A1.2"]  # checkov read the workflows, but there is no infrastructure to judge
    assert backups.status == "not_assessable" and "no infrastructure code" in backups.why
    assert report.gate.status == "blocked"  # the pull_request_target checkout of the head is critical
