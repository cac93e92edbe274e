"""OSV's answers kept between scans: what a rescan asks the (local, fake) OSV server, when an answer is too
old, how long an unreachable API is believed, and a cache file that cannot be read. The clock is a list the
test moves, so nothing sleeps."""

import json
import os
import re
import time
from pathlib import Path

import pytest

from devops_orchestra.agents.security import security_scan
from devops_orchestra.scanners.deps import age
from devops_orchestra.scanners.deps.cache import OsvCache, default_path
from devops_orchestra.scanners.deps.osv import OsvApi, OsvUnreachable, Query
from tests.helpers import FakeOsv, fake_osv, write

FILES = {
    "requirements.txt": "flask==0.12.2\nrequests==2.19.1\nsafe-lib==1.0\n",
    "package-lock.json": json.dumps({"lockfileVersion": 3, "packages": {
        "": {"name": "web"}, "node_modules/lodash": {"version": "4.17.4"}}}),
}
QUERIES = [Query("PyPI", "flask", "0.12.2"), Query("PyPI", "requests", "2.19.1"), Query("npm", "lodash", "4.17.4")]


def _methods(osv: FakeOsv) -> list[str]:
    return [method for method, _, _ in osv.requests]


def _new_process() -> None:
    """What a new server or CLI run starts with: nothing of OSV's in memory, only the cache file."""
    OsvApi._details.clear()
    OsvCache._unreachable.clear()
    OsvCache._ready.clear()


async def test_rescan_within_the_ttl_asks_osv_nothing(osv: FakeOsv, tmp_path: Path) -> None:
    """A second scan, even in a new process, takes every answer and record from the cache file."""
    repo = write(tmp_path, FILES)
    first = await security_scan(repo, scanners=["deps"])
    assert _methods(osv).count("POST") == 1 and _methods(osv).count("GET") == 5
    assert first.scanners[0].warnings == []
    osv.requests.clear()
    _new_process()
    second = await security_scan(repo, scanners=["deps"])
    assert osv.requests == []
    assert [f.id for f in second.findings] == [f.id for f in first.findings] and len(second.findings) == 3
    (run,) = second.scanners
    assert run.status == "ok" and run.warnings == [
        "OSV answers for 4 of 4 packages from the cache, up to 0 s old (DEVOPS_ORCHESTRA_OSV_TTL keeps them 12 h)"]


async def test_report_says_how_old_the_answers_are(osv: FakeOsv, tmp_path: Path) -> None:
    """Answers stored three hours ago are used, and the run record says how old they are."""
    three_hours_ago = OsvCache(default_path(), clock=lambda: time.time() - 3 * 3600 - 30)
    await OsvApi(cache=three_hours_ago).answer(QUERIES[:2])
    osv.requests.clear()
    report = await security_scan(write(tmp_path, FILES), scanners=["deps"])
    (run,) = report.scanners
    assert run.status == "ok" and len(report.findings) == 3
    assert [m for m, _, _ in osv.requests] == ["POST", "GET"]  # only what the cache lacked: lodash, safe-lib
    assert run.warnings == ["OSV answers for 2 of 4 packages from the cache, up to 3 h old "
                            "(DEVOPS_ORCHESTRA_OSV_TTL keeps them 12 h)"]


async def test_expired_answers_are_asked_again(osv: FakeOsv, tmp_path: Path) -> None:
    """After the TTL the batch query is sent again; records whose `modified` did not change are not fetched."""
    now = [1_000_000.0]
    cache = OsvCache(tmp_path / "osv.sqlite3", ttl_s=100, clock=lambda: now[0])
    first = await OsvApi(cache=cache).answer(QUERIES)
    assert first.cached == 0 and sum(map(len, first.hits.values())) == 4
    osv.requests.clear()
    _new_process()
    now[0] += 99
    fresh = await OsvApi(cache=cache).answer(QUERIES)
    assert osv.requests == [] and fresh.cached == 3 and fresh.oldest_s == 99 and fresh.hits == first.hits
    now[0] += 2
    osv.records["GHSA-jf85-cpcp-j695"] = dict(osv.records["GHSA-jf85-cpcp-j695"], modified="2024-06-01T00:00:00Z",
                                              summary="Prototype Pollution in lodash (updated)")
    again = await OsvApi(cache=cache).answer(QUERIES)
    assert again.cached == 0
    assert [(m, p) for m, p, _ in osv.requests] == [("POST", "/v1/querybatch"),
                                                    ("GET", "/v1/vulns/GHSA-jf85-cpcp-j695")]
    assert again.hits[QUERIES[2]][0].vuln.summary.endswith("(updated)")


