#!/usr/bin/env python3
"""Check policies/catalog/{bandit,checkov,zizmor}.yaml for shape, vocabulary and coverage, and the checkov
ids that policies/compliance/*.yaml name.

Usage:
    checkov --list --skip-download > /tmp/checkov_list.txt
    python tests/integration/verify_catalog.py /tmp/checkov_list.txt [--bandit PATH_TO_BANDIT] [--zizmor PATH]

Bandit coverage uses the bandit importable by this interpreter; if there is none, the test ids
listed by `bandit -h` (from --bandit, or bandit on PATH). zizmor's audits are those it schedules offline
(--zizmor, or zizmor on PATH). Exit status 0 = clean, 1 = problems.
Needs only the standard library and PyYAML.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).resolve().parents[2] / "policies" / "catalog"
# Our own checkov checks: `checkov --list` leaves out external checks even given --external-checks-dir.
OWN_CHECKS = HERE.parent / "checkov"
OWN_CHECK_RE = re.compile(r"""\bid=["'](CKV_DO_\d+)["']""")
OWN_CHECK_BASES = {"BaseDockerfileCheck": "dockerfile", "BaseK8sContainerCheck": "kubernetes"}

SEVERITIES = {"critical", "high", "medium", "low", "info"}
BANDIT_CATEGORIES = {
    "sql-injection", "command-injection", "code-injection", "template-injection", "deserialization",
    "weak-crypto", "insecure-random", "tls-verification", "debug-mode", "path-traversal", "ssrf", "xss",
    "secret", "xxe", "open-redirect", "insecure-cookie", "insecure-config", "insecure-temp-file",
    "error-handling", "assert-used", "insecure-transport", "denial-of-service", "other",
}
# GitHub Actions: zizmor's audits and checkov's github_actions checks, shared so that the two merge.
ACTIONS_CATEGORIES = {
    "code-injection", "poisoned-pipeline", "excessive-permissions", "access-control", "credential-exposure",
    "secret", "supply-chain", "malicious-code", "insecure-transport", "insecure-config",
}
CHECKOV_CATEGORIES = {"iac-misconfiguration", "secret", "insecure-transport"} | ACTIONS_CATEGORIES
# Frameworks our checkov scanner runs (plus the secrets framework); ids only in e.g. CloudFormation are useless.
CHECKOV_FRAMEWORKS = {"terraform", "kubernetes", "dockerfile", "github_actions", "secrets"}
ZIZMOR_ID_RE = re.compile(r"^[a-z]+(-[a-z]+)*$")
OWASP_CICD_RE = re.compile(r"^CICD-SEC-\d+: \S")
# Enough for zizmor to schedule every audit it runs offline: one workflow and one action.
ZIZMOR_PROBE = {
    ".github/workflows/probe.yml": "on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n"
                                   "      - run: echo hi\n",
    "action.yml": "name: probe\ndescription: probe\nruns:\n  using: composite\n  steps:\n"
                  "    - run: echo hi\n      shell: bash\n",
}

CWE_RE = re.compile(r"^CWE-\d+$")
BANDIT_ID_RE = re.compile(r"^B\d{3}$")
CHECKOV_ID_RE = re.compile(r"^CKV2?_[A-Z0-9]+_\d+$")
LIST_ID_RE = re.compile(r"\bCKV2?_[A-Z0-9]+_\d+\b")
MAX_REMEDIATION = 600


class UniqueKeyLoader(yaml.SafeLoader):
    """SafeLoader that refuses duplicate mapping keys (PyYAML silently keeps the last one)."""


def _construct_mapping(loader: UniqueKeyLoader, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
    seen: set[object] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r}", key_node.start_mark)
        seen.add(key)
    return loader.construct_mapping(node, deep)


UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def load(path: Path, errors: list[str]) -> dict[Any, Any]:
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=UniqueKeyLoader)
    except (OSError, yaml.YAMLError) as exc:
        errors.append(f"{path.name}: cannot load: {exc}")
        return {}
    if not isinstance(data, dict):
        errors.append(f"{path.name}: top level must be a mapping")
        return {}
    return data


def check_entry(file: str, rid: str, entry: object, *, required: set[str], allowed: set[str],
                categories: set[str], errors: list[str]) -> None:
    where = f"{file}: {rid}"
    if not isinstance(entry, dict):
        errors.append(f"{where}: entry must be a mapping")
        return
    keys = set(entry)
    if missing := required - keys:
        errors.append(f"{where}: missing {sorted(missing)}")
    if extra := keys - allowed:
        errors.append(f"{where}: unknown keys {sorted(extra)}")
    if "category" in entry and entry["category"] not in categories:
        errors.append(f"{where}: category {entry['category']!r} not in vocabulary")
    if "severity" in entry and entry["severity"] not in SEVERITIES:
        errors.append(f"{where}: severity {entry['severity']!r} not one of {sorted(SEVERITIES)}")
    if "cwe" in entry and not (isinstance(entry["cwe"], str) and CWE_RE.match(entry["cwe"])):
        errors.append(f"{where}: cwe {entry['cwe']!r} does not match CWE-<n>")
    rem = entry.get("remediation")
    if "remediation" in entry:
        if not isinstance(rem, str) or not rem.strip():
            errors.append(f"{where}: remediation must be a non-empty string")
        elif len(" ".join(rem.split())) > MAX_REMEDIATION:
            errors.append(f"{where}: remediation longer than {MAX_REMEDIATION} characters")


