"""The deps scanner end to end: online against a local server speaking OSV's API, offline from an export
zip built here, and what it says when neither is there. Never the real network (conftest points it away)."""

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import pytest

from devops_orchestra import cli
from devops_orchestra.agents.security import security_scan
from devops_orchestra.models import SecurityReport, Severity
from devops_orchestra.scanners.deps.osv import OsvApi, OsvExport, Query, Vuln, hit_for
from tests.helpers import OSV_RECORDS, FakeOsv, assert_valid_sarif, export_zip, write

REPO = {
    "api/requirements.txt": "# app\nflask==0.12.2\nrequests==2.19.1\nsafe-lib==1.0\nabandoned-lib==1.0\nclick>=7\n",
    "web/package-lock.json": json.dumps({"lockfileVersion": 3, "packages": {
        "": {"name": "web"}, "node_modules/lodash": {"version": "4.17.4"},
        "node_modules/left-pad": {"version": "1.3.0"}}}, indent=2),
    "svc/pom.xml": ("<project>\n  <dependencies>\n    <dependency>\n      <groupId>org.apache.logging.log4j</groupId>\n"
                    "      <artifactId>log4j-core</artifactId>\n      <version>2.14.1</version>\n"
                    "    </dependency>\n  </dependencies>\n</project>\n"),
    "app.py": "print('hello')\n",
}
EXPECTED = {  # rule -> (path, line, severity, fix)
    "deps:GHSA-jfh8-c2jp-5v3q": ("svc/pom.xml", 5, Severity.critical,
                                 "upgrade org.apache.logging.log4j:log4j-core to 2.15.0"),
    "deps:GHSA-jf85-cpcp-j695": ("web/package-lock.json", 7, Severity.critical, "upgrade lodash to 4.17.12"),
    "deps:GHSA-562c-5r94-xh97": ("api/requirements.txt", 2, Severity.high, "upgrade flask to 0.12.3"),
    "deps:GHSA-x84v-xcm2-53pg": ("api/requirements.txt", 3, Severity.medium, "upgrade requests to 2.20.0"),
    "deps:GHSA-unfx-0000-0000": ("api/requirements.txt", 5, Severity.medium, None),
}


def _by_rule(report: SecurityReport) -> dict[str, tuple[str, int, Severity, str | None]]:
    return {f.rule_id: (f.location.path, f.location.start_line, f.severity, f.remediation.fix) for f in report.findings}


async def test_online_findings_carry_advisory_range_and_fix(osv: FakeOsv, tmp_path: Path) -> None:
    """Online: every vulnerable pin is one finding at its line, with advisory id, range, fix and severity."""
    report = await security_scan(write(tmp_path, REPO), scanners=["deps"])
    (run,) = report.scanners
    assert run.status == "ok" and run.files == 3 and run.findings == 5, run
    assert run.version and "127.0.0.1" in run.version
    assert _by_rule(report) == EXPECTED
    log4j = next(f for f in report.findings if "log4j" in f.rule_id or "jfh8" in f.rule_id)
    assert log4j.category == "vulnerable-dependency" and log4j.cwe == "CWE-502" and log4j.confidence == "high"
    assert "CVSS 10.0" in log4j.message and "Affected versions: >= 2.13.0, < 2.15.0" in log4j.message
    assert "CVE-2021-44228" in log4j.message
    assert log4j.remediation.references[0] == "https://osv.dev/vulnerability/GHSA-jfh8-c2jp-5v3q"
    assert log4j.location.snippet == "      <artifactId>log4j-core</artifactId>\n      <version>2.14.1</version>"
    flask = next(f for f in report.findings if f.rule_id == "deps:GHSA-562c-5r94-xh97")
    assert "PYSEC-2018-66" in flask.message  # its alias is named, not a second finding
    assert "Upgrade flask to 0.12.3 or later" in flask.remediation.summary
    unfixed = next(f for f in report.findings if f.rule_id == "deps:GHSA-unfx-0000-0000")
    assert unfixed.remediation.fix is None and "No release of abandoned-lib fixes" in unfixed.remediation.summary
    details = sorted(path for method, path, _ in osv.requests if method == "GET")
    assert len(details) == len(set(details)) == 7  # each advisory once (one is withdrawn); none for clean pins


