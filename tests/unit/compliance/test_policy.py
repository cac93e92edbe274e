"""Compliance policies as code: the bundled frameworks, organisation files, and clear errors for bad ones."""

from pathlib import Path

import pytest

from devops_orchestra.compliance.policy import load_policies
from devops_orchestra.core.errors import PolicyError
from tests.helpers import write

OWN_FRAMEWORK = """\
framework: acme
name: ACME secure delivery
controls:
  - id: ACME-1
    title: Changes are scanned
    requirement: Every change is scanned.
    evidence: A CI job that runs a scanner.
    checks: [ci_security_scan]
    remediation: Add a scanning job.
gates:
  - name: acme-clean
    block_on_failed: [acme]
"""


def test_bundled_frameworks_have_the_official_controls(tmp_path: Path) -> None:
    policies = load_policies(tmp_path)
    ids = {name: {c.id for c in fw.controls} for name, fw in policies.frameworks.items()}
    assert {"CC6.1", "CC6.6", "CC6.7", "CC7.1", "CC7.2", "CC8.1"} <= ids["soc2"]
    assert {"164.312(a)(1)", "164.312(a)(2)(iv)", "164.312(b)", "164.312(c)(1)", "164.312(d)",
            "164.312(e)(1)"} <= ids["hipaa"]
    assert {"3.5.1", "4.2.1", "6.2.4", "6.3.3", "8.3.1", "10.2.1"} <= ids["pci-dss"]
    assert all(len(controls) >= 12 for controls in ids.values())
    assert [g.name for g in policies.gates] == ["no-critical-findings"]
    assert policies.sources == []


def test_organisation_files_add_frameworks_and_replace_default_gates(tmp_path: Path) -> None:
    write(tmp_path, {".devops-orchestra/policies/acme.yaml": OWN_FRAMEWORK})
    policies = load_policies(tmp_path)
    assert "acme" in policies.frameworks and "soc2" in policies.frameworks
    assert [g.name for g in policies.gates] == ["acme-clean"]
    assert policies.sources == [".devops-orchestra/policies/acme.yaml"]


def test_config_file_names_policy_files_and_gates(tmp_path: Path) -> None:
    write(tmp_path, {
        "compliance/acme.yaml": OWN_FRAMEWORK,
        "devops_orchestra.yaml": "project: {name: shop}\ncompliance:\n  policies: [compliance/acme.yaml]\n"
                                 "  gates:\n    - {name: pci, block_on_failed: [pci-dss]}\n",
    })
    policies = load_policies(tmp_path)
    assert "acme" in policies.frameworks
    assert [g.name for g in policies.gates] == ["acme-clean", "pci"]


@pytest.mark.parametrize(("files", "expected"), [
    ({".devops-orchestra/policies/bad.yaml": OWN_FRAMEWORK.replace("    remediation: Add a scanning job.\n", "")},
     "bad.yaml: controls.0.remediation: Field required"),
    ({".devops-orchestra/policies/bad.yaml": OWN_FRAMEWORK.replace("checks:", "chekcs:")},
     "bad.yaml: controls.0.chekcs: Extra inputs are not permitted"),
    ({".devops-orchestra/policies/bad.yaml": OWN_FRAMEWORK.replace("[ci_security_scan]", "[telepathy]")},
     "bad.yaml: controls.0.checks.0: Input should be"),
    ({".devops-orchestra/policies/bad.yaml": "framework: x\nname: X\ncontrols: [\n"},
     "bad.yaml: line 4 is not valid YAML"),
    ({".devops-orchestra/policies/bad.yaml": "gates:\n  - name: nothing\n"},
     "bad.yaml: gates.0: Value error, gate nothing sets none of"),
    ({".devops-orchestra/policies/bad.yaml": b"framework: \xff\n"}, "bad.yaml: not UTF-8"),
    ({"devops_orchestra.yaml": "compliance:\n  policies: [../../etc/passwd]\n"}, "not a file inside"),
    ({"devops_orchestra.yaml": "compliance:\n  gate: []\n"}, "devops_orchestra.yaml: compliance.gate: Extra inputs"),
])
def test_malformed_policy_is_a_clear_error(tmp_path: Path, files: dict[str, str | bytes], expected: str) -> None:
    write(tmp_path, files)
    with pytest.raises(PolicyError) as error:
        load_policies(tmp_path)
    assert expected in str(error.value)