def installed_bandit_ids(bandit_bin: str | None) -> set[str]:
    if bandit_bin is None:
        try:
            from bandit.core import extension_loader  # type: ignore[import-untyped]
        except ImportError:
            pass
        else:
            mgr = extension_loader.MANAGER
            return set(mgr.plugins_by_id) | set(mgr.blacklist_by_id)
    exe = bandit_bin or shutil.which("bandit")
    if not exe:
        raise SystemExit("bandit is neither importable nor on PATH; pass --bandit /path/to/bandit")
    out = subprocess.run([exe, "-h"], capture_output=True, text=True, check=True).stdout
    listed = out.split("The following tests were discovered and loaded:", 1)[-1]
    return set(re.findall(r"^\s+(B\d{3})\s", listed, re.MULTILINE))


def checkov_listing(path: Path) -> tuple[set[str], dict[str, set[str]]]:
    """Ids in `checkov --list` output, and (for the table format) the frameworks listing each id."""
    ids: set[str] = set()
    frameworks: dict[str, set[str]] = {}
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        found = LIST_ID_RE.findall(line)
        ids.update(found)
        cells = [c.strip() for c in line.split("|")]
        # | n | Id | Type | Entity | Policy | IaC | Resource Link |
        if len(cells) >= 8 and CHECKOV_ID_RE.match(cells[2]):
            frameworks.setdefault(cells[2], set()).add(cells[6].lower())
    return ids, frameworks


def own_checks() -> dict[str, set[str]]:
    """Our own checks in policies/checkov/*.py: id -> the frameworks of the base class it subclasses."""
    found: dict[str, set[str]] = {}
    for path in sorted(OWN_CHECKS.glob("*.py")):
        text = path.read_text(encoding="utf-8")
        frameworks = {fw for base, fw in OWN_CHECK_BASES.items() if f"({base})" in text}
        for rid in OWN_CHECK_RE.findall(text):
            found[rid] = frameworks
    return found


def verify_bandit(errors: list[str], bandit_bin: str | None) -> int:
    data = load(HERE / "bandit.yaml", errors)
    for rid, entry in data.items():
        if not (isinstance(rid, str) and BANDIT_ID_RE.match(rid)):
            errors.append(f"bandit.yaml: key {rid!r} is not a bandit test id (Bnnn)")
            continue
        check_entry("bandit.yaml", rid, entry, required={"category", "cwe", "remediation"},
                    allowed={"category", "cwe", "remediation", "severity"},
                    categories=BANDIT_CATEGORIES, errors=errors)
    installed = installed_bandit_ids(bandit_bin)
    if not installed:
        errors.append("bandit: could not determine the installed test ids")
    for rid in sorted(installed - set(data)):
        errors.append(f"bandit.yaml: missing entry for installed test {rid}")
    for rid in sorted(set(data) - installed):
        errors.append(f"bandit.yaml: {rid} is not a test id of the installed bandit")
    return len(data)


def verify_checkov(errors: list[str], listing: Path, minimum: int) -> int:
    data = load(HERE / "checkov.yaml", errors)
    known, frameworks = checkov_listing(listing)
    own = own_checks()
    for rid in sorted(set(own) - set(data)):
        errors.append(f"checkov.yaml: missing entry for our own check {rid} (policies/checkov/)")
    if known:
        known |= set(own)
        frameworks |= own
    if not known:
        errors.append(f"{listing}: no checkov ids found; is it `checkov --list` output?")
    prefixes = data.get("_prefix_defaults")
    if not isinstance(prefixes, dict) or not prefixes:
        errors.append("checkov.yaml: _prefix_defaults must be a non-empty mapping")
    else:
        for prefix, sev in prefixes.items():
            if not (isinstance(prefix, str) and re.match(r"^CKV2?_[A-Z0-9]+_$", prefix)):
                errors.append(f"checkov.yaml: _prefix_defaults key {prefix!r} is not an id prefix like CKV_AWS_")
            elif known and not any(k.startswith(prefix) for k in known):
                errors.append(f"checkov.yaml: _prefix_defaults {prefix!r} matches no listed check")
            if sev not in SEVERITIES:
                errors.append(f"checkov.yaml: _prefix_defaults[{prefix!r}] = {sev!r} is not a severity")
    if data.get("_default", "medium") not in SEVERITIES:
        errors.append(f"checkov.yaml: _default = {data.get('_default')!r} is not a severity")
    count = 0
    for rid, entry in data.items():
        if rid in ("_prefix_defaults", "_default"):
            continue
        if not (isinstance(rid, str) and CHECKOV_ID_RE.match(rid)):
            errors.append(f"checkov.yaml: key {rid!r} is not a checkov id")
            continue
        count += 1
        check_entry("checkov.yaml", rid, entry, required={"severity", "category", "remediation"},
                    allowed={"severity", "category", "cwe", "remediation"},
                    categories=CHECKOV_CATEGORIES, errors=errors)
        if known and rid not in known:
            errors.append(f"checkov.yaml: {rid} is not in {listing.name}")
        elif rid in frameworks and not frameworks[rid] & CHECKOV_FRAMEWORKS:
            errors.append(f"checkov.yaml: {rid} only exists for {sorted(frameworks[rid])}, "
                          f"not {sorted(CHECKOV_FRAMEWORKS)}")
        if isinstance(entry, dict) and rid.startswith("CKV_SECRET_") and entry.get("category") != "secret":
            errors.append(f"checkov.yaml: {rid} should have category secret")
    if count < minimum:
        errors.append(f"checkov.yaml: {count} check entries, expected at least {minimum}")
    return count