async def test_deps_findings_are_valid_sarif(osv: FakeOsv, tmp_path: Path) -> None:
    """GitHub code scanning can take them: valid SARIF 2.1.0, each on its lock file line, the fix in the help."""
    from devops_orchestra.render.sarif import to_sarif

    sarif = to_sarif(await security_scan(write(tmp_path, REPO), scanners=["deps"]))
    assert_valid_sarif(sarif)
    run = sarif["runs"][0]
    lodash = next(r for r in run["results"] if r["ruleId"] == "deps:GHSA-jf85-cpcp-j695")
    assert lodash["locations"][0]["physicalLocation"]["region"]["startLine"] == 7
    rule = run["tool"]["driver"]["rules"][lodash["ruleIndex"]]
    assert "upgrade lodash to 4.17.12" in rule["help"]["markdown"] and rule["properties"]["security-severity"]


async def test_offline_export_gives_the_same_findings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Offline from an export zip built here: the same findings as online, matched by our own range logic."""
    records = [dict(r, affected=[{k: v for k, v in a.items() if k != "versions"} for a in r["affected"]])
               for r in OSV_RECORDS]  # only ranges: our version ordering must decide
    db = export_zip(tmp_path / "all.zip", records, extra={"broken.json": b"{not json"})
    monkeypatch.setenv("DEVOPS_ORCHESTRA_OSV_DB", str(db))
    report = await security_scan(write(tmp_path / "repo", REPO), scanners=["deps"])
    (run,) = report.scanners
    assert run.status == "ok" and run.version and "OSV export all.zip" in run.version
    assert _by_rule(report) == EXPECTED


async def test_neither_online_nor_offline_is_unavailable_with_why(tmp_path: Path) -> None:
    """No OSV API (conftest's closed port) and no export: the run record says unavailable, and what to do."""
    started = time.perf_counter()
    report = await security_scan(write(tmp_path, REPO), scanners=["deps"])
    (run,) = report.scanners
    assert run.status == "unavailable" and report.findings == []
    assert run.error and "OSV API unreachable" in run.error and "--osv-db PATH" in run.error
    assert "after 2 attempts" in run.error and time.perf_counter() - started < 3  # refused: one retry only


async def test_nothing_pinned_needs_no_osv(tmp_path: Path) -> None:
    """Only ranges, no lock file: nothing to look up, so the scanner is ok without any OSV at all."""
    report = await security_scan(write(tmp_path, {"requirements.txt": "flask>=1\n"}), scanners=["deps"])
    assert report.scanners[0].status == "ok" and report.scanners[0].files == 1


async def test_no_manifests_is_skipped(tmp_path: Path) -> None:
    report = await security_scan(write(tmp_path, {"app.py": "x = 1\n"}), scanners=["deps"])
    assert report.scanners[0].status == "skipped" and report.scanners[0].error == "no lock files or pinned manifests"


async def test_malformed_lock_file_is_a_warning_in_the_run(osv: FakeOsv, tmp_path: Path) -> None:
    """A lock file that does not parse is a warning; the other files' findings still come."""
    write(tmp_path, {**REPO, "yarn.lock": "\x00garbage", "go.sum": "not a go sum\n"})
    report = await security_scan(tmp_path, scanners=["deps"])
    (run,) = report.scanners
    assert run.status == "ok" and run.findings == 5
    assert any(w.startswith("could not parse go.sum") for w in run.warnings), run.warnings


async def test_batches_of_at_most_1000_and_each_advisory_fetched_once(osv: FakeOsv) -> None:
    """2,500 packages: three querybatch requests, and the advisory they share is fetched once."""
    queries = [Query("npm", "lodash", "4.17.4")] + [Query("npm", f"pkg-{i}", "1.0.0") for i in range(2_499)]
    queries.append(Query("npm", "lodash", "4.17.11"))
    started = time.perf_counter()
    hits = await OsvApi().lookup(queries)
    elapsed = time.perf_counter() - started
    assert [n for m, _, n in osv.requests if m == "POST"] == [1000, 1000, 501]
    assert [p for m, p, _ in osv.requests if m == "GET"] == ["/v1/vulns/GHSA-jf85-cpcp-j695"]
    assert [h.fixed for h in hits[Query("npm", "lodash", "4.17.11")]] == ["4.17.12"]
    assert sum(map(len, hits.values())) == 2
    assert elapsed < 5, elapsed
    osv.requests.clear()
    await OsvApi().lookup(queries[:1])  # a rescan: the record's (id, modified) is known, no GET
    assert [m for m, _, _ in osv.requests] == ["POST"]


async def test_retries_on_429_and_5xx(osv: FakeOsv) -> None:
    """Rate limits and server errors are retried with backoff; the lookup still succeeds."""
    osv.fail_next = [503, 429]
    hits = await OsvApi(backoff_s=0.01).lookup([Query("PyPI", "requests", "2.19.1")])
    assert [h.vuln.id for h in hits[Query("PyPI", "requests", "2.19.1")]] == ["GHSA-x84v-xcm2-53pg"]
    assert [m for m, _, _ in osv.requests] == ["POST", "POST", "POST", "GET", "GET"]  # one is withdrawn


async def test_persistent_server_errors_make_it_unavailable(osv: FakeOsv, tmp_path: Path) -> None:
    osv.fail_next = [500] * 10
    report = await security_scan(write(tmp_path, REPO), scanners=["deps"])
    (run,) = report.scanners
    assert run.status == "unavailable" and run.error and "HTTP 500" in run.error


async def test_refused_request_fails_the_scanner(osv: FakeOsv, tmp_path: Path) -> None:
    """A 4xx is our bug or a changed API, not a network problem: failed, with the server's words."""
    osv.fail_next = [400]
    report = await security_scan(write(tmp_path, REPO), scanners=["deps"])
    (run,) = report.scanners
    assert run.status == "failed" and run.error and "HTTP 400" in run.error


async def test_follows_next_page_token(osv: FakeOsv) -> None:
    """A query whose answer is paginated is asked again with page_token until it is complete."""
    osv.page_size = 1
    query = Query("PyPI", "flask", "0.12.2")
    hits = await OsvApi().lookup([query])
    assert sorted(h.vuln.id for h in hits[query]) == ["GHSA-562c-5r94-xh97", "PYSEC-2018-66"]
    assert len([m for m, _, _ in osv.requests if m == "POST"]) == 2


def test_range_logic_on_an_export(tmp_path: Path) -> None:
    """Several intervals, last_affected, pre-releases and PEP 440 normalisation, offline."""
    record = {"id": "TEST-1", "affected": [
        {"package": {"ecosystem": "PyPI", "name": "Some_Lib"}, "ranges": [{"type": "ECOSYSTEM", "events": [
            {"introduced": "1.0"}, {"fixed": "1.4.2"}, {"introduced": "2.0.0rc1"}, {"last_affected": "2.1"}]}]},
        {"package": {"ecosystem": "npm", "name": "semverish"}, "ranges": [{"type": "SEMVER", "events": [
            {"introduced": "1.0.0-beta.2"}, {"fixed": "1.0.0"}]}]},
    ]}
    export = OsvExport.open(export_zip(tmp_path / "all.zip", [record]))

    def fix(eco: str, name: str, version: str) -> str | bool | None:
        hits = export.lookup([Query(eco, name, version)])[Query(eco, name, version)]
        return hits[0].fixed if hits else False

    assert fix("PyPI", "some-lib", "0.9") is False
    assert fix("PyPI", "some.lib", "1.0.0") == "1.4.2"
    assert fix("PyPI", "some-lib", "1.4.10") is False  # 1.4.10 > 1.4.2: not a string comparison
    assert fix("PyPI", "some-lib", "2.0.0rc2") is None  # affected up to 2.1, no fix
    assert fix("PyPI", "some-lib", "2.1.0") is None
    assert fix("PyPI", "some-lib", "2.1.1") is False
    assert fix("npm", "semverish", "1.0.0-beta.10") == "1.0.0"  # numeric pre-release ids compare as numbers
    assert fix("npm", "semverish", "1.0.0-beta.1") is False
    assert fix("npm", "semverish", "1.0.0") is False


def test_versions_list_alone_decides_when_ranges_cannot(tmp_path: Path) -> None:
    """A record with only GIT ranges still matches through its exact versions list."""
    record = {"id": "OSV-2020-1", "affected": [{"package": {"ecosystem": "PyPI", "name": "pkg"},
              "ranges": [{"type": "GIT", "repo": "https://example.org/x", "events": [{"introduced": "0"}]}],
              "versions": ["1.2.3"]}]}
    vuln_hits = OsvExport.open(export_zip(tmp_path / "all.zip", [record])).lookup(
        [Query("PyPI", "pkg", "1.2.3"), Query("PyPI", "pkg", "1.2.4")])
    assert [len(v) for v in vuln_hits.values()] == [1, 0]


def test_trusted_api_answer_is_kept_even_when_our_ordering_cannot_place_it() -> None:
    vuln = Vuln.model_validate({"id": "X-1", "affected": [{"package": {"ecosystem": "Maven", "name": "g:a"},
                                "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "3"}]}]}]})
    assert hit_for(vuln, Query("Maven", "g:a", "5"), trusted=False) is None
    hit = hit_for(vuln, Query("Maven", "g:a", "5"), trusted=True)
    assert hit is not None and hit.fixed is None


@pytest.mark.parametrize(("setup", "words"), [
    (lambda p: p / "missing.zip", "does not exist"),
    (lambda p: (p / "notes.zip").write_text("not a zip") and p / "notes.zip", "is not a readable zip"),
    (lambda p: p, "holds no .zip files"),
    (lambda p: export_zip(p / "empty.zip", [], extra={"README": b"hi"}), "has no .json advisories"),
])
def test_cli_bad_osv_db_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                         setup: Any, words: str) -> None:
    db = tmp_path / "db"
    db.mkdir()
    write(tmp_path / "repo", {"requirements.txt": "flask==0.12.2\n"})
    code = cli.main(["scan", str(tmp_path / "repo"), "--scanners", "deps", "--osv-db", str(setup(db))])
    assert code == 2 and words in capsys.readouterr().err


def test_cli_scan_with_osv_db(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                              monkeypatch: pytest.MonkeyPatch) -> None:
    """`scan --osv-db PATH` works with no network and fails the build on a critical finding."""
    monkeypatch.setenv("DEVOPS_ORCHESTRA_OSV_DB", "")  # restored after the test: the CLI sets it
    db = export_zip(tmp_path / "all.zip", OSV_RECORDS)
    code = cli.main(["scan", str(write(tmp_path / "repo", REPO)), "--scanners", "deps", "--osv-db", str(db),
                     "--format", "json", "--fail-on", "critical"])
    report = SecurityReport.model_validate_json(capsys.readouterr().out)
    assert code == 1 and _by_rule(report) == EXPECTED


async def test_bad_osv_db_env_fails_the_scanner_with_why(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DEVOPS_ORCHESTRA_OSV_DB", str(tmp_path / "nope.zip"))
    report = await security_scan(write(tmp_path, REPO), scanners=["deps"])
    (run,) = report.scanners
    assert run.status == "failed" and run.error and "nope.zip does not exist" in run.error


async def test_deps_results_are_not_cached(osv: FakeOsv, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A new advisory for an unchanged lock file shows as soon as OSV is asked again (here on every scan, with
    a TTL of 0): deps skips the content cache."""
    from devops_orchestra.core.cache import ScanCache

    monkeypatch.setenv("DEVOPS_ORCHESTRA_OSV_TTL", "0")
    cache = ScanCache(tmp_path / "cache.sqlite3")
    repo = write(tmp_path / "repo", REPO)
    first = await security_scan(repo, scanners=["deps"], cache=cache)
    osv.records["GHSA-new0-0000-0000"] = {
        "id": "GHSA-new0-0000-0000", "modified": "2024-03-01T00:00:00Z", "summary": "New left-pad problem",
        "affected": [{"package": {"ecosystem": "npm", "name": "left-pad"}, "versions": ["1.3.0"]}]}
    second = await security_scan(repo, scanners=["deps"], cache=cache)
    assert len(second.findings) == len(first.findings) + 1 and second.scanners[0].cached == 0


def test_concurrent_lookups_share_nothing_mutable(osv: FakeOsv) -> None:
    """Two scans at once (two tool calls) both get complete answers."""
    async def both() -> list[int]:
        q = [Query("PyPI", "flask", "0.12.2"), Query("npm", "lodash", "4.17.4")]
        answers = await asyncio.gather(OsvApi().lookup(q), OsvApi().lookup(q))
        return [sum(map(len, a.values())) for a in answers]

    assert asyncio.run(both()) == [3, 3]
