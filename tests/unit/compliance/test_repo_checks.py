"""Our repository checks for compliance: what they accept, what they reject, and where they point."""

from pathlib import Path

from devops_orchestra.compliance.repo_checks import (
    Repo,
    audit_trail,
    ci_security_scan,
    code_owners,
    dependency_updates,
    lock_files,
    no_terraform_state,
)
from tests.helpers import write


def _repo(root: Path, files: dict[str, str]) -> Repo:
    write(root, files)
    return Repo(base=root, files=sorted(files))


def test_lock_files_point_at_the_unpinned_requirement(tmp_path: Path) -> None:
    result = lock_files(_repo(tmp_path, {
        "requirements.txt": "# runtime\nflask==3.1.0\nrequests>=2.31  # loose\n",
        "web/package.json": "{}", "package-lock.json": "{}",
    }))
    assert result.status == "fail"
    [evidence] = result.evidence
    assert (evidence.path, evidence.line) == ("requirements.txt", 3) and "requests>=2.31" in (evidence.note or "")


def test_lock_files_pass_with_a_lock_in_a_parent_directory(tmp_path: Path) -> None:
    result = lock_files(_repo(tmp_path, {"web/package.json": "{}", "yarn.lock": "",
                                         "requirements.txt": "flask==3.1.0 \\\n    --hash=sha256:abc\n"}))
    assert result.status == "pass"
    assert {e.path for e in result.evidence} == {"yarn.lock", "requirements.txt"}
    assert lock_files(_repo(tmp_path / "empty", {"README.md": "hi"})).status == "not_applicable"


def test_ci_security_scan_names_the_line_that_runs_a_scanner(tmp_path: Path) -> None:
    workflow = "on: [push]\njobs:\n  scan:\n    steps:\n      - run: pip install semgrep && semgrep ci\n"
    result = ci_security_scan(_repo(tmp_path, {".github/workflows/ci.yml": workflow}))
    assert result.status == "pass"
    assert (result.evidence[0].path, result.evidence[0].line) == (".github/workflows/ci.yml", 5)

    tests_only = ci_security_scan(_repo(tmp_path / "b", {".gitlab-ci.yml": "test:\n  script: pytest\n"}))
    assert tests_only.status == "fail" and "no security scanner" in tests_only.detail
    assert ci_security_scan(_repo(tmp_path / "c", {"app.py": ""})).detail.startswith("no CI configuration")


def test_code_owners_and_dependency_updates(tmp_path: Path) -> None:
    assert code_owners(_repo(tmp_path, {".github/CODEOWNERS": "# owners\n* @acme/platform\n"})).status == "pass"
    assert code_owners(_repo(tmp_path / "b", {"CODEOWNERS": "# nobody yet\n"})).status == "fail"
    assert dependency_updates(_repo(tmp_path / "c", {".github/dependabot.yml": "version: 2\n"})).status == "pass"
    assert dependency_updates(_repo(tmp_path / "d", {"app.py": ""})).status == "fail"


def test_audit_trail_from_terraform_resources(tmp_path: Path) -> None:
    bucket = 'provider "aws" {}\n\n# storage\nresource "aws_s3_bucket" "data" {\n  bucket = "x"\n}\n'
    missing = audit_trail(_repo(tmp_path, {"infra/main.tf": bucket}))
    assert missing.status == "fail"
    assert (missing.evidence[0].path, missing.evidence[0].line) == ("infra/main.tf", 4)

    trail = 'resource "aws_cloudtrail" "all" {\n  name = "all"\n  is_multi_region_trail = true\n}\n'
    present = audit_trail(_repo(tmp_path / "b", {"main.tf": bucket, "audit.tf": trail}))
    assert present.status == "pass" and present.evidence[0].path == "audit.tf"


def test_malformed_terraform_is_a_warning_not_a_crash(tmp_path: Path) -> None:
    repo = _repo(tmp_path, {"main.tf": 'resource "aws_s3_bucket" "x" {\n'})
    assert audit_trail(repo).status == "not_applicable"
    assert repo.warnings and repo.warnings[0].startswith("main.tf: not valid HCL")


def test_terraform_state_in_the_repository_fails(tmp_path: Path) -> None:
    assert no_terraform_state(_repo(tmp_path, {"infra/terraform.tfstate": "{}"})).status == "fail"
    assert no_terraform_state(_repo(tmp_path / "b", {"main.tf": ""})).status == "pass"