def zizmor_audits(zizmor_bin: str | None) -> set[str]:
    """The audits zizmor runs offline. It has no command that lists them; its verbose log names each one
    it schedules on an input."""
    exe = zizmor_bin or shutil.which("zizmor")
    if not exe:
        raise SystemExit("zizmor is not on PATH; pass --zizmor /path/to/zizmor")
    with tempfile.TemporaryDirectory() as tmp:
        for rel, text in ZIZMOR_PROBE.items():
            (Path(tmp) / rel).parent.mkdir(parents=True, exist_ok=True)
            (Path(tmp) / rel).write_text(text, encoding="utf-8")
        done = subprocess.run([exe, "--offline", "--no-config", "--verbose", "--format", "json", *ZIZMOR_PROBE],
                              cwd=tmp, capture_output=True, text=True, timeout=120)
    return set(re.findall(r"scheduling ([a-z0-9-]+) on ", done.stderr))


def verify_zizmor(errors: list[str], zizmor_bin: str | None) -> int:
    data = load(HERE / "zizmor.yaml", errors)
    for rid, entry in data.items():
        if not (isinstance(rid, str) and ZIZMOR_ID_RE.match(rid)):
            errors.append(f"zizmor.yaml: key {rid!r} is not a zizmor audit id (like template-injection)")
            continue
        check_entry("zizmor.yaml", rid, entry, required={"category", "remediation"},
                    allowed={"category", "cwe", "owasp", "severity", "remediation"},
                    categories=ACTIONS_CATEGORIES, errors=errors)
        if isinstance(entry, dict) and "owasp" in entry and not OWASP_CICD_RE.match(str(entry["owasp"])):
            errors.append(f"zizmor.yaml: {rid}: owasp {entry['owasp']!r} is not 'CICD-SEC-<n>: <name>'")
    audits = zizmor_audits(zizmor_bin)
    if not audits:
        errors.append("zizmor: could not determine the audits it runs offline")
    for rid in sorted(set(data) - audits if audits else ()):
        errors.append(f"zizmor.yaml: {rid} is not an audit the installed zizmor runs offline")
    return len(data)


def verify_compliance_rules(errors: list[str], listing: Path) -> int:
    """Every checkov id a compliance control names exists for a framework our checkov scanner runs."""
    known, frameworks = checkov_listing(listing)
    count = 0
    for path in sorted((HERE.parent / "compliance").glob("*.yaml")):
        for rid in sorted(set(re.findall(r"checkov:(CKV2?_[A-Z0-9]+_\d+)", path.read_text(encoding="utf-8")))):
            count += 1
            if rid not in known:
                errors.append(f"compliance/{path.name}: checkov:{rid} is not in {listing.name}")
            elif not frameworks.get(rid, set()) & CHECKOV_FRAMEWORKS:
                errors.append(f"compliance/{path.name}: checkov:{rid} is not a check our checkov scanner runs")
    return count


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("checkov_list", type=Path, help="file holding `checkov --list --skip-download` output")
    ap.add_argument("--bandit", help="bandit executable to ask for test ids (default: import bandit)")
    ap.add_argument("--zizmor", help="zizmor executable to ask for its audits (default: zizmor on PATH)")
    ap.add_argument("--min-checkov", type=int, default=150, help="minimum number of checkov entries")
    args = ap.parse_args()
    errors: list[str] = []
    n_bandit = verify_bandit(errors, args.bandit)
    n_checkov = verify_checkov(errors, args.checkov_list, args.min_checkov)
    n_zizmor = verify_zizmor(errors, args.zizmor)
    n_compliance = verify_compliance_rules(errors, args.checkov_list)
    for e in errors:
        print(f"ERROR {e}")
    print(f"bandit.yaml: {n_bandit} entries; checkov.yaml: {n_checkov} entries; zizmor.yaml: {n_zizmor} entries; "
          f"compliance: {n_compliance} checkov ids; {len(errors)} problem(s)")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
