"""Known vulnerabilities from OSV: online through its batch API, or offline from an export zip.

Online: POST {base}/v1/querybatch (at most 1000 queries a request) answers with advisory ids only; each
distinct id is then fetched once from GET {base}/v1/vulns/{id}, a few at a time. Records are kept in memory
by (id, modified), which the batch answer gives, so a rescan in the same server fetches only what changed;
with an OsvCache (cache.py) the answers and records also outlive the process, for a TTL.
Offline: an OSV export (the osv-vulnerabilities bucket's <Ecosystem>/all.zip, one JSON record per
advisory), or a directory of them; we match versions against the records' ranges ourselves.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from packaging.utils import canonicalize_name
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from devops_orchestra.core.errors import OrchestraError, ScannerFailed, ScannerUnavailable
from devops_orchestra.scanners.deps.versions import describe, range_holds, same_version, sort_key

if TYPE_CHECKING:  # cache.py builds on this module's models; httpx is imported when the API is asked (76 ms)
    import httpx

    from devops_orchestra.scanners.deps.cache import OsvCache

DEFAULT_URL = "https://api.osv.dev"
BATCH_SIZE = 1000  # the API's limit of queries per querybatch request
MAX_PAGES = 10  # a package with more than ~10,000 advisories is not a real package
DETAILS_KEPT = 5000
UNREACHABLE_S = 60.0  # an API that failed is not asked again for this long: scans in a burst say so at once
OFFLINE_HINT = "pass --osv-db PATH (or set DEVOPS_ORCHESTRA_OSV_DB) to use an offline OSV export"


class OsvDbError(OrchestraError):
    """An --osv-db path that cannot be used: missing, not a zip, or holding no OSV records."""


class OsvUnreachable(ScannerUnavailable):
    """The OSV API could not be reached: no network, refused, timeouts, or 429/5xx on every attempt."""

    def __init__(self, message: str, problem: str) -> None:
        super().__init__(message)
        self.problem = problem


class _Lenient(BaseModel):
    model_config = ConfigDict(extra="ignore")


class OsvSeverity(_Lenient):
    """A severity of an OSV record: its type (CVSS_V3, ...) and vector."""

    type: str
    score: str


class OsvPackage(_Lenient):
    """The package an affected entry of an OSV record is about."""

    ecosystem: str = ""
    name: str = ""


class OsvRange(_Lenient):
    """Affected versions as OSV's events (introduced, fixed, last_affected, limit)."""

    type: str
    events: list[dict[str, str]] = Field(default_factory=list)


class OsvAffected(_Lenient):
    """One package an OSV record affects: its ranges, the exact versions listed, and severity."""

    package: OsvPackage = Field(default_factory=OsvPackage)
    ranges: list[OsvRange] = Field(default_factory=list)
    versions: list[str] = Field(default_factory=list)
    severity: list[OsvSeverity] = Field(default_factory=list)


class OsvReference(_Lenient):
    """A link of an OSV record (advisory, fix, report, ...)."""

    type: str = ""
    url: str


class Vuln(_Lenient):
    """The parts of an OSV record a finding needs."""

    id: str
    modified: str = ""
    summary: str = ""
    details: str = ""
    aliases: list[str] = Field(default_factory=list)
    withdrawn: str | None = None
    severity: list[OsvSeverity] = Field(default_factory=list)
    affected: list[OsvAffected] = Field(default_factory=list)
    references: list[OsvReference] = Field(default_factory=list)
    database_specific: dict[str, Any] | None = None


@dataclass(frozen=True)
class Query:
    """One pinned package version to look up."""

    ecosystem: str
    name: str
    version: str


@dataclass(frozen=True)
class AdvisoryHit:
    """How one advisory affects one package version."""

    vuln: Vuln
    affected_range: str  # in words: '>= 1.0, < 1.2.3'
    fixed: str | None  # the first release that is not affected, when one is published


@dataclass(frozen=True)
class OsvAnswer:
    """The advisories affecting each query, and how many of the answers came from the cache, how old."""

    hits: dict[Query, list[AdvisoryHit]]
    cached: int = 0
    oldest_s: float = 0.0  # age of the oldest cached answer used


def osv_url() -> str:
    """The OSV API's base URL: DEVOPS_ORCHESTRA_OSV_URL (a mirror, or a test's local server) or osv.dev's."""
    return (os.environ.get("DEVOPS_ORCHESTRA_OSV_URL") or DEFAULT_URL).rstrip("/")


