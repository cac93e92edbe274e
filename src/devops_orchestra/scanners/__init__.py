"""One adapter per external scanner, all behind the small interface in base.py.

ALL (one adapter for each) is built on first use: importing one scanner's module, such as checkov_warm at the
server's start, does not import every scanner (deps alone pulls packaging, cvss and tomllib: ~100 ms)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from devops_orchestra.scanners.base import Scanner

    ALL: dict[str, Scanner]


def _all() -> dict[str, Scanner]:
    from devops_orchestra.scanners.bandit import BanditScanner
    from devops_orchestra.scanners.checkov import CheckovScanner
    from devops_orchestra.scanners.deps import DepsScanner
    from devops_orchestra.scanners.secrets import SecretsScanner
    from devops_orchestra.scanners.semgrep import SemgrepScanner
    from devops_orchestra.scanners.zizmor import ZizmorScanner

    return {s.name: s for s in (SemgrepScanner(), BanditScanner(), SecretsScanner(), CheckovScanner(),
                                ZizmorScanner(), DepsScanner())}


def __getattr__(name: str) -> Any:
    if name == "ALL":
        globals()["ALL"] = value = _all()
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
