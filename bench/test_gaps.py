"""Benchmark: test_gaps on a real Python project with its own tests, against running its suite under coverage by
hand, same machine, one run each.

    .venv/bin/python bench/test_gaps.py PROJECT_DIR

PROJECT_DIR is a checkout with its test environment in PROJECT_DIR/.venv (the project installed in it, as a
developer has it). The report (bench/results/test_gaps.json, and the docs) used pallets/click at 2c8cd3ac:

    git clone https://github.com/pallets/click /tmp/bench/click && cd /tmp/bench/click
    python3 -m venv .venv && .venv/bin/pip install pytest==9.2.0 coverage==7.18.0 -e .

By hand: `.venv/bin/python -m coverage run -m pytest -p no:cacheprovider` then `coverage json` (what a person
runs to see what is not covered). Ours: `test_gaps` through its agent, security look included (bandit on the
files with gaps, its scan cache cold), as the tool runs it. Target (issue 19): at most 1.2x.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from summary import write_summary  # bench/, the script's own directory

from devops_orchestra.agents.testing.gaps import test_gaps

TARGET = 1.2


def by_hand(project: Path) -> float:
    python = str(project / ".venv" / "bin" / "python")
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "COVERAGE_FILE": f"{tmp}/.coverage"}
        started = time.perf_counter()
        subprocess.run([python, "-m", "coverage", "run", "-m", "pytest", "-q", "-p", "no:cacheprovider"],
                       cwd=project, env=env, check=False, capture_output=True)
        subprocess.run([python, "-m", "coverage", "json", "-o", f"{tmp}/coverage.json"], cwd=project, env=env,
                       check=True, capture_output=True)
        return time.perf_counter() - started


def ours(project: Path) -> tuple[float, int, float | None, str]:
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["DEVOPS_ORCHESTRA_CACHE"] = f"{tmp}/cache.sqlite3"  # cold: nothing scanned before
        started = time.perf_counter()
        report = asyncio.run(test_gaps(project))
        elapsed = time.perf_counter() - started
    return elapsed, report.gaps_total, report.tests.coverage, report.tests.outcome


def main() -> None:
    project = Path(sys.argv[1]).resolve()
    hand = by_hand(project)
    mine, gaps, coverage, outcome = ours(project)
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=project, capture_output=True, text=True)
    write_summary("test_gaps", {
        "project": f"{project.name} {commit.stdout.strip()}",
        "by_hand_s (coverage run -m pytest + coverage json)": round(hand, 2),
        "test_gaps_s": round(mine, 2),
        "ratio": round(mine / hand, 3),
        "target": TARGET,
        "outcome": outcome,
        "coverage_percent": coverage,
        "gaps": gaps,
        "load_average_1m": round(os.getloadavg()[0], 2),
    })


if __name__ == "__main__":
    main()
