"""The security agent with the real scanners on the bundled example, and with broken ones."""

import asyncio
import shutil
import stat
from pathlib import Path

import pytest

from devops_orchestra.agents.security import security_scan
from devops_orchestra.core import toolchain
from devops_orchestra.models import SecurityReport, Severity
from tests.helpers import ACTIONS_REPO, EXAMPLE, OSV_RECORDS, export_zip, write

pytestmark = pytest.mark.scanners


@pytest.fixture(scope="module")
def report() -> SecurityReport:
    return asyncio.run(security_scan(EXAMPLE))


def test_every_scanner_runs_and_finds_something(report: SecurityReport) -> None:
    runs = {r.name: r for r in report.scanners}
    # deps has no OSV data here (tests never reach the OSV API; tests/unit/scanners/deps/test_osv.py covers it):
    # unavailable, with why. The example has no GitHub Actions workflows (test_github_actions.py scans some).
    assert {n: r.status for n, r in runs.items()} == {
        **dict.fromkeys(["semgrep", "bandit", "secrets", "checkov"], "ok"), "zizmor": "skipped", "deps": "unavailable"}
    assert "--osv-db" in (runs.pop("deps").error or "")
    assert "no GitHub Actions workflows" in (runs.pop("zizmor").error or "")
    assert all(r.findings > 0 and r.version for r in runs.values())
    assert {f.scanner for f in report.findings} == set(runs)


def test_findings_point_at_real_lines_with_a_fix(report: SecurityReport) -> None:
    for f in report.findings:
        lines = (EXAMPLE / f.location.path).read_text().splitlines()
        assert 1 <= f.location.start_line <= f.location.end_line <= len(lines), f.location
        assert f.remediation.summary and f.title and f.category


def test_planted_problems_are_found(report: SecurityReport) -> None:
    by_category = {(f.location.path, f.category) for f in report.findings}
    for expected in [
        ("api/app.py", "command-injection"), ("api/app.py", "deserialization"), ("api/app.py", "ssrf"),
        ("api/app.py", "template-injection"), ("api/app.py", "debug-mode"), ("api/app.py", "tls-verification"),
        ("web/server.js", "code-injection"), ("web/server.js", "command-injection"), ("web/server.js", "xss"),
        ("worker/main.go", "sql-injection"), ("worker/main.go", "tls-verification"),
        ("billing/src/main/java/shop/Billing.java", "sql-injection"),
        ("billing/src/main/java/shop/Billing.java", "deserialization"),
    ]:
        assert expected in by_category, expected
    rules = {f.rule_id for f in report.findings} | {s for f in report.findings for s in f.sources}
    assert {"secrets:aws-access-key", "secrets:private-key"} <= rules
    assert any(r.startswith("checkov:CKV_AWS_") for r in rules)
    assert any(r.startswith("checkov:CKV_K8S_") for r in rules)
    assert any(r.startswith("checkov:CKV_DOCKER_") for r in rules)


def test_one_problem_two_scanners_is_one_finding(report: SecurityReport) -> None:
    """bandit and semgrep on the same line and category: reported once, naming both."""
    at = {(f.location.path, f.location.start_line): f for f in report.findings if f.category == "sql-injection"}
    sql = at[("api/db.py", 17)]
    assert sql.scanner == "semgrep" and sql.sources == ["bandit:B608"]
    assert not any(f.rule_id == "bandit:B608" for f in report.findings)
    # Several checks of one scanner on one resource are several problems, not one.
    iam = [f for f in report.findings if f.resource == "aws_iam_policy.deployer"]
    assert len(iam) >= 5 and len({f.rule_id for f in iam}) == len(iam)
    # each at the attribute it judged, or the resource's first line when the attribute is missing
    assert {f.location.start_line for f in iam} == {52, 54, 58}
    assert len({f.id for f in report.findings}) == len(report.findings)


def test_test_code_does_not_drown_real_findings(report: SecurityReport) -> None:
    in_tests = [f for f in report.findings if f.location.path.startswith("api/tests/")]
    assert in_tests and all(f.in_test_code and f.severity is Severity.info for f in in_tests)
    assert not any(f.rule_id == "bandit:B101" for f in in_tests)
    assert report.scope.test_files >= 2 and report.scope.test_findings_demoted == len(in_tests)
    assert report.findings[-1].in_test_code or report.findings[-1].severity is Severity.info


