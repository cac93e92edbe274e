"""What verify_fix returns: each finding checked again after a fix.

Plain pydantic models, not our Model: their schema is verify_fix's output schema as it always was."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel

from devops_orchestra.models.findings import Location, ScannerRun

FixVerdict = Literal["resolved", "still_present", "unknown"]


# One finding checked again: resolved, still present (and where now) or unknown, and why.
class FixCheck(BaseModel):
    finding_id: str
    verdict: FixVerdict
    reason: str
    rule_id: str | None = None
    location: Location | None = None  # where it is now, when still present


# What verify_fix returns: a check per finding id and the scanners run (a docstring would land in its schema).
class FixVerification(BaseModel):
    run_id: str
    duration_s: float
    checks: list[FixCheck]
    scanners: list[ScannerRun]
