"""The bandit, checkov and zizmor catalogues: every entry well-formed, every bandit test covered, checkov ids
and zizmor audits real."""

import subprocess
import sys
from pathlib import Path

import pytest

from devops_orchestra.core import toolchain
from devops_orchestra.models import Severity
from devops_orchestra.scanners import catalog

pytestmark = pytest.mark.scanners
VERIFY_CATALOG = Path(__file__).resolve().with_name("verify_catalog.py")


def test_catalogue_verifies_against_the_installed_scanners(tmp_path: Path) -> None:
    checkov = toolchain.executable("checkov")
    assert checkov, "checkov is not installed: run `devops-orchestra tools install`"
    listing = tmp_path / "checkov_list.txt"
    with listing.open("w") as out:
        subprocess.run([str(checkov), "--list", "--skip-download"], stdout=out, check=True, timeout=300)
    done = subprocess.run([sys.executable, str(VERIFY_CATALOG), str(listing), "--bandit",
                           str(toolchain.executable("bandit")), "--zizmor", str(toolchain.executable("zizmor"))],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def test_lookups() -> None:
    entry = catalog.entry("bandit", "B608")
    assert entry and entry.category == "sql-injection" and entry.cwe == "CWE-89"
    assert catalog.entry("checkov", "CKV_NOPE_1") is None
    assert catalog.default_severity("checkov", "CKV_K8S_9999") is Severity.medium
    assert catalog.default_severity("checkov", "CKV_UNKNOWNPREFIX_1") is Severity.medium
    # zizmor and checkov on one workflow problem share a category, so that the two merge into one finding.
    for audit, check in (("template-injection", "CKV_GHA_2"), ("excessive-permissions", "CKV2_GHA_1"),
                         ("insecure-commands", "CKV_GHA_1")):
        zizmor, checkov = catalog.entry("zizmor", audit), catalog.entry("checkov", check)
        assert zizmor and checkov and zizmor.category == checkov.category and zizmor.cwe == checkov.cwe
