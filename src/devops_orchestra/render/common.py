"""What several reports' renderings share."""

from __future__ import annotations

from devops_orchestra.models import ScannerRun

TEXT_FINDINGS = 8  # findings named in the short text beside the structured content


def scanner_table(scanners: list[ScannerRun]) -> list[str]:
    """Markdown table lines: how each scanner ran."""
    out = ["| scanner | version | status | findings | files (cached) | time | note |", "|---|---|---|---|---|---|---|"]
    for run in scanners:
        note = (run.error or "; ".join(run.warnings)).replace("|", "\\|")
        out.append(f"| {run.name} | {run.version or '-'} | {run.status} | {run.findings} | "
                   f"{run.files} ({run.cached}) | {run.duration_s:.1f} s | {note} |")
    return out
