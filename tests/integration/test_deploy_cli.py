"""deploy, rollouts, rollback and undeploy from the shell, on the local target with real processes."""

import json
import os
import signal
import time
from pathlib import Path

import httpx
import pytest

from devops_orchestra.cli import main
from devops_orchestra.deploy.processes import alive
from tests.helpers import free_port, need_binaries, webapp_config, webapp_repo


def test_deploy_rollouts_rollback_undeploy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    need_binaries("haproxy", "prometheus")
    monkeypatch.setenv("DEVOPS_ORCHESTRA_DEPLOYS", str(tmp_path / "deploys"))
    port = free_port()
    shas = webapp_repo(tmp_path / "repo", webapp_config(port))
    where = ["--env", "dev", "--path", str(tmp_path / "repo")]
    monkeypatch.setattr("sys.stdin.isatty", lambda: False)
    assert main(["deploy", "web", "--ref", shas["good"], *where]) == 2  # nobody to confirm: nothing started
    assert "add --yes" in capsys.readouterr().err
    assert not (tmp_path / "deploys").exists()
    try:
        assert main(["deploy", "web", "--ref", shas["good"], "--yes", "--format", "json", *where]) == 0
        first = json.loads(capsys.readouterr().out)
        assert first["state"] == "succeeded" and first["plan"]["sha"] == shas["good"]
        state_file = tmp_path / "deploys" / "dev" / "web" / "state.json"
        killed = json.loads(state_file.read_text())["slots"][0]["pid"]
        os.kill(killed, signal.SIGKILL)  # between deploys: the environment's supervisor replaces it
        for _ in range(100):
            slots = json.loads(state_file.read_text())["slots"]
            if slots[0]["pid"] != killed and httpx.get(f"http://127.0.0.1:{port}/").status_code == 200:
                break
            time.sleep(0.1)
        else:
            raise AssertionError("the killed instance was not replaced")
        assert main(["deploy", "web", "--ref", "HEAD", "--yes", *where]) == 0
        assert "succeeded: web" in capsys.readouterr().out
        assert httpx.get(f"http://127.0.0.1:{port}/").headers["X-Version"] == shas["good2"][:12]
        assert main(["rollback", "web", *where]) == 0
        assert httpx.get(f"http://127.0.0.1:{port}/").headers["X-Version"] == shas["good"][:12]
        capsys.readouterr()
        assert main(["rollouts", "--format", "json"]) == 0
        listed = json.loads(capsys.readouterr().out)["deployments"]
        assert [d["plan"]["sha"] for d in listed] == [shas["good"], shas["good2"], shas["good"]]
        assert [d["state"] for d in listed] == ["succeeded"] * 3
        assert main(["deploy", "web", "--ref", shas["good2"], "--strategy", "rolling", "--yes", *where]) == 0
        slots = json.loads(state_file.read_text())["slots"]  # rolling stops the old version once promoted
        assert [s["sha"] for s in slots] == [shas["good2"]]
    finally:
        state = json.loads((tmp_path / "deploys" / "dev" / "web" / "state.json").read_text())
        assert main(["undeploy", "web", *where]) == 0
    pids = [s["pid"] for s in state["slots"]] + [state["haproxy_pid"], state["prometheus_pid"], state["supervisor_pid"]]
    assert pids and not any(alive(pid) for pid in pids)
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"http://127.0.0.1:{port}/")
