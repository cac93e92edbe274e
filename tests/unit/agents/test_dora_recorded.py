"""DORA from the deployments `deploy` recorded: rolled-back rollouts and later rollbacks are failed changes,
restored when traffic was back on stable; recorded deployments win over tags under --deployments auto."""

import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

from devops_orchestra.agents.dora import dora_metrics
from devops_orchestra.core.store import Store
from devops_orchestra.models.deploy import Breach, DeploymentRecord, DeployPlan, Step


def _repo(root: Path) -> list[str]:
    root.mkdir()
    git = ["git", "-C", str(root), "-c", "user.name=a", "-c", "user.email=a@a"]
    subprocess.run([*git, "init", "-q", "-b", "main"], check=True)
    shas = []
    for n in range(3):
        (root / "f.txt").write_text(str(n))
        subprocess.run([*git, "add", "-A"], check=True)
        subprocess.run([*git, "commit", "-qm", f"c{n}"], check=True)
        shas.append(subprocess.run([*git, "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip())
    subprocess.run([*git, "tag", "v1", shas[0]], check=True)
    return shas


def _record(root: Path, sha: str, state: str, minutes_ago: float, *, rollback: bool = False,
            restored_after_s: float | None = None) -> DeploymentRecord:
    started = datetime.now(UTC) - timedelta(minutes=minutes_ago)
    plan = DeployPlan(deployment_id=f"dep-{minutes_ago}", service="web", environment="prod", target="local",
                      ref=sha, sha=sha, source=str(root), strategy="canary", steps=[Step(weight=10)], slos=[],
                      interval_s=1, failure_limit=0, production=True, started_by="test", rollback=rollback)
    return DeploymentRecord(
        plan=plan, state=state, started_at=started, finished_at=started + timedelta(seconds=30),  # type: ignore[arg-type]
        restored_at=started + timedelta(seconds=restored_after_s) if restored_after_s else None,
        breach=Breach(slo="success_rate", measured=70, threshold=95, message="success_rate 70%") if
        state == "rolled_back" else None)


def test_recorded_deployments_count_failures_and_restores(tmp_path: Path) -> None:
    shas = _repo(tmp_path / "repo")
    store = Store(tmp_path / "runs.sqlite3")
    for record in (_record(tmp_path / "repo", shas[0], "succeeded", 50),
                   _record(tmp_path / "repo", shas[1], "rolled_back", 40, restored_after_s=36),
                   _record(tmp_path / "repo", shas[1], "failed", 35),  # never served: not counted
                   _record(tmp_path / "repo", shas[2], "succeeded", 30),
                   _record(tmp_path / "repo", shas[0], "succeeded", 20, rollback=True)):
        store.save_deployment(record)
    report = dora_metrics(tmp_path / "repo", days=7, store=store)
    assert report.deployment_source.startswith("deployments recorded by `deploy` in production")
    assert report.deployments_total == 3
    metrics = {m.name: m for m in report.metrics}
    assert metrics["change_failure_rate"].value == round(100 * 2 / 3, 2)
    assert "rolled back" in metrics["change_failure_rate"].derived
    assert metrics["time_to_restore"].samples == 2
    assert metrics["time_to_restore"].value == round((10 * 60 + 30) / 3600 / 2 + 0.01 / 2, 2)  # median of 2


def test_without_recorded_deployments_tags_count_as_before(tmp_path: Path) -> None:
    _repo(tmp_path / "repo")
    report = dora_metrics(tmp_path / "repo", days=7, store=Store(tmp_path / "runs.sqlite3"))
    assert report.deployment_source.startswith("release tags")
