"""deps: pinned dependencies from lock files and manifests, looked up in OSV (online API or offline export).

Not kept in the content-hash scan cache: what a lock file means changes whenever an advisory is published,
while its content does not. OSV's answers per package version are kept instead, for a TTL (cache.py), and
the run record says how old the ones it used are.
"""

from __future__ import annotations

import asyncio
import os
import re
from collections.abc import Callable
from decimal import Decimal
from fnmatch import fnmatch
from pathlib import Path, PurePosixPath

from cvss import CVSS2, CVSS3, CVSS4  # type: ignore[import-untyped]
from cvss.exceptions import CVSSError  # type: ignore[import-untyped]

from devops_orchestra import __version__
from devops_orchestra.core.errors import ScannerFailed, ScannerTimeout
from devops_orchestra.core.workspace import Inventory, SourceFile, is_test_path
from devops_orchestra.models import Finding, Remediation, ScannerName, Severity
from devops_orchestra.scanners.base import ScanJob, ScanOutcome, SourceLines, make_finding, normalise_cwe
from devops_orchestra.scanners.deps import javascript, other, python
from devops_orchestra.scanners.deps.cache import TTL_ENV, OsvCache, ttl_s
from devops_orchestra.scanners.deps.common import LockfileError, Package
from devops_orchestra.scanners.deps.osv import AdvisoryHit, OsvApi, OsvDbError, OsvExport, Query, Vuln, osv_url

Parser = Callable[[str, str], list[Package]]
LOCK_PARSERS: dict[str, Parser] = {
    "poetry.lock": python.poetry_lock,
    "uv.lock": python.uv_lock,
    "Pipfile.lock": python.pipfile_lock,
    "package-lock.json": javascript.package_lock,
    "npm-shrinkwrap.json": javascript.package_lock,
    "yarn.lock": javascript.yarn_lock,
    "pnpm-lock.yaml": javascript.pnpm_lock,
    "go.sum": other.go_sum,
    "Gemfile.lock": other.gemfile_lock,
}
MANIFEST_PARSERS: dict[str, Parser] = {"*requirements*.txt": python.requirements, "pom.xml": other.pom_xml}
OSV_DB_ENV = "DEVOPS_ORCHESTRA_OSV_DB"


def parser_for(rel: str) -> Parser | None:
    """The parser for a lock file or manifest, by its name; None when deps does not read it."""
    name = PurePosixPath(rel).name
    return LOCK_PARSERS.get(name) or next((p for pat, p in MANIFEST_PARSERS.items() if fnmatch(name, pat)), None)


def osv_db() -> Path | None:
    """The offline OSV export named by $DEVOPS_ORCHESTRA_OSV_DB, or None to ask the OSV API."""
    value = os.environ.get(OSV_DB_ENV, "").strip()
    return Path(value).expanduser() if value else None


class DepsScanner:
    """Pinned dependencies from lock files and manifests, looked up in OSV (the API, or an offline export)."""

    name: ScannerName = "deps"
    single_process = False  # no process at all: network and parsing in a worker thread

    def select(self, inventory: Inventory) -> list[SourceFile]:
        """Manifests among the scanned files, and lock files: the inventory leaves those out of the other
        scanners' way (reason "lock file"), but they are exactly what this scanner reads."""
        chosen = [f for f in inventory.files if parser_for(f.rel)]
        for skipped in inventory.skipped:
            if skipped.reason == "lock file" and parser_for(skipped.path):
                try:
                    size = (inventory.base / skipped.path).stat().st_size
                except OSError:
                    continue
                chosen.append(SourceFile(skipped.path, None, size, is_test_path(skipped.path)))
        return chosen

    def version(self) -> str | None:
        db = osv_db()
        source = f"OSV export {db.name}" if db else f"OSV API {osv_url().split('://')[-1]}"
        return f"{__version__} ({source})"

    async def scan(self, job: ScanJob) -> ScanOutcome:
        packages, warnings = await asyncio.to_thread(read_packages, job.base, job.files)
        queries = sorted({Query(p.ecosystem, p.name, p.version) for p in packages}, key=str)
        if not queries:
            return ScanOutcome([], warnings)
        db = osv_db()
        try:
            async with asyncio.timeout(job.timeout_s):
                if db is not None:
                    export = await asyncio.to_thread(OsvExport.open, db)
                    hits = await asyncio.to_thread(export.lookup, queries)
                else:
                    ttl = ttl_s()
                    answer = await OsvApi(cache=OsvCache(ttl_s=ttl)).answer(queries)
                    hits = answer.hits
                    if answer.cached:  # first: the run record keeps only the first ten warnings
                        warnings.insert(0, f"OSV answers for {answer.cached} of {len(queries)} packages from the "
                                           f"cache, up to {age(answer.oldest_s)} old ({TTL_ENV} keeps them {age(ttl)})")
        except OsvDbError as exc:
            raise ScannerFailed(str(exc)) from exc
        except TimeoutError as exc:
            raise ScannerTimeout(f"deps: OSV lookup of {len(queries)} packages took over {job.timeout_s:.0f} s") \
                from exc
        source = SourceLines(job.base)
        findings = [finding(p, hit, also, source) for p in packages
                    for hit, also in distinct(hits.get(Query(p.ecosystem, p.name, p.version), []))]
        return ScanOutcome(findings, warnings)


def age(seconds: float) -> str:
    """A duration as a person says it: 40 s, 12 min, 3 h, 2 d."""
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size * (2 if unit == "d" else 1):
            return f"{int(seconds // size)} {unit}"
    return f"{int(seconds)} s"