def same_package(ecosystem: str, a: str, b: str) -> bool:
    """Whether two names are the same package (PyPI names compare normalised)."""
    if ecosystem == "PyPI":
        return canonicalize_name(a) == canonicalize_name(b)
    return a == b


def hit_for(vuln: Vuln, query: Query, *, trusted: bool) -> AdvisoryHit | None:
    """Whether vuln affects the query's version, the range it falls in and the fix.

    A version in an affected entry's `versions` list is affected (that list is exact); otherwise the
    ECOSYSTEM and SEMVER ranges decide. trusted: the OSV API already said it is affected; keep it even
    where our version ordering cannot place it.
    """
    if vuln.withdrawn:
        return None
    spans: list[str] = []
    fixes: list[str] = []
    listed = False
    for entry in vuln.affected:
        if entry.package.ecosystem.split(":")[0] != query.ecosystem or not same_package(
            query.ecosystem, entry.package.name, query.name
        ):
            continue
        listed = listed or any(same_version(query.ecosystem, v, query.version) for v in entry.versions)
        for rng in entry.ranges:
            if rng.type not in ("ECOSYSTEM", "SEMVER"):
                continue
            key = sort_key(query.ecosystem, rng.type)
            inside, fixed = range_holds(rng.events, query.version, key)
            if inside:
                return AdvisoryHit(vuln, describe(rng.events), fixed)
            spans.append(describe(rng.events))
            fixes += [e["fixed"] for e in rng.events if "fixed" in e and _after(query, e["fixed"], key)]
    if not (listed or trusted):
        return None
    key = sort_key(query.ecosystem)
    fixed = min(fixes, key=key) if fixes else None
    return AdvisoryHit(vuln, "; ".join(spans) or "the versions the advisory lists", fixed)


def _after(query: Query, version: str, key: Any) -> bool:
    try:
        return bool(key(version) > key(query.version))
    except TypeError:
        return False


