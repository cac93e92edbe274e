"""What every scanner adapter shares: the job it is given and how it turns a hit into a Finding."""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
from collections.abc import Callable, Container, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from devops_orchestra.core import toolchain
from devops_orchestra.core.errors import ScannerFailed, ScannerUnavailable
from devops_orchestra.core.proc import Runner, run, safe_arg
from devops_orchestra.core.redaction import redact
from devops_orchestra.core.workspace import Inventory, SourceFile
from devops_orchestra.models import Confidence, Finding, Location, Remediation, ScannerName, Severity

ARGV_CHARS = 100_000  # file paths per command line; Linux refuses argv past ~2 MB with the environment
BYTES_PER_WORKER = 1_000_000  # below this a second process (0.2-0.4 s to start) costs more than it saves


@dataclass(frozen=True)
class ScanJob:
    """What a scanner is asked to do: which files, under which directory, on how many cores, for how long."""

    base: Path  # the scanned directory; scanners run with it as cwd and get paths relative to it
    files: list[SourceFile]
    cores: int
    timeout_s: float
    runner: Runner = run
    nice: int = 0

    def workers(self) -> int:
        """Processes worth starting: one per core, but not for inputs smaller than their start-up cost."""
        return max(1, min(self.cores, sum(f.size for f in self.files) // BYTES_PER_WORKER))


@dataclass
class ScanOutcome:
    """What a scan found, and its warnings."""

    findings: list[Finding]
    warnings: list[str] = field(default_factory=list)  # e.g. files the scanner could not parse


class Scanner(Protocol):
    """A scanner adapter: the files it wants, its version, and a scan that turns its output into findings."""

    name: ScannerName
    # Runs as one process that cannot use a second core: it gets the CPU first, the others fill the rest.
    single_process: bool

    def select(self, inventory: Inventory) -> list[SourceFile]:
        """The files this scanner should look at; empty means it does not apply."""
        ...

    def version(self) -> str | None:
        """The installed version, or None when it is not installed. Cheap: no subprocess."""
        ...

    async def scan(self, job: ScanJob) -> ScanOutcome:
        """Run the scanner; raise ScannerUnavailable, ScannerFailed or ScannerTimeout."""
        ...


async def run_json(
    name: str,
    args: Callable[[str], list[str]],
    job: ScanJob,
    *,
    ok_exits: Container[int] = (0,),
    env: Mapping[str, str] | None = None,
) -> Any:
    """Run scanner `name` (args builds argv from its executable) and return the JSON it prints.

    Exit codes are the scanner's own: bandit and checkov exit 1 when they find something.
    """
    exe = toolchain.executable(name)
    if exe is None:
        fix = "run `devops-orchestra tools install`" if name in toolchain.ISOLATED else "reinstall devops-orchestra"
        raise ScannerUnavailable(f"{name} is not installed: {fix}")
    result = await job.runner(args(str(exe)), cwd=job.base, timeout_s=job.timeout_s, env=env, nice=job.nice)
    if result.returncode not in ok_exits:
        raise ScannerFailed(f"{name} exited {result.returncode}: {result.stderr_tail()}")
    try:
        return json.loads(result.stdout)
    except ValueError as exc:
        raise ScannerFailed(f"{name} printed no JSON: {result.stderr_tail()}") from exc


def file_args(files: list[SourceFile]) -> list[str]:
    """The files as command-line arguments (a name starting with - cannot pass for an option)."""
    return [safe_arg(f.rel) for f in files]


async def run_json_batches(
    name: str,
    args: Callable[[str, list[SourceFile]], list[str]],
    job: ScanJob,
    *,
    ok_exits: Container[int] = (0,),
) -> list[Any]:
    """run_json on batches of files, job.workers() at a time: how a one-core scanner uses every core.

    args builds argv from the executable and one batch.
    """
    limit = asyncio.Semaphore(job.workers())

    async def one(batch: list[SourceFile]) -> Any:
        async with limit:
            return await run_json(name, lambda exe: args(exe, batch), job, ok_exits=ok_exits)

    return await asyncio.gather(*(one(b) for b in batches(job.files, job.workers())))


def batches(files: list[SourceFile], n: int) -> list[list[SourceFile]]:
    """Split files into n batches of about equal bytes (largest first, onto the lightest batch).

    A batch whose paths would not fit on one command line is split further.
    """
    buckets: list[list[SourceFile]] = [[] for _ in range(max(1, n))]
    weights = [0] * len(buckets)
    for f in sorted(files, key=lambda f: f.size, reverse=True):
        i = weights.index(min(weights))
        buckets[i].append(f)
        weights[i] += f.size + 2_000  # per-file overhead: parsing and bookkeeping
    out: list[list[SourceFile]] = []
    for bucket in buckets:
        chunk: list[SourceFile] = []
        chars = 0
        for f in bucket:
            if chunk and chars + len(f.rel) + 3 > ARGV_CHARS:
                out.append(chunk)
                chunk, chars = [], 0
            chunk.append(f)
            chars += len(f.rel) + 3
        if chunk:
            out.append(chunk)
    return out


def relative(path: str, base: Path) -> str:
    """A scanner's path (absolute, ./-prefixed or checkov's /-prefixed) as posix relative to base."""
    p = Path(path)
    if p.is_absolute():
        try:
            return p.relative_to(base).as_posix()
        except ValueError:
            pass
    return path.lstrip("/").removeprefix("./")


class SourceLines:
    """Reads scanned files once each, for snippets and fingerprints."""

    def __init__(self, base: Path) -> None:
        self.base = base
        self._cache: dict[str, list[str]] = {}

    def lines(self, rel: str) -> list[str]:
        """Every line of a file; none when it cannot be read."""
        lines = self._cache.get(rel)
        if lines is None:
            try:
                text = (self.base / rel).read_text(encoding="utf-8", errors="replace")
            except OSError:
                text = ""
            lines = self._cache[rel] = text.splitlines()
        return lines

    def get(self, rel: str, start: int, end: int) -> str:
        """Lines start to end of a file (at most five) as a snippet; empty when the file cannot be read."""
        end = min(max(start, end), start + 4)  # a snippet, not a dump
        return "\n".join(self.lines(rel)[start - 1 : end]).rstrip()


def fingerprint(rule_id: str, path: str, context: str) -> str:
    """Stable id: rule + file + normalised code, not the line number, so it survives edits above."""
    normalised = " ".join(context.split())
    return hashlib.sha256(f"{rule_id}\0{path}\0{normalised}".encode()).hexdigest()[:16]


def make_finding(
    *,
    scanner: ScannerName,
    rule_id: str,
    category: str,
    severity: Severity,
    confidence: Confidence,
    title: str,
    message: str,
    path: str,
    start_line: int,
    end_line: int | None,
    source: SourceLines,
    remediation: Remediation,
    start_column: int | None = None,
    end_column: int | None = None,
    cwe: str | None = None,
    owasp: str | None = None,
    fingerprint_context: str | None = None,
    resource: str | None = None,
) -> Finding:
    """A Finding from one scanner hit: the snippet read from the file (secrets redacted), the id from the code."""
    start_line = max(1, start_line)
    end_line = max(start_line, end_line or start_line)
    snippet = source.get(path, start_line, end_line)
    if category == "secret":
        snippet = "\n".join(redact(line) for line in snippet.splitlines())
    return Finding(
        id=fingerprint(rule_id, path, fingerprint_context if fingerprint_context is not None else snippet),
        rule_id=rule_id,
        scanner=scanner,
        category=category,
        severity=severity,
        confidence=confidence,
        title=title,
        message=message,
        location=Location(
            path=path,
            start_line=start_line,
            end_line=end_line,
            start_column=start_column,
            end_column=end_column,
            snippet=snippet or None,
        ),
        resource=resource,
        cwe=cwe,
        owasp=owasp,
        remediation=remediation,
    )


def as_confidence(value: object) -> Confidence:
    """A scanner's confidence word ('HIGH', 'Medium', 'UNDEFINED'...) on our three-step scale."""
    word = str(value).lower()
    return "high" if word == "high" else "low" if word == "low" else "medium"


def normalise_cwe(value: object) -> str | None:
    """'CWE-89: Improper ...', ['CWE-89'], 89 or {'id': 89} -> 'CWE-89'."""
    if isinstance(value, list):
        value = value[0] if value else None
    if isinstance(value, dict):
        value = value.get("id")
    if value is None or value == "" or value == -1:
        return None
    m = re.search(r"\d+", str(value))
    return f"CWE-{m.group()}" if m else None
