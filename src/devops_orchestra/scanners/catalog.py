"""Our own knowledge about other scanners' rules: category, CWE, severity and what to do.

Lives in policies/catalog/*.yaml (bandit's text is terse, checkov has no severity offline, zizmor no CWE).
"""

from __future__ import annotations

import functools

import yaml
from pydantic import BaseModel, ConfigDict, field_validator

from devops_orchestra.core.paths import policies_dir
from devops_orchestra.models import Severity


class CatalogEntry(BaseModel):
    """What we know about one rule of another scanner (an entry of policies/catalog/*.yaml)."""

    model_config = ConfigDict(extra="forbid")

    category: str = "other"
    cwe: str | None = None
    owasp: str | None = None
    severity: Severity | None = None
    remediation: str | None = None

    @field_validator("remediation")
    @classmethod
    def _one_line(cls, text: str | None) -> str | None:
        """YAML folded over several lines reads as one paragraph."""
        return " ".join(text.split()) if text else text


@functools.cache
def _load(name: str) -> dict[str, object]:
    with open(policies_dir() / "catalog" / f"{name}.yaml", encoding="utf-8") as fh:
        data = yaml.load(fh, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)) or {}  # C: 10x faster
    if not isinstance(data, dict):
        raise ValueError(f"policies/catalog/{name}.yaml must be a mapping of rule id to entry")
    return data


@functools.cache
def entry(scanner: str, rule_id: str) -> CatalogEntry | None:
    """Our catalogue entry for a scanner's rule, or None when the catalogue does not list it."""
    raw = _load(scanner).get(rule_id)
    return CatalogEntry.model_validate(raw) if isinstance(raw, dict) else None


def default_severity(scanner: str, rule_id: str) -> Severity:
    """Severity by rule-id prefix (`_prefix_defaults`), for rules the catalogue does not list."""
    data = _load(scanner)
    prefixes = data.get("_prefix_defaults") or {}
    assert isinstance(prefixes, dict)
    best = max((p for p in prefixes if rule_id.startswith(p)), key=len, default=None)
    value = prefixes[best] if best else data.get("_default", "medium")
    return Severity.parse(str(value), Severity.medium)
