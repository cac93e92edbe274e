"""verify_fix: per finding, resolved / still present / unknown, re-running only what it needs."""

from pathlib import Path

import pytest
from mcp import Client

from devops_orchestra.server.app import create_server
from tests.helpers import text_of, write

pytestmark = pytest.mark.scanners
PICKLE = "import pickle\n\n\ndef load(blob):\n    return pickle.loads(blob)\n"
SHELL = "import subprocess\n\n\ndef run(cmd):\n    subprocess.call(cmd, shell=True)\n"


async def test_resolved_still_present_and_unknown(tmp_path: Path) -> None:
    write(tmp_path, {"a.py": PICKLE, "b.py": SHELL, "c.py": PICKLE, "big.py": PICKLE * 2})
    async with Client(create_server([tmp_path])) as client:
        scan = (await client.call_tool("security_scan", {"scanners": ["bandit", "semgrep"]})).structured_content
        by_place = {(f["location"]["path"], f["rule_id"]): f["id"] for f in scan["findings"]}
        fixed = by_place[("a.py", "semgrep:python-pickle-deserialization")]
        moved = by_place[("b.py", "semgrep:python-subprocess-shell-true")]
        removed = by_place[("c.py", "semgrep:python-pickle-deserialization")]
        write(tmp_path, {"a.py": PICKLE.replace("pickle", "json"),
                         "b.py": "# a new first line\n" + SHELL.replace("run(cmd)", "run(command)")
                         .replace("call(cmd", "call(command")})
        (tmp_path / "c.py").unlink()
        result = await client.call_tool("verify_fix", {"finding_ids": [fixed, moved, removed, "0000000000000000"]})
    assert not result.is_error, result.content
    checks = {c["finding_id"]: c for c in result.structured_content["checks"]}
    assert checks[fixed]["verdict"] == "resolved"
    assert checks[moved]["verdict"] == "still_present" and checks[moved]["location"]["start_line"] == 6
    assert checks[removed]["verdict"] == "resolved" and "no longer exists" in checks[removed]["reason"]
    assert checks["0000000000000000"]["verdict"] == "unknown"
    # Only the scanners those findings came from ran, and only on their files: big.py was not rescanned.
    ran = {r["name"]: r for r in result.structured_content["scanners"]}
    assert set(ran) == {"semgrep", "bandit"} and ran["semgrep"]["files"] == 2
    assert "1 unknown" in text_of(result.content[0])


async def test_a_scanner_that_cannot_run_makes_the_verdict_unknown(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    from devops_orchestra.core import toolchain

    write(tmp_path, {"a.py": PICKLE})
    async with Client(create_server([tmp_path])) as client:
        scan = (await client.call_tool("security_scan", {"scanners": ["bandit"]})).structured_content
        real = toolchain.executable
        monkeypatch.setattr(toolchain, "executable", lambda name: None if name == "bandit" else real(name))
        ids = [f["id"] for f in scan["findings"]]
        result = await client.call_tool("verify_fix", {"finding_ids": ids})
    assert {c["verdict"] for c in result.structured_content["checks"]} == {"unknown"}
    assert "bandit unavailable" in result.structured_content["checks"][0]["reason"]
