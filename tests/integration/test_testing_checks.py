"""The code checks on real deptry, ruff and (absent) ESLint: a module imported but declared nowhere, an undefined
name, each with file, line and fix; and the test stage's gate that stops a run on them."""

from __future__ import annotations

import json
from pathlib import Path

from devops_orchestra.agents.testing.checks import code_checks
from devops_orchestra.core.workspace import build_inventory
from devops_orchestra.orchestra.bus import open_bus
from devops_orchestra.orchestra.submit import find_commit, run_here, submit
from tests.helpers import PY_TESTED, commit_files, write

BROKEN = {
    "requirements.txt": "requests==2.32.3\n",
    "shop/fetch.py": "import requests\nimport leftpad_nowhere\n\n\ndef get(url):\n    return requests.get(url)\n",
    "shop/totals.py": "def grand_total(items):\n    return sum(items) + shipping_fee\n",
}


async def test_a_missing_module_and_an_undefined_name_are_found_with_file_line_and_fix(tmp_path: Path) -> None:
    write(tmp_path, {**PY_TESTED, **BROKEN, "eslint.config.js": "export default [];\n",
                     "package.json": json.dumps({"name": "x"}), "web/app.js": "const a = 1;\n"})
    findings, runs = await code_checks(tmp_path, build_inventory(tmp_path))
    by_rule = {f.rule_id: f for f in findings}
    missing = by_rule["deptry:DEP001"]
    assert (missing.location.path, missing.location.start_line, missing.severity.value) == ("shop/fetch.py", 2, "high")
    assert "'leftpad_nowhere' imported but missing" in missing.message
    assert "requirements.txt" in missing.remediation.summary
    undefined = by_rule["ruff:F821"]
    assert (undefined.location.path, undefined.location.start_line) == ("shop/totals.py", 2)
    assert "shipping_fee" in undefined.message and undefined.remediation.summary.startswith("Define the name")
    status = {r.name: (r.status, r.error) for r in runs}
    assert status["deptry"][0] == status["ruff"][0] == "ok"
    assert status["eslint"] == ("unavailable", "the repository configures ESLint but it is not installed: run "
                                               "`npm ci` there")


async def test_the_test_stage_stops_the_run_on_what_breaks_at_run_time(tmp_path: Path) -> None:
    commit_files(tmp_path / "shop", {**PY_TESTED, **BROKEN})
    bus = open_bus(f"memory://{tmp_path}/state.sqlite", max_deliveries=1)
    try:
        run = await run_here(bus, (await submit(bus, await find_commit(str(tmp_path / "shop"), None)))[0].run_id)
    finally:
        await bus.close()
    assert run.state == "stopped by gate" and run.gate is not None and run.gate.gate == "code_checks", run
    assert "shop/fetch.py:2 deptry:DEP001" in run.gate.reason and "shop/totals.py:2 ruff:F821" in run.gate.reason
    assert run.stage("test").summary.startswith("tests passed: 3 passed")