class OsvApi:
    """The OSV HTTP API, with timeouts, retries with backoff and a bound on concurrent requests."""

    _details: ClassVar[dict[tuple[str, str], Vuln]] = {}  # (id, modified) -> record, shared by every client

    def __init__(
        self,
        base_url: str | None = None,
        *,
        batch_size: int = BATCH_SIZE,
        concurrency: int = 8,
        attempts: int = 3,
        backoff_s: float = 0.2,
        timeout: httpx.Timeout | None = None,
        cache: OsvCache | None = None,
    ) -> None:
        self.base_url = base_url or osv_url()
        self.batch_size = batch_size
        self.attempts = attempts
        self.backoff_s = backoff_s
        self.timeout = timeout
        self.cache = cache
        self._limit = asyncio.Semaphore(concurrency)

    async def lookup(self, queries: list[Query]) -> dict[Query, list[AdvisoryHit]]:
        """The advisories affecting each query; raises ScannerUnavailable when the API cannot be reached."""
        return (await self.answer(queries)).hits

    async def answer(self, queries: list[Query]) -> OsvAnswer:
        """The advisories affecting each query, from the cache where it has a fresh answer, else from the API;
        raises ScannerUnavailable when the API is needed and cannot be reached (or could not a minute ago)."""
        cache = self.cache
        known = await asyncio.to_thread(cache.answers, self.base_url, queries) if cache else {}
        ids = {q: list(a.ids) for q, a in known.items()}
        missing = [q for q in queries if q not in known]
        pairs = {p for found in ids.values() for p in found}
        records = {p: self._details[p] for p in pairs if p in self._details}
        if cache and pairs - records.keys():
            records |= await asyncio.to_thread(cache.records, pairs - records.keys())
        if missing or pairs - records.keys():
            await self._fetch(missing, ids, records)
        hits: dict[Query, list[AdvisoryHit]] = {}
        for query in queries:
            matched = [hit_for(records[pair], query, trusted=True) for pair in ids[query]]
            hits[query] = [h for h in matched if h]
        oldest = cache.clock() - min(a.fetched for a in known.values()) if cache and known else 0.0
        return OsvAnswer(hits, len(known), max(oldest, 0.0))

    async def _fetch(self, missing: list[Query], ids: dict[Query, list[tuple[str, str]]],
                     records: dict[tuple[str, str], Vuln]) -> None:
        """Ask the API what the cache does not know, into ids and records, and remember the answers."""
        cache = self.cache
        if cache:
            note = await asyncio.to_thread(cache.unreachable, self.base_url)
            if note:
                ago = max(cache.clock() - note.at, 0.0)
                raise OsvUnreachable(
                    f"OSV API unreachable at {self.base_url} ({note.problem}) when last tried {ago:.0f} s ago, "
                    f"not tried again for {UNREACHABLE_S - ago:.0f} s; {OFFLINE_HINT}", note.problem)
        import httpx

        timeout = self.timeout or httpx.Timeout(15.0, connect=5.0)
        try:
            async with httpx.AsyncClient(base_url=self.base_url, timeout=timeout,
                                         headers={"User-Agent": "devops-orchestra"}) as client:
                for start in range(0, len(missing), self.batch_size):
                    chunk = missing[start : start + self.batch_size]
                    ids.update(zip(chunk, await self._batch(client, chunk), strict=True))
                wanted = {pair for found in ids.values() for pair in found} - records.keys()
                if cache and wanted:  # an answer asked again often names records the cache has
                    records.update(await asyncio.to_thread(cache.records, wanted))
                    wanted -= records.keys()
                records.update(zip(wanted, await asyncio.gather(*(self._vuln(client, *p) for p in wanted)),
                                   strict=True))
        except OsvUnreachable as exc:
            if cache:
                await asyncio.to_thread(cache.note_unreachable, self.base_url, exc.problem)
            raise
        if cache:
            used = {pair for found in ids.values() for pair in found}
            await asyncio.to_thread(cache.store, self.base_url, {q: ids[q] for q in missing},
                                    [records[p] for p in used])

    async def _batch(self, client: httpx.AsyncClient, queries: list[Query]) -> list[list[tuple[str, str]]]:
        """(id, modified) of the advisories for each query, following next_page_token where a query has more."""
        bodies = [{"package": {"ecosystem": q.ecosystem, "name": q.name}, "version": q.version} for q in queries]
        found: list[list[tuple[str, str]]] = [[] for _ in queries]
        pending = list(range(len(queries)))
        tokens: dict[int, str] = {}
        for _ in range(MAX_PAGES):
            payload = {"queries": [dict(bodies[i], **({"page_token": tokens[i]} if i in tokens else {}))
                                   for i in pending]}
            answer = await self._request(client, "POST", "/v1/querybatch", json=payload)
            results = answer.get("results") if isinstance(answer, dict) else None
            if not isinstance(results, list) or len(results) != len(pending):
                raise ScannerFailed(f"OSV API at {self.base_url} answered querybatch with an unexpected shape")
            tokens = {}
            for i, result in zip(pending, results, strict=True):
                for v in (result or {}).get("vulns") or []:
                    found[i].append((str(v["id"]), str(v.get("modified", ""))))
                if (result or {}).get("next_page_token"):
                    tokens[i] = str(result["next_page_token"])
            pending = list(tokens)
            if not pending:
                break
        return found

    async def _vuln(self, client: httpx.AsyncClient, vuln_id: str, modified: str) -> Vuln:
        known = self._details.get((vuln_id, modified))
        if known is not None and modified:
            return known
        async with self._limit:
            data = await self._request(client, "GET", f"/v1/vulns/{vuln_id}")
        try:
            vuln = Vuln.model_validate(data)
        except ValidationError as exc:
            raise ScannerFailed(f"OSV API sent a record for {vuln_id} that is not OSV: {exc.errors()[0]['msg']}") \
                from exc
        if len(self._details) >= DETAILS_KEPT:
            self._details.pop(next(iter(self._details)))
        self._details[(vuln_id, modified)] = vuln
        return vuln

    async def _request(self, client: httpx.AsyncClient, method: str, url: str, **kwargs: Any) -> Any:
        """One API call; connection errors, timeouts, 429 and 5xx are retried with jittered backoff."""
        import httpx

        problem = ""
        attempts = self.attempts
        for attempt in range(self.attempts):
            if attempt >= attempts:
                break
            if attempt:
                await asyncio.sleep(self.backoff_s * 2 ** (attempt - 1) * (1 + random.random() / 2))
            try:
                response = await client.request(method, url, **kwargs)
            except httpx.TransportError as exc:
                problem = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
                if isinstance(exc, httpx.ConnectError):
                    # No route, no DNS, refused: on a machine without network a second try is enough to tell,
                    # and a scan should not wait seconds to say so.
                    attempts = min(attempts, 2)
                continue
            if response.status_code == 429 or response.status_code >= 500:
                problem = f"HTTP {response.status_code} from {url}"
                retry_after = response.headers.get("Retry-After", "")
                if retry_after.isdigit():
                    await asyncio.sleep(min(float(retry_after), 5.0))
                continue
            if response.status_code != 200:
                raise ScannerFailed(f"OSV API refused {method} {url}: HTTP {response.status_code} "
                                    f"{response.text[:200]}")
            try:
                return response.json()
            except ValueError as exc:
                raise ScannerFailed(f"OSV API answered {url} with something other than JSON") from exc
        raise OsvUnreachable(f"OSV API unreachable at {self.base_url} ({problem}, after {attempts} attempts); "
                             f"{OFFLINE_HINT}", problem)