def read_packages(base: Path, files: list[SourceFile]) -> tuple[list[Package], list[str]]:
    """Every pinned package in these files; a file that does not parse is a warning, never an error."""
    packages: list[Package] = []
    warnings: list[str] = []
    for f in files:
        parser = parser_for(f.rel)
        if parser is None:
            continue
        try:
            text = (base / f.rel).read_text(encoding="utf-8")
            packages += parser(f.rel, text)
        except (OSError, UnicodeDecodeError) as exc:
            warnings.append(f"could not read {f.rel}: {exc}")
        except LockfileError as exc:
            warnings.append(f"could not parse {f.rel}: {exc}")
        except (KeyError, TypeError, AttributeError, ValueError) as exc:  # valid syntax, unexpected shape
            warnings.append(f"could not parse {f.rel}: unexpected structure ({type(exc).__name__}: {exc})")
    return packages, warnings


def _preference(hit: AdvisoryHit) -> tuple[int, str]:
    """GHSA records carry severity and CWE; CVE-only records the least."""
    vid = hit.vuln.id
    return (0 if vid.startswith("GHSA-") else 2 if vid.startswith("CVE-") else 1, vid)


def distinct(hits: list[AdvisoryHit]) -> list[tuple[AdvisoryHit, list[str]]]:
    """One finding per vulnerability: advisories that are aliases of each other (GHSA-x, PYSEC-y, CVE-z)
    become the most informative one, naming the others."""
    kept: list[tuple[AdvisoryHit, list[str]]] = []
    names: list[set[str]] = []
    for hit in sorted(hits, key=_preference):
        ids = {hit.vuln.id, *hit.vuln.aliases}
        same = next((i for i, known in enumerate(names) if known & ids), None)
        if same is None:
            kept.append((hit, []))
            names.append(ids)
        else:
            kept[same][1].append(hit.vuln.id)
            names[same] |= ids
    return kept


_CVSS = {"CVSS_V3": CVSS3, "CVSS_V4": CVSS4, "CVSS_V2": CVSS2}
_DATABASE_SEVERITY = {"CRITICAL": Severity.critical, "HIGH": Severity.high, "MODERATE": Severity.medium,
                      "MEDIUM": Severity.medium, "LOW": Severity.low}


def severity_of(vuln: Vuln) -> tuple[Severity, str | None]:
    """From the advisory's CVSS vector (base score), else its database's word, else medium."""
    vectors = [*vuln.severity, *(s for a in vuln.affected for s in a.severity)]
    for kind in _CVSS:
        for entry in vectors:
            if entry.type != kind:
                continue
            try:
                score = Decimal(_CVSS[kind](entry.score).base_score)
            except (CVSSError, ValueError, ArithmeticError):
                continue
            level = (Severity.critical if score >= 9 else Severity.high if score >= 7 else
                     Severity.medium if score >= 4 else Severity.low if score > 0 else Severity.info)
            return level, f"CVSS {score}"
    word = str((vuln.database_specific or {}).get("severity", "")).upper()
    if word in _DATABASE_SEVERITY:
        return _DATABASE_SEVERITY[word], None
    return Severity.medium, None


def finding(package: Package, hit: AdvisoryHit, also: list[str], source: SourceLines) -> Finding:
    """The finding for one advisory on one package: severity, affected versions, the fix and references."""
    vuln = hit.vuln
    severity, score = severity_of(vuln)
    aliases = sorted({*vuln.aliases, *also} - {vuln.id})
    known_as = f" (also {', '.join(aliases[:4])})" if aliases else ""
    summary = " ".join((vuln.summary or _first_sentence(vuln.details) or vuln.id).split())
    fixed = f"Fixed in {hit.fixed}." if hit.fixed else "No fixed version is published."
    cwe_ids = (vuln.database_specific or {}).get("cwe_ids")
    references = [f"https://osv.dev/vulnerability/{vuln.id}"]
    references += [r.url for r in vuln.references if r.type in ("ADVISORY", "FIX", "WEB", "REPORT")][:4]
    return make_finding(
        scanner="deps",
        rule_id=f"deps:{vuln.id}",
        category="vulnerable-dependency",
        severity=severity,
        confidence="high",
        title=f"{package.name} {package.version}: {_cut(summary, 100)}",
        message=(f"{package.name} {package.version} ({package.ecosystem}) is affected by {vuln.id}{known_as}"
                 f"{f', {score}' if score else ''}: {_cut(summary, 300)} Affected versions: {hit.affected_range}. "
                 f"{fixed}"),
        path=package.path,
        start_line=package.line,
        end_line=package.end_line,
        source=source,
        remediation=Remediation(
            summary=(f"Upgrade {package.name} to {hit.fixed} or later (affected: {hit.affected_range})."
                     if hit.fixed else
                     f"No release of {package.name} fixes {vuln.id} yet (affected: {hit.affected_range}): "
                     "replace the package or apply the advisory's workaround."),
            fix=f"upgrade {package.name} to {hit.fixed}" if hit.fixed else None,
            references=references,
        ),
        cwe=normalise_cwe(cwe_ids) if cwe_ids else None,
        fingerprint_context=f"{package.ecosystem}:{package.name}",
    )


def _first_sentence(text: str) -> str:
    return re.split(r"(?<=\.)\s", text.strip(), maxsplit=1)[0] if text else ""


def _cut(text: str, limit: int) -> str:
    text = text if text.endswith(".") else text + "."
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"
