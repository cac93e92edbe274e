"""Re-record the golden files: each scanner's raw JSON on examples/vulnshop, and what we parse from it.

Run from the repository root after changing a parser, a catalogue or the example, then read the diff:
    .venv/bin/python -m tests.golden.record
"""

import json
import subprocess

from devops_orchestra import toolchain
from devops_orchestra.catalog import policies_dir
from tests.golden.test_golden import EXAMPLE, GOLDEN, PARSERS

COMMANDS = {
    "semgrep": lambda exe: [exe, "scan", "--experimental", "--json", "--metrics=off", "--disable-version-check",
                            "--config", str(policies_dir() / "semgrep"), "."],
    "bandit": lambda exe: [exe, "-r", ".", "-f", "json", "-q"],
    "secrets": lambda exe: [exe, "scan", "--all-files", "."],
    "checkov": lambda exe: [exe, "-d", ".", "--framework", "terraform,kubernetes,dockerfile", "--skip-download",
                            "--quiet", "--compact", "-o", "json"],
}


def main() -> None:
    for name, argv in COMMANDS.items():
        exe = toolchain.executable(name)
        assert exe, f"{name} is not installed"
        out = subprocess.run(argv(str(exe)), cwd=EXAMPLE, capture_output=True, text=True).stdout
        raw = json.loads(out)
        for key in ("time", "profiling_results", "generated_at"):  # timing noise
            if isinstance(raw, dict):
                raw.pop(key, None)
        (GOLDEN / f"{name}.raw.json").write_text(json.dumps(raw, indent=1, sort_keys=True) + "\n")
        findings = [f.model_dump(mode="json", exclude_none=True) for f in PARSERS[name](raw, EXAMPLE)]
        (GOLDEN / f"{name}.expected.json").write_text(json.dumps(findings, indent=1) + "\n")
        print(f"{name}: {len(findings)} findings")


if __name__ == "__main__":
    main()
