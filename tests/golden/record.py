"""Re-record the golden files: each scanner's raw JSON on examples/vulnshop, and what we parse from it.

Run from the repository root after changing a parser, a catalogue or the example, then read the diff:
    .venv/bin/python -m tests.golden.record
"""

import json
import subprocess
from collections.abc import Callable

from devops_orchestra.core import toolchain
from devops_orchestra.core.paths import policies_dir
from tests.helpers import EXAMPLE, GOLDEN, SCANNER_PARSERS

COMMANDS: dict[str, Callable[[str], list[str]]] = {
    "semgrep": lambda exe: [exe, "scan", "--experimental", "--json", "--metrics=off", "--disable-version-check",
                            "--config", str(policies_dir() / "semgrep"), "."],
    "bandit": lambda exe: [exe, "-r", ".", "-f", "json", "-q"],
    "secrets": lambda exe: [exe, "scan", "--no-verify", "--all-files", "."],
    "checkov": lambda exe: [exe, "-d", ".", "--framework", "terraform,kubernetes,dockerfile", "--skip-download",
                            "--quiet", "--compact", "-o", "json"],
}


def main() -> None:
    for name, argv in COMMANDS.items():
        exe = toolchain.executable(name)
        assert exe, f"{name} is not installed"
        out = subprocess.run(argv(str(exe)), cwd=EXAMPLE, capture_output=True, text=True).stdout
        raw = json.loads(out)
        if isinstance(raw, list):  # checkov: one report per framework, in no fixed order
            raw.sort(key=lambda report: str(report.get("check_type")))
        for report in raw if isinstance(raw, list) else [raw]:
            for key in ("time", "profiling_results", "generated_at"):  # timing noise
                report.pop(key, None)
            results = report.get("results")
            if name == "checkov" and isinstance(results, dict):  # its order varies between runs
                for checks in results.values():
                    checks.sort(key=lambda c: (c["check_id"], c["file_path"], c["resource"], c["file_line_range"]))
        (GOLDEN / f"{name}.raw.json").write_text(json.dumps(raw, indent=1, sort_keys=True) + "\n")
        findings = [f.model_dump(mode="json", exclude_none=True) for f in SCANNER_PARSERS[name](raw, EXAMPLE)]
        (GOLDEN / f"{name}.expected.json").write_text(json.dumps(findings, indent=1) + "\n")
        print(f"{name}: {len(findings)} findings")


if __name__ == "__main__":
    main()
