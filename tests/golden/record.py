"""Re-record the golden files: each scanner's raw JSON on examples/vulnshop (zizmor's and checkov's on
workflows: on helpers.ACTIONS_REPO written to a temporary directory), and what we parse from it.

Run from the repository root after changing a parser, a catalogue or the example, then read the diff:
    .venv/bin/python -m tests.golden.record             # all of them
    .venv/bin/python -m tests.golden.record zizmor      # only these
"""

import json
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from devops_orchestra.core import toolchain
from devops_orchestra.core.paths import policies_dir
from devops_orchestra.scanners import zizmor
from tests.helpers import EXAMPLE, GOLDEN, GOLDEN_TREES, SCANNER_PARSERS, write

# Golden name -> (the toolchain's name for the scanner, its argv from its executable).
COMMANDS: dict[str, tuple[str, Callable[[str], list[str]]]] = {
    "semgrep": ("semgrep", lambda exe: [
        exe, "scan", "--experimental", "--json", "--metrics=off", "--disable-version-check",
        "--config", str(policies_dir() / "semgrep"), "."]),
    "bandit": ("bandit", lambda exe: [exe, "-r", ".", "-f", "json", "-q"]),
    "secrets": ("secrets", lambda exe: [exe, "scan", "--no-verify", "--all-files", "."]),
    "checkov": ("checkov", lambda exe: [
        exe, "-d", ".", "--framework", "terraform,kubernetes,dockerfile", "--skip-download", "--quiet",
        "--compact", "-o", "json"]),
    "checkov-actions": ("checkov", lambda exe: [
        exe, "-d", ".", "--framework", "github_actions", "--skip-download", "--quiet", "--compact", "-o", "json"]),
    # The adapter's own command line, on every workflow and action of the tree.
    "zizmor": ("zizmor", lambda exe: zizmor.command(exe, []) + sorted(GOLDEN_TREES["zizmor"])),
}


def record(name: str, base: Path) -> None:
    """Run one scanner in base and write its raw output and our findings from it."""
    tool, argv = COMMANDS[name]
    exe = toolchain.executable(tool)
    assert exe, f"{tool} is not installed"
    out = subprocess.run(argv(str(exe)), cwd=base, capture_output=True, text=True).stdout
    raw = json.loads(out)
    if isinstance(raw, list) and name.startswith("checkov"):  # checkov: one report per framework, in no fixed order
        raw.sort(key=lambda report: str(report.get("check_type")))
    for report in raw if name.startswith("checkov") and isinstance(raw, list) else [raw]:
        if not isinstance(report, dict):
            continue
        for key in ("time", "profiling_results", "generated_at"):  # timing noise
            report.pop(key, None)
        results = report.get("results")
        if name.startswith("checkov") and isinstance(results, dict):  # its order varies between runs
            for checks in results.values():
                checks.sort(key=lambda c: (c["check_id"], c["file_path"], c["resource"], c["file_line_range"]))
    (GOLDEN / f"{name}.raw.json").write_text(json.dumps(raw, indent=1, sort_keys=True) + "\n")
    findings = [f.model_dump(mode="json", exclude_none=True) for f in SCANNER_PARSERS[name](raw, base)]
    (GOLDEN / f"{name}.expected.json").write_text(json.dumps(findings, indent=1) + "\n")
    print(f"{name}: {len(findings)} findings")


def main() -> None:
    for name in sys.argv[1:] or list(COMMANDS):
        if name in GOLDEN_TREES:
            with tempfile.TemporaryDirectory() as tmp:
                record(name, write(Path(tmp), GOLDEN_TREES[name]))
        else:
            record(name, EXAMPLE)


if __name__ == "__main__":
    main()
