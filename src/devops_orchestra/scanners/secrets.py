"""detect-secrets on every text file. Only the hash of a secret ever leaves this module."""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

from devops_orchestra.core import toolchain
from devops_orchestra.core.workspace import Inventory, SourceFile
from devops_orchestra.models import Confidence, Finding, Remediation, ScannerName, Severity
from devops_orchestra.scanners.base import (
    ScanJob,
    ScanOutcome,
    SourceLines,
    file_args,
    make_finding,
    relative,
    run_json_batches,
)

FAST_ENTRY = Path(__file__).parent / "entrypoints" / "secrets_fast.py"

# detect-secrets' plugin names -> how bad a leak of that kind is, and how sure the plugin is.
_GRADES: dict[str, tuple[Severity, Confidence]] = {
    "Private Key": (Severity.critical, "high"),
    "Secret Keyword": (Severity.medium, "medium"),
    "Base64 High Entropy String": (Severity.low, "low"),
    "Hex High Entropy String": (Severity.low, "low"),
    "Basic Auth Credentials": (Severity.high, "medium"),
    "JSON Web Token": (Severity.medium, "medium"),
}
_DEFAULT_GRADE: tuple[Severity, Confidence] = (Severity.high, "high")  # provider keys: AWS, Slack, Stripe...


class SecretsScanner:
    """detect-secrets on every text file, in batches across the cores; a secret is never checked online."""

    name: ScannerName = "secrets"
    single_process = False

    def select(self, inventory: Inventory) -> list[SourceFile]:
        return list(inventory.files)

    def version(self) -> str | None:
        return toolchain.version("secrets")

    async def scan(self, job: ScanJob) -> ScanOutcome:
        # detect-secrets' own command line, through secrets_fast.py: same arguments, same output, half
        # the CPU. Files are named explicitly: on a directory it lists only git-tracked files.
        # --no-verify: by default it sends what it finds to the providers' APIs (Slack, Stripe...) to
        # check them; a scan must never hand a secret to the network.
        raws = await run_json_batches("secrets", lambda _, files: [
            sys.executable, str(FAST_ENTRY), "--cores", "1", "scan", "--no-verify", *file_args(files),
        ], job)
        raw = {"results": {name: hits for raw in raws for name, hits in raw.get("results", {}).items()}}
        return ScanOutcome(parse(raw, job.base))


def rule_slug(kind: str) -> str:
    """A detect-secrets plugin name as a rule id: 'Private Key' -> 'private-key'."""
    return re.sub(r"[^a-z0-9]+", "-", kind.lower()).strip("-")


def parse(raw: dict[str, Any], base: Path) -> list[Finding]:
    """Findings from detect-secrets' JSON output; only the hash of a secret is kept."""
    source = SourceLines(base)
    findings = []
    for hits in raw.get("results", {}).values():
        for hit in hits:
            kind = str(hit["type"])
            severity, confidence = _GRADES.get(kind, _DEFAULT_GRADE)
            digest = str(hit.get("hashed_secret", ""))
            findings.append(make_finding(
                scanner="secrets",
                rule_id=f"secrets:{rule_slug(kind)}",
                category="secret",
                severity=severity,
                confidence=confidence,
                title=f"{kind} committed to the repository",
                message=(
                    f"A value that looks like a {kind.lower()} is written in this file "
                    f"(value hidden; SHA-1 {digest[:12]})."
                ),
                path=relative(str(hit["filename"]), base),
                start_line=int(hit["line_number"]),
                end_line=None,
                source=source,
                remediation=Remediation(
                    summary=(
                        "Treat it as leaked: revoke and rotate it now. Remove it from the file and load it at "
                        "run time from the environment or a secret manager (os.environ, AWS Secrets Manager, "
                        "Vault); if it was committed, purge it from history with git filter-repo."
                    ),
                    references=["https://cwe.mitre.org/data/definitions/798.html"],
                ),
                cwe="CWE-798",
                owasp="A07:2021 - Identification and Authentication Failures",
                fingerprint_context=digest,  # the secret's hash, never its text
            ))
    return findings
