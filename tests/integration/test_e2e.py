"""End to end: the server started as an IDE starts it, spoken to over stdio by real clients."""

import json
import os
import shutil
import subprocess
import sys

import pytest
from mcp import Client, StdioServerParameters

from devops_orchestra.models import SecurityReport
from tests.helpers import EXAMPLE, assert_valid_sarif

pytestmark = pytest.mark.scanners
INSPECTOR = "@modelcontextprotocol/inspector@2.12.0"


def _server_command() -> list[str]:
    return [sys.executable, "-m", "devops_orchestra", "serve", "--root", str(EXAMPLE)]


async def test_stdio_server_scans_with_the_real_client() -> None:
    argv = _server_command()
    env = {k: os.environ[k] for k in ("PATH", "DEVOPS_ORCHESTRA_STORE", "DEVOPS_ORCHESTRA_CACHE")}
    params = StdioServerParameters(command=argv[0], args=argv[1:], env=env)
    async with Client(params) as client:
        names = [t.name for t in (await client.list_tools()).tools]
        assert "security_scan" in names
        result = await client.call_tool("security_scan", {"path": "api", "scanners": ["bandit", "secrets"]})
    assert not result.is_error
    report = SecurityReport.model_validate(result.structured_content)
    assert report.summary.high > 0
    assert all(f.location.path.startswith(("app.py", "db.py", "tests/")) for f in report.findings)


def test_cli_scan_json_and_fail_on() -> None:
    """`devops-orchestra scan` prints JSON for CI and exits 1 when --fail-on is met."""
    argv = [sys.executable, "-m", "devops_orchestra", "scan", str(EXAMPLE / "api"), "--scanners", "bandit",
            "--format", "json", "--fail-on", "high"]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=120)
    assert done.returncode == 1, done.stderr
    assert json.loads(done.stdout)["summary"]["high"] > 0
    clean = subprocess.run([*argv[:-2], "--fail-on", "critical", "--min-severity", "critical"],
                           capture_output=True, text=True, timeout=120)
    assert clean.returncode == 0, clean.stderr


def test_cli_bad_path_exits_2_with_a_message() -> None:
    done = subprocess.run([sys.executable, "-m", "devops_orchestra", "scan", "/no/such/place"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "does not exist" in done.stderr and not done.stdout


def test_serve_refuses_a_missing_root() -> None:
    done = subprocess.run([sys.executable, "-m", "devops_orchestra", "serve", "--root", "/no/such/root"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "not a directory" in done.stderr


@pytest.mark.skipif(shutil.which("npx") is None, reason="node is not installed")
def test_mcp_inspector_cli_lists_and_calls_the_tool() -> None:
    """The MCP Inspector, a client we did not write, sees the tool and gets structured output."""
    base = ["npx", "-y", INSPECTOR, "--cli", *_server_command()]
    listed = subprocess.run([*base, "--method", "tools/list"], capture_output=True, text=True, timeout=300)
    assert listed.returncode == 0, listed.stderr[-2000:]
    tools = json.loads(listed.stdout)["tools"]
    assert {"security_scan", "scan_history", "compare_runs", "verify_fix", "compliance_check", "dora_metrics",
            "sql_analysis", "generate_pipeline", "init_config", "architecture_analysis"} <= {
        t["name"] for t in tools}
    called = subprocess.run(
        [*base, "--method", "tools/call", "--tool-name", "security_scan",
         "--tool-args-json", json.dumps({"path": "api", "scanners": ["bandit"]})],
        capture_output=True, text=True, timeout=300,
    )
    assert called.returncode == 0, called.stderr[-2000:]
    body = json.loads(called.stdout)
    assert body["structuredContent"]["summary"]["total"] > 0


def test_tools_status_lists_every_scanner_with_its_version() -> None:
    done = subprocess.run([sys.executable, "-m", "devops_orchestra", "tools", "status"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    for line in ("semgrep   1.182.0", "checkov   3.3.30", "bandit    1.9.4", "secrets   1.5.0"):
        assert line in done.stdout


def test_cli_rejects_an_unknown_scanner() -> None:
    done = subprocess.run([sys.executable, "-m", "devops_orchestra", "scan", str(EXAMPLE), "--scanners", "nmap"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "unknown scanner" in done.stderr


def test_cli_sarif_output_is_valid() -> None:
    done = subprocess.run([sys.executable, "-m", "devops_orchestra", "scan", str(EXAMPLE / "api"), "--scanners",
                           "bandit", "--format", "sarif"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    sarif = json.loads(done.stdout)
    assert_valid_sarif(sarif)
    assert sarif["runs"][0]["results"]


def test_cli_output_piped_into_a_reader_that_stops_early() -> None:
    """`scan ... | head`: more output than a pipe holds, and a reader that leaves after one line."""
    command = f"{sys.executable} -m devops_orchestra scan {EXAMPLE} --format sarif | head -1"
    done = subprocess.run(command, shell=True, capture_output=True, text=True, timeout=120)
    assert done.stdout == "{\n" and "Traceback" not in done.stderr and "Error" not in done.stderr
