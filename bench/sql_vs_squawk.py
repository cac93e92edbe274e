"""Benchmark: the SQL agent against squawk (the reference PostgreSQL migration linter) on one migration set.

    .venv/bin/python bench/sql_vs_squawk.py

bench/sql_migrations holds migrations whose first line says what they hide (`expect: rule, ...` or
`expect: safe`): PostgreSQL .sql files both tools read, plus MySQL, Alembic and Django migrations that
squawk cannot read. It prints, for each tool, the hazards found, those missed, false positives on safe
migrations and the time; then lints 1,000 generated migration files (goal: under 5 s).
Writes bench/results/sql_vs_squawk.json.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path

from devops_orchestra.agents.sql import sql_analysis
from devops_orchestra.models import SqlReport

HERE = Path(__file__).resolve().parent
CORPUS = HERE / "sql_migrations"
SQUAWK = Path(sys.executable).with_name("squawk")
# squawk's rule -> the rules of ours that name the same hazard (style-only rules map to nothing).
SQUAWK_TO_OURS = {
    "adding-required-field": {"adding-not-null-column"},
    "adding-not-nullable-field": {"setting-not-null"},
    "require-concurrent-index-creation": {"index-not-concurrent"},
    "require-concurrent-index-deletion": {"drop-index-not-concurrent"},
    "changing-column-type": {"changing-column-type"},
    "ban-drop-column": {"dropping-column"},
    "ban-drop-table": {"dropping-table"},
    "renaming-column": {"renaming-column"},
    "renaming-table": {"renaming-table"},
    "adding-foreign-key-constraint": {"foreign-key-not-valid"},
    "constraint-missing-not-valid": {"foreign-key-not-valid", "check-not-valid"},
    "disallowed-unique-constraint": {"unique-constraint-without-index"},
    "adding-field-with-default": {"volatile-default"},
    "require-lock-timeout": {"missing-lock-timeout"},
    "ban-concurrent-index-creation-in-transaction": {"concurrently-in-transaction"},
    "prefer-bigint-over-int": {"integer-primary-key"},
    "prefer-identity": {"integer-primary-key"},
    "prefer-timestamp-tz": {"timestamp-without-time-zone"},
    "ban-char-field": {"char-column"},
    "adding-serial-primary-key-field": {"adding-primary-key", "adding-serial-column"},
    "ban-truncate-cascade": {"truncate-table"},
    "ban-drop-database": {"dropping-database"},
    "require-concurrent-reindex": {"blocking-maintenance"},
}


def expected(path: Path) -> set[str]:
    m = re.search(r"expect: (.*)", path.read_text(encoding="utf-8"))
    assert m, f"{path} has no `expect:` line"
    return {r.strip() for r in m[1].split(",")} - {"safe"}


def ours(directory: Path, dialect: str | None = None) -> tuple[dict[str, set[str]], float, SqlReport]:
    started = time.perf_counter()
    report = asyncio.run(sql_analysis(directory, dialect=dialect))
    elapsed = time.perf_counter() - started
    found: dict[str, set[str]] = {}
    for f in report.findings:
        found.setdefault((directory / f.location.path).as_posix(), set()).add(f.rule_id.removeprefix("sql:"))
    return found, elapsed, report


def squawk(files: list[Path]) -> tuple[dict[str, list[str]], float]:
    """squawk's rule names per file (exit 1 means it warned)."""
    started = time.perf_counter()
    out = subprocess.run([str(SQUAWK), "--reporter", "json", *map(str, files)], capture_output=True, text=True,
                         check=False)
    elapsed = time.perf_counter() - started
    if out.returncode not in (0, 1):
        raise SystemExit(f"squawk exited {out.returncode}: {out.stderr[-500:]}")
    found: dict[str, list[str]] = {}
    for hit in json.loads(out.stdout or "[]"):
        found.setdefault(Path(hit["file"]).resolve().as_posix(), []).append(hit["rule_name"])
    return found, elapsed


@dataclass
class Score:
    hazards: int
    found: int
    missed: list[str]
    safe_files: int
    false_positive_files: dict[str, list[str]]


def score(files: list[Path], found: dict[str, set[str]]) -> Score:
    hazards = [(f, rule) for f in files for rule in sorted(expected(f))]
    hit = [(f, r) for f, r in hazards if r in found.get(f.as_posix(), set())]
    safe = [f for f in files if not expected(f)]
    return Score(hazards=len(hazards), found=len(hit),
                 missed=[f"{f.name}: {r}" for f, r in hazards if (f, r) not in hit], safe_files=len(safe),
                 false_positive_files={f.name: sorted(found[f.as_posix()]) for f in safe if found.get(f.as_posix())})