class OsvExport:
    """An offline OSV export: one zip of JSON records per advisory, or a directory of such zips.

    Opening it indexes every record by the package names it mentions (a regex over the raw JSON: no full
    parse); a lookup parses only the records of the packages asked about, each once per process.
    """

    _loaded: ClassVar[dict[tuple[str, ...], OsvExport]] = {}  # by paths, sizes and mtimes: a server loads once

    def __init__(self, zips: list[Path]) -> None:
        self.sources = zips
        self.count = 0
        self._members: dict[str, list[tuple[Path, str]]] = {}  # loose package name -> (zip, member)
        self._parsed: dict[tuple[Path, str], Vuln | None] = {}
        for z in zips:
            with _open_zip(z) as archive:
                members = [m for m in archive.namelist() if m.endswith(".json")]
                if not members:
                    raise OsvDbError(f"OSV database {z} has no .json advisories: is it an OSV export?")
                self.count += len(members)
                for member in members:
                    for name in set(_NAME.findall(archive.read(member))):
                        self._members.setdefault(_loose(name.decode("utf-8", "replace")), []).append((z, member))

    @classmethod
    def open(cls, path: Path) -> OsvExport:
        """The export at path, indexed once per process and file state. Blocking: call in a worker thread."""
        if not path.exists():
            raise OsvDbError(f"OSV database {path} does not exist: give an OSV export zip "
                             "(e.g. PyPI/all.zip from the osv-vulnerabilities bucket) or a directory of them")
        zips = [path] if path.is_file() else sorted(path.rglob("*.zip"))
        if not zips:
            raise OsvDbError(f"OSV database {path} holds no .zip files: give an OSV export zip or a directory of them")
        stamp = tuple(f"{z}:{z.stat().st_size}:{z.stat().st_mtime_ns}" for z in zips)
        if stamp not in cls._loaded:
            cls._loaded.clear()  # one export at a time is what a server uses
            cls._loaded[stamp] = cls(zips)
        return cls._loaded[stamp]

    def lookup(self, queries: list[Query]) -> dict[Query, list[AdvisoryHit]]:
        """Blocking: call in a worker thread."""
        wanted = {place for q in queries for place in self._members.get(_loose(q.name), [])}
        self._parse({place for place in wanted if place not in self._parsed})
        hits: dict[Query, list[AdvisoryHit]] = {}
        for query in queries:
            candidates = (self._parsed[place] for place in self._members.get(_loose(query.name), []))
            matched = [hit_for(v, query, trusted=False) for v in candidates if v is not None]
            hits[query] = [h for h in matched if h]
        return hits

    def _parse(self, places: set[tuple[Path, str]]) -> None:
        for z in {z for z, _ in places}:
            with _open_zip(z) as archive:
                for _, member in (p for p in places if p[0] == z):
                    try:
                        self._parsed[(z, member)] = Vuln.model_validate(json.loads(archive.read(member)))
                    except (ValueError, ValidationError):
                        self._parsed[(z, member)] = None  # one bad record must not hide the others


_NAME = re.compile(rb'"name"\s*:\s*"((?:[^"\\]|\\.)*)"')


def _loose(name: str) -> str:
    """A key that every spelling of a package name shares (PyPI's normalisation, applied to all)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def _open_zip(path: Path) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise OsvDbError(f"OSV database {path} is not a readable zip ({exc}): give an OSV export zip") from exc
