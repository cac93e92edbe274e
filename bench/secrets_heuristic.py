"""Benchmark: detect-secrets' indirect-reference filter against secrets_fast's linear one, line by line.

    .venv/bin/python bench/secrets_heuristic.py [--lengths 250,500,750,1000]

detect-secrets 1.5.0 runs `filters.heuristic.is_indirect_reference` on every line it scans; its regex
backtracks in time cubic in the length of some ordinary lines (long runs of spaces around an "=", as in a
padded Markdown table). For lines of each such shape, as long as each length given (1000 is detect-secrets'
own limit: longer lines are skipped), and for every line of this repository's .py/.tf/.yaml/.md files, it
prints the original's time and ours per line, their ratio, and checks the two agree.
Writes bench/results/secrets_heuristic.json.
"""

from __future__ import annotations

import argparse
import json
import time
import timeit
from collections.abc import Callable
from pathlib import Path
from typing import Any

from detect_secrets.filters.heuristic import is_indirect_reference as original

from devops_orchestra.scanners.entrypoints.secrets_fast import is_indirect_reference as ours

REPO = Path(__file__).resolve().parents[1]

# Each shape: a line built around runs of n spaces (or other characters) that the regex tries to split.
SHAPES: dict[str, Callable[[int], str]] = {
    "spaces = spaces (": lambda n: " " * n + "=" + " " * n + "(",
    "spaces = spaces x": lambda n: " " * n + "=" + " " * n + "x",
    "spaces =x( unclosed": lambda n: " " * n + "=x(" + "a" * n,
    "markdown table row": lambda n: "| name " + " " * n + "| default = lookup( " + " " * n + "|",
    "closed after a \\v": lambda n: " " * n + "=x(" + " " * n + "\v)",
    "tabs !== nbsp f(": lambda n: "\t" * n + "!==" + "\u00a0" * n + "f(",
    "word spaces = word": lambda n: "a" * n + " " * n + "= " + "b" * n,
    "spaces == x[ spaces ] (match)": lambda n: " " * n + "==" + " " * n + "x[" + " " * n + "]",
}


def sized(shape: Callable[[int], str], length: int) -> str:
    """The longest line of this shape no longer than length (a shape's length grows linearly with n)."""
    base, step = len(shape(0)), len(shape(1)) - len(shape(0))
    return shape(max(0, (length - base) // step))


def per_call(function: Callable[[str], bool], line: str, budget: float = 0.2) -> float:
    """Seconds per call: repeated when fast, once when slow."""
    started = time.perf_counter()
    function(line)
    once = time.perf_counter() - started
    if once > budget:
        return once
    number = max(1, int(budget / max(once, 1e-7)))
    return min(timeit.repeat(lambda: function(line), number=number, repeat=3)) / number


def repository_lines() -> list[str]:
    return [
        line for top in ("examples", "src") for path in sorted((REPO / top).rglob("*"))
        if path.suffix in {".py", ".tf", ".yaml", ".yml", ".md"} and path.is_file()
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines()
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lengths", default="250,500,750,1000", help="line lengths, comma-separated")
    lengths = [int(n) for n in parser.parse_args().lengths.split(",")]

    rows: list[dict[str, Any]] = []
    print(f"{'shape':32} {'chars':>5} {'original s':>11} {'ours us':>8} {'ratio':>10}  answer")
    for length in lengths:
        for name, shape in SHAPES.items():
            line = sized(shape, length)
            slow, fast = per_call(original, line), per_call(ours, line)
            answer = original(line)
            assert ours(line) == answer, (name, len(line))
            rows.append({"shape": name, "chars": len(line), "original_s": slow, "ours_s": fast,
                         "ratio": slow / fast, "answer": answer})
            print(f"{name:32} {len(line):5} {slow:11.4f} {fast * 1e6:8.1f} {slow / fast:10,.1f}  {answer}")

    lines = repository_lines()
    started = time.perf_counter()
    answers = [original(line) for line in lines]
    slow = time.perf_counter() - started
    started = time.perf_counter()
    assert [ours(line) for line in lines] == answers
    fast = time.perf_counter() - started
    print(f"\nthis repository's {len(lines)} lines ({sum(answers)} indirect references): original {slow:.3f} s, "
          f"ours {fast:.3f} s, ratio {slow / fast:.0f}")
    stalled = sum(row["original_s"] for row in rows)
    print(f"the {len(rows)} stalling lines: original {stalled:.1f} s, ours {sum(r['ours_s'] for r in rows):.4f} s")

    out = REPO / "bench" / "results" / "secrets_heuristic.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps({"stalling": rows, "repository": {"lines": len(lines), "original_s": slow,
                                                                "ours_s": fast}}, indent=2) + "\n")
    print(f"wrote {out.relative_to(REPO)}")


if __name__ == "__main__":
    main()