def main() -> int:
    if not SQUAWK.exists():
        raise SystemExit("squawk is not installed: `make setup` installs squawk-cli (a dev dependency)")
    version = subprocess.run([str(SQUAWK), "--version"], capture_output=True, text=True, check=False).stdout.strip()
    pg_files = sorted((CORPUS / "postgres").glob("*.sql"))
    results: dict[str, object] = {"load": os.getloadavg(), "squawk": version}

    our_found, our_s, _ = ours(CORPUS / "postgres")
    raw, squawk_s = squawk(pg_files)
    squawk_mapped = {f: set().union(*(SQUAWK_TO_OURS.get(r, set()) for r in rules)) for f, rules in raw.items()}
    squawk_raw_sets = {f: set(rules) for f, rules in raw.items()}
    ours_score, squawk_score = score(pg_files, our_found), score(pg_files, squawk_mapped)
    squawk_safe = score(pg_files, squawk_raw_sets).false_positive_files  # every squawk warning on safe files
    only_squawk = [f"{f.name}: {r}" for f in pg_files for r in expected(f)
                   if r in squawk_mapped.get(f.as_posix(), set()) and r not in our_found.get(f.as_posix(), set())]
    unmapped = Counter(r for rules in raw.values() for r in rules if r not in SQUAWK_TO_OURS)
    print(f"PostgreSQL migrations: {len(pg_files)} files ({ours_score.safe_files} safe), "
          f"{ours_score.hazards} known hazards; {version}")
    print(f"{'':28}{'hazards found':>15}{'false-pos files':>17}{'time s':>9}")
    print(f"{'devops-orchestra sql':28}{ours_score.found:>8}/{ours_score.hazards:<6}"
          f"{len(ours_score.false_positive_files):>10}/{ours_score.safe_files:<6}{our_s:>9.2f}")
    print(f"{'squawk':28}{squawk_score.found:>8}/{squawk_score.hazards:<6}"
          f"{len(squawk_safe):>10}/{ours_score.safe_files:<6}{squawk_s:>9.2f}")
    print(f"  missed by us: {ours_score.missed or 'none'}")
    print(f"  found by squawk, not by us: {only_squawk or 'none'}")
    print(f"  missed by squawk: {squawk_score.missed or 'none'}")
    print(f"  our warnings on safe files: {ours_score.false_positive_files or 'none'}")
    print(f"  squawk warnings on safe files: {squawk_safe or 'none'}")
    style = {"prefer-robust-stmts", "require-statement-timeout"}  # advice, not a hazard of the migration
    substantive = {f: rules for f, rules in squawk_safe.items() if set(rules) - style}
    print(f"  of those, not style advice (prefer-robust-stmts, statement timeout): {len(substantive)} files "
          f"{substantive}")
    print(f"  squawk warnings with no counterpart in our rules: {dict(unmapped)}")
    results["postgres"] = {"ours": {**asdict(ours_score), "seconds": our_s},
                           "squawk": {**asdict(squawk_score), "seconds": squawk_s, "safe_warnings": squawk_safe,
                                      "unmapped": dict(unmapped)},
                           "found_by_squawk_only": only_squawk}

    print("\nBeyond squawk (it reads PostgreSQL .sql only):")
    beyond: dict[str, object] = {}
    for name, directory, dialect, pattern in [("MySQL .sql", CORPUS / "mysql", "mysql", "*.sql"),
                                               ("Alembic", CORPUS / "alembic", None, "**/*.py"),
                                               ("Django", CORPUS / "django", None, "**/*.py")]:
        files = sorted(directory.glob(pattern))
        found, _, _ = ours(directory, dialect)
        s = score(files, found)
        beyond[name] = asdict(s)
        print(f"  {name:12} {len(files)} files: {s.found}/{s.hazards} hazards found, false-positive files "
              f"{len(s.false_positive_files)}/{s.safe_files}, missed {s.missed or 'none'}")
    mysql_raw, _ = squawk(sorted((CORPUS / "mysql").glob("*.sql")))
    print(f"  squawk on the MySQL files: {dict(Counter(r for rules in mysql_raw.values() for r in rules))}")
    results["beyond_squawk"] = beyond
    results["thousand_files"] = thousand(pg_files)
    out = HERE / "results" / "sql_vs_squawk.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(results, indent=1, default=str))
    print(f"\nload average {os.getloadavg()}; wrote {out.relative_to(HERE.parent)}")
    return 0


def thousand(templates: list[Path]) -> dict[str, float]:
    """1,000 migration files (the PostgreSQL set, renamed and repeated) linted in one call."""
    tmp = Path(tempfile.mkdtemp(prefix="sql-bench-"))
    try:
        for i in range(1000):
            shutil.copyfile(templates[i % len(templates)], tmp / f"V{i + 1:04d}__migration.sql")
        _, ours_s, report = ours(tmp)
        _, squawk_s = squawk(sorted(tmp.glob("*.sql")))
        verdict = "under" if ours_s < 5 else "OVER"
        print(f"\n1,000 migration files: devops-orchestra sql {ours_s:.2f} s ({verdict} the 5 s goal, "
              f"{report.findings_total} findings), squawk {squawk_s:.2f} s")
        return {"ours_s": ours_s, "squawk_s": squawk_s, "findings": report.findings_total}
    finally:
        shutil.rmtree(tmp)


if __name__ == "__main__":
    sys.exit(main())