def test_asserts_are_checked_in_code_but_not_in_tests(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text("def pay(amount):\n    assert amount > 0\n    return amount\n")
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_app.py").write_text("from app import pay\n\n\ndef test_pay():\n    assert pay(1)\n")
    report = asyncio.run(security_scan(tmp_path, scanners=["bandit"]))
    assert [(f.rule_id, f.location.path) for f in report.findings] == [("bandit:B101", "app.py")]


def test_vendored_minified_and_odd_files_are_left_out(report: SecurityReport) -> None:
    paths = {f.location.path for f in report.findings}
    assert not any("vendor/" in p or p.endswith("package-lock.json") for p in paths)
    reasons = report.scope.skipped_by_reason
    assert {"vendored", "lock file", "binary", "not UTF-8"} <= set(reasons)


def test_secrets_are_redacted_everywhere(report: SecurityReport) -> None:
    """No planted secret value appears anywhere in the report, whichever scanner found it."""
    text = report.model_dump_json()
    planted = (EXAMPLE / "config").rglob("*")
    values = {line.split("=", 1)[1].strip().strip("'\"") for f in planted if f.is_file()
              for line in f.read_text().splitlines() if "=" in line and not line.startswith("#")}
    values |= {"wJalrXUtnFEMI"}
    assert values
    for value in values:
        if len(value) >= 8:
            assert value not in text, value
    secret_findings = [f for f in report.findings if f.category == "secret"]
    assert secret_findings and all("«redacted»" in (f.location.snippet or "«redacted»") or
                                   "PRIVATE KEY" in (f.location.snippet or "") for f in secret_findings)


def test_single_file_scan(tmp_path: Path) -> None:
    report = asyncio.run(security_scan(EXAMPLE / "api" / "app.py", scanners=["bandit"]))
    assert report.findings and {f.location.path for f in report.findings} == {"app.py"}


def _fake_scanner(tmp_path: Path, script: str) -> Path:
    exe = tmp_path / "fake-scanner"
    exe.write_text(f"#!/bin/sh\n{script}\n")
    exe.chmod(exe.stat().st_mode | stat.S_IEXEC)
    return exe


@pytest.mark.parametrize(("script", "status", "message"), [
    ("echo 'Traceback: boom' >&2; exit 2", "failed", "boom"),
    ("echo not json", "failed", "no JSON"),
    ("sleep 30", "timeout", "longer than"),
])
def test_a_broken_scanner_is_a_run_record_not_a_lost_scan(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, script: str, status: str, message: str
) -> None:
    fake = _fake_scanner(tmp_path, script)
    real = toolchain.executable
    monkeypatch.setattr(toolchain, "executable", lambda name: fake if name == "semgrep" else real(name))
    report = asyncio.run(security_scan(EXAMPLE / "api", scanners=["semgrep", "secrets"], timeout_s=8))
    runs = {r.name: r for r in report.scanners}
    assert runs["semgrep"].status == status and message in (runs["semgrep"].error or "")
    assert runs["secrets"].status == "ok" and any(f.scanner == "secrets" for f in report.findings)


def test_missing_scanner_is_unavailable(monkeypatch: pytest.MonkeyPatch) -> None:
    real = toolchain.executable
    monkeypatch.setattr(toolchain, "executable", lambda name: None if name == "semgrep" else real(name))
    report = asyncio.run(security_scan(EXAMPLE / "api", scanners=["semgrep", "bandit"]))
    runs = {r.name: r for r in report.scanners}
    assert runs["semgrep"].status == "unavailable" and "tools install" in (runs["semgrep"].error or "")
    assert runs["bandit"].status == "ok"


def test_unparseable_python_is_a_warning(tmp_path: Path) -> None:
    (tmp_path / "py2.py").write_text("print 'hello'\n")
    (tmp_path / "ok.py").write_text("import pickle\npickle.loads(data)\n")
    report = asyncio.run(security_scan(tmp_path, scanners=["bandit"]))
    run = report.scanners[0]
    assert run.status == "ok" and any("py2.py" in w for w in run.warnings)
    assert {f.location.path for f in report.findings} == {"ok.py"}


def test_no_scanner_talks_to_the_network(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No connection leaves a scan (HTTP clients are pointed at a local proxy that counts connections).

    detect-secrets would send a Slack token it finds to Slack to verify it; semgrep checks for a new
    version; checkov calls its platform; zizmor asks GitHub's API about pinned actions: each is told not
    to. deps asks the OSV API only when it has no offline export: given one, it stays offline too.
    """
    import socket
    import threading

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    listener.settimeout(0.2)
    connections: list[object] = []
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                connections.append(listener.accept())
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    proxy = f"http://127.0.0.1:{listener.getsockname()[1]}"
    for var in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy"):
        monkeypatch.setenv(var, proxy)
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.setenv("DEVOPS_ORCHESTRA_OSV_DB", str(export_zip(tmp_path / "osv.zip", OSV_RECORDS)))
    shop = write(Path(shutil.copytree(EXAMPLE, tmp_path / "shop")), ACTIONS_REPO)  # and zizmor has workflows
    try:
        report = asyncio.run(security_scan(shop, timeout_s=60))
    finally:
        stop.set()
        thread.join()
        listener.close()
    assert any(f.rule_id == "secrets:slack-token" for f in report.findings)
    assert any(f.rule_id == "deps:GHSA-jf85-cpcp-j695" for f in report.findings)  # lodash 4.17.4, offline
    assert any(f.rule_id == "zizmor:template-injection" for f in report.findings)
    assert {r.status for r in report.scanners} == {"ok"}
    assert connections == []


def test_more_files_than_one_command_line_holds(tmp_path: Path) -> None:
    """Paths beyond what one argv can carry are split over several scanner runs, nothing lost."""
    deep = tmp_path / ("d" * 200) / ("e" * 200)
    deep.mkdir(parents=True)
    for i in range(5_500):  # 2.4 MB of paths: more than Linux takes on one command line
        (deep / f"m{i:04d}.py").write_text("import pickle\npickle.loads(data)\n")
    report = asyncio.run(security_scan(tmp_path, scanners=["semgrep"]))
    assert report.scanners[0].status == "ok", report.scanners[0].error
    assert len({f.location.path for f in report.findings}) == 5_500


def test_files_scanners_cannot_parse_are_warnings(tmp_path: Path) -> None:
    """Malformed JavaScript and HCL: each scanner says so in its run record; nothing crashes."""
    (tmp_path / "bad.js").write_text("function (( {\n  eval(x)\n")
    (tmp_path / "bad.tf").write_text('resource "aws_s3_bucket" "b" {\n  bucket = \n')
    report = asyncio.run(security_scan(tmp_path, scanners=["semgrep", "checkov"]))
    runs = {r.name: r for r in report.scanners}
    assert runs["semgrep"].status == "ok" and any("bad.js" in w for w in runs["semgrep"].warnings)
    assert runs["checkov"].status == "ok" and any("could not parse 1 terraform" in w for w in runs["checkov"].warnings)
