"""ESLint, only where the repository configures it and has it installed (node_modules/.bin/eslint): its own
rules, its errors only (severity 2). Loading its configuration runs the repository's JavaScript."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from devops_orchestra.core.errors import ScannerFailed, ScannerUnavailable
from devops_orchestra.core.workspace import Inventory, SourceFile
from devops_orchestra.models import Finding, Remediation, ScannerName, Severity
from devops_orchestra.scanners.base import ScanJob, ScanOutcome, SourceLines, file_args, make_finding, relative

CONFIGS = ("eslint.config.js", "eslint.config.mjs", "eslint.config.cjs", "eslint.config.ts", ".eslintrc",
           ".eslintrc.js", ".eslintrc.cjs", ".eslintrc.json", ".eslintrc.yml", ".eslintrc.yaml")
LANGUAGES = ("javascript", "typescript")


def configured(base: Path) -> bool:
    if any((base / name).is_file() for name in CONFIGS):
        return True
    try:
        return "eslintConfig" in json.loads((base / "package.json").read_text(encoding="utf-8"))
    except (OSError, ValueError, TypeError):
        return False


class EslintScanner:
    name: ScannerName = "eslint"
    single_process = True

    def select(self, inventory: Inventory) -> list[SourceFile]:
        return [f for f in inventory.with_language(*LANGUAGES) if not f.is_test] if configured(inventory.base) else []

    def version(self) -> str | None:
        return "repository's"

    async def scan(self, job: ScanJob) -> ScanOutcome:
        exe = job.base / "node_modules" / ".bin" / "eslint"
        if not exe.exists():
            raise ScannerUnavailable("the repository configures ESLint but it is not installed: run `npm ci` there")
        done = await job.runner([str(exe), "--format", "json", "--", *file_args(job.files)], cwd=job.base,
                                timeout_s=job.timeout_s, nice=job.nice)
        try:
            raw = json.loads(done.stdout) if done.returncode in (0, 1) else None
        except ValueError:
            raw = None
        if raw is None:
            raise ScannerFailed(f"eslint exited {done.returncode}: {done.stderr_tail()}")
        return ScanOutcome(parse(raw, job.base))


def parse(raw: list[dict[str, Any]], base: Path) -> list[Finding]:
    source = SourceLines(base)
    findings = []
    for result in raw:
        path = relative(str(result.get("filePath", "")), base)
        for hit in result.get("messages", []):
            if hit.get("severity") != 2:
                continue
            rule = hit.get("ruleId") or "parse-error"
            findings.append(make_finding(
                scanner="eslint", rule_id=f"eslint:{rule}", category="code-error", severity=Severity.medium,
                confidence="high", title=f"ESLint {rule}", message=str(hit.get("message", "")), path=path,
                start_line=int(hit.get("line") or 1), end_line=int(hit.get("endLine") or hit.get("line") or 1),
                start_column=hit.get("column"), source=source,
                remediation=Remediation(summary="Fix what the rule says" + (
                    " (`eslint --fix` can)" if hit.get("fix") else "") + "; the repository's ESLint configuration "
                    "sets the rule.", references=[f"https://eslint.org/docs/latest/rules/{rule}"]),
            ))
    return findings
