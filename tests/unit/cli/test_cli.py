"""The command line package: what building the parser costs, and the lists its choices come from."""

import subprocess
import sys

import pytest

from devops_orchestra.cli import output
from devops_orchestra.core.store import Comparison
from devops_orchestra.models.security import SECURITY_SCANNERS
from devops_orchestra.scanners import ALL


def test_building_the_parser_leaves_mcp_agents_and_scanners_unimported() -> None:
    probe = ("import sys; from devops_orchestra.cli import _parser; _parser(); "
             "print(sorted(m for m in sys.modules if m.split('.')[0] == 'mcp' "
             "or m.startswith(('devops_orchestra.agents', 'devops_orchestra.scanners', 'devops_orchestra.server'))))")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    # serve's --help names the toolsets: server/toolsets.py imports nothing of mcp or the agents
    assert done.stdout.strip() == "['devops_orchestra.server', 'devops_orchestra.server.toolsets']"


def test_the_scan_command_offers_exactly_the_security_scanners() -> None:
    assert SECURITY_SCANNERS == tuple(ALL)


def test_only_agent_reports_have_a_sarif_form() -> None:
    comparison = Comparison(base_run_id="a", head_run_id="b", new=[], fixed=[], new_total=0, fixed_total=0,
                            unchanged=0)
    with pytest.raises(TypeError, match="Comparison has no SARIF form"):
        output.print_report(comparison, "sarif", lambda c: "")