async def test_unreachable_is_remembered_for_a_minute_then_tried_again(osv: FakeOsv, tmp_path: Path) -> None:
    """An API that failed is not asked again for 60 s, even by a new process; then it is, and answers."""
    now = [1_000_000.0]
    cache = OsvCache(tmp_path / "osv.sqlite3", clock=lambda: now[0])
    osv.fail_next = [503] * 3
    with pytest.raises(OsvUnreachable, match="HTTP 503 from /v1/querybatch, after 3 attempts"):
        await OsvApi(cache=cache, backoff_s=0.01).answer(QUERIES)
    assert _methods(osv) == ["POST"] * 3
    osv.requests.clear()
    now[0] += 30
    with pytest.raises(OsvUnreachable) as remembered:
        await OsvApi(cache=cache).answer(QUERIES)
    assert str(remembered.value) == (
        f"OSV API unreachable at {osv.url} (HTTP 503 from /v1/querybatch) when last tried 30 s ago, not tried again "
        "for 30 s; pass --osv-db PATH (or set DEVOPS_ORCHESTRA_OSV_DB) to use an offline OSV export")
    _new_process()  # the note is in the file too
    now[0] += 29
    with pytest.raises(OsvUnreachable, match="when last tried 59 s ago"):
        await OsvApi(cache=cache).answer(QUERIES)
    assert osv.requests == []
    now[0] += 2
    answer = await OsvApi(cache=cache).answer(QUERIES)
    assert sum(map(len, answer.hits.values())) == 4 and _methods(osv).count("POST") == 1
    assert cache.unreachable(osv.url) is None  # answered: forgotten


async def test_offline_rescans_say_unavailable_at_once(tmp_path: Path) -> None:
    """No network (conftest's closed port): the first scan tries twice, the next says so without trying."""
    repo = write(tmp_path, FILES)
    first = await security_scan(repo, scanners=["deps"])
    assert first.scanners[0].error and "after 2 attempts" in first.scanners[0].error
    second = await security_scan(repo, scanners=["deps"])
    (run,) = second.scanners
    assert run.status == "unavailable" and run.error and re.search(r"when last tried \d+ s ago", run.error)
    assert "--osv-db PATH" in run.error and run.duration_s < first.scanners[0].duration_s


async def test_cached_answers_need_no_network(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Scanned while online, then the network goes: the rescan still has every finding, from the cache."""
    repo = write(tmp_path, FILES)
    with fake_osv() as fake:
        monkeypatch.setenv("DEVOPS_ORCHESTRA_OSV_URL", fake.url)
        online = await security_scan(repo, scanners=["deps"])
    _new_process()
    offline = await security_scan(repo, scanners=["deps"])  # the same URL, nothing listening on it now
    assert offline.scanners[0].status == "ok" and len(offline.findings) == len(online.findings) == 3


async def test_unreadable_cache_file_is_rebuilt(osv: FakeOsv, tmp_path: Path) -> None:
    """Garbage where the cache file should be, before a scan or between two: scans work, the file is rebuilt."""
    path = default_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"not a database " * 100)
    repo = write(tmp_path, FILES)
    first = await security_scan(repo, scanners=["deps"])
    assert first.scanners[0].status == "ok" and len(first.findings) == 3
    assert [p.name for p in path.parent.glob("osv-cache.sqlite3.broken-*")]
    for suffix in ("-wal", "-shm"):
        path.with_name(path.name + suffix).unlink(missing_ok=True)
    path.write_bytes(b"broken again " * 100)  # while this process believes the file is fine
    osv.requests.clear()
    second = await security_scan(repo, scanners=["deps"])
    assert second.scanners[0].status == "ok" and len(second.findings) == 3 and _methods(osv).count("POST") == 1
    osv.requests.clear()
    third = await security_scan(repo, scanners=["deps"])
    assert osv.requests == [] and len(third.findings) == 3


async def test_ttl_from_the_environment(osv: FakeOsv, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """0 asks OSV on every scan; something that is not seconds fails the scanner, saying what to give."""
    repo = write(tmp_path, FILES)
    monkeypatch.setenv("DEVOPS_ORCHESTRA_OSV_TTL", "0")
    await security_scan(repo, scanners=["deps"])
    report = await security_scan(repo, scanners=["deps"])
    assert _methods(osv).count("POST") == 2 and report.scanners[0].warnings == []
    monkeypatch.setenv("DEVOPS_ORCHESTRA_OSV_TTL", "12h")
    (run,) = (await security_scan(repo, scanners=["deps"])).scanners
    assert run.status == "failed" and run.error
    assert "DEVOPS_ORCHESTRA_OSV_TTL='12h' is not a number of seconds" in run.error


def test_cache_lives_beside_the_scan_cache() -> None:
    assert default_path() == Path(os.environ["DEVOPS_ORCHESTRA_CACHE"]).with_name("osv-cache.sqlite3")


@pytest.mark.parametrize(("seconds", "said"), [(0, "0 s"), (59.9, "59 s"), (60, "1 min"), (3 * 3600 + 59 * 60, "3 h"),
                                               (36 * 3600, "36 h"), (3 * 86400, "3 d")])
def test_age_in_words(seconds: float, said: str) -> None:
    assert age(seconds) == said
