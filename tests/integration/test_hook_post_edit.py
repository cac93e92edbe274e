"""`devops-orchestra hook post-edit` as Claude Code runs it: PostToolUse JSON on stdin, the decision on stdout."""

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import write

pytestmark = pytest.mark.scanners

CLEAN = "import subprocess\n\n\ndef run(args):\n    return subprocess.run(args, check=True)\n"
AWS_KEY = "AKIAZ7QK4TNVX2MPL5RD"  # the shape of an access key id; not a real one


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = write(tmp_path / "repo", {"app.py": CLEAN, "settings.py": "DEBUG = False\n"})
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    return root


def _event(root: Path, tool: str, tool_input: dict[str, Any]) -> dict[str, Any]:
    """A PostToolUse input as the Claude Code hooks reference documents it."""
    return {"session_id": "abc123", "transcript_path": str(root / "transcript.jsonl"), "cwd": str(root),
            "permission_mode": "default", "hook_event_name": "PostToolUse", "tool_name": tool,
            "tool_input": tool_input, "tool_response": {"filePath": tool_input.get("file_path"), "success": True},
            "tool_use_id": "toolu_01"}


def _edit(root: Path, rel: str, old: str, new: str) -> dict[str, Any]:
    """Make the edit on disk (Claude Code has, when PostToolUse runs) and describe it."""
    path = root / rel
    path.write_text(path.read_text().replace(old, new))
    return _event(root, "Edit", {"file_path": str(path), "old_string": old, "new_string": new, "replace_all": False})


def _hook(stdin: str | bytes, *args: str, project_dir: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run the hook as Claude Code does; $CLAUDE_PROJECT_DIR only when given (not this session's own)."""
    data = stdin.encode() if isinstance(stdin, str) else stdin
    env = {k: v for k, v in os.environ.items() if k != "CLAUDE_PROJECT_DIR"}
    if project_dir:
        env["CLAUDE_PROJECT_DIR"] = str(project_dir)
    done = subprocess.run([sys.executable, "-m", "devops_orchestra", "hook", "post-edit", *args], input=data,
                          capture_output=True, timeout=120, env=env)
    return subprocess.CompletedProcess(done.args, done.returncode, done.stdout.decode(), done.stderr.decode())


def test_an_edit_above_the_sessions_cwd_is_checked_within_the_project_dir(repo: Path) -> None:
    event = _edit(repo, "app.py", "subprocess.run(args, check=True)", "subprocess.call(args, shell=True)")
    (repo / "web").mkdir()
    event["cwd"] = str(repo / "web")  # Claude ran `cd web`; the project is still repo
    assert "outside the project directory" in _hook(json.dumps(event)).stderr
    assert "app.py:5 [high]" in _decision(_hook(json.dumps(event), project_dir=repo))["reason"]


def test_a_file_git_ignores_is_not_checked_and_says_so(repo: Path) -> None:
    write(repo, {".gitignore": "build/\n", "build/gen.py": "import os\nos.system(input())\n"})
    done = _hook(json.dumps(_event(repo, "Write", {"file_path": str(repo / "build" / "gen.py")})))
    assert (done.returncode, done.stdout) == (0, "")
    assert "build/gen.py is left out of scans" in done.stderr


def _decision(done: subprocess.CompletedProcess[str]) -> dict[str, str]:
    assert done.returncode == 0, done.stderr
    return dict(json.loads(done.stdout))


def test_an_edit_that_runs_a_shell_command_blocks_with_file_line_and_fix(repo: Path) -> None:
    event = _edit(repo, "app.py", "subprocess.run(args, check=True)", "subprocess.call(args, shell=True)")
    decision = _decision(_hook(json.dumps(event)))
    assert decision["decision"] == "block"
    assert "app.py:5 [high]" in decision["reason"]
    assert "Fix: " in decision["reason"]


def test_a_written_file_with_a_hard_coded_aws_key_blocks(repo: Path) -> None:
    content = f'AWS_ACCESS_KEY_ID = "{AWS_KEY}"\n'
    (repo / "keys.py").write_text(f"DEBUG = False\n{content}")
    event = _event(repo, "Write", {"file_path": str(repo / "keys.py"), "content": content})
    decision = _decision(_hook(json.dumps(event)))
    assert decision["decision"] == "block"
    assert "keys.py:2 " in decision["reason"]
    assert AWS_KEY not in decision["reason"]  # the hook's answer lands in a transcript: no secret in it


def test_a_clean_edit_exits_quietly(repo: Path) -> None:
    done = _hook(json.dumps(_edit(repo, "settings.py", "DEBUG = False", "DEBUG = False\nTIMEOUT_S = 30")))
    assert (done.returncode, done.stdout) == (0, "")


def test_a_finding_the_last_full_scan_had_does_not_block_but_a_new_one_does(repo: Path) -> None:
    (repo / "app.py").write_text(CLEAN + "\n\ndef old(cmd):\n    return subprocess.call(cmd, shell=True)\n")
    scan = subprocess.run([sys.executable, "-m", "devops_orchestra", "scan", str(repo), "--format", "json"],
                          capture_output=True, text=True, timeout=300)
    assert any(f["location"]["path"] == "app.py" for f in json.loads(scan.stdout)["findings"]), scan.stderr

    unrelated = _edit(repo, "app.py", "def run(args):", "def run(args: list[str]):")
    assert _hook(json.dumps(unrelated)).stdout == ""

    added = _edit(repo, "app.py", "check=True)", "check=True)\n\n\ndef probe(code):\n    return eval(code)")
    reason = _decision(_hook(json.dumps(added)))["reason"]
    assert "app.py:9 " in reason
    assert "shell" not in reason.lower()  # the old finding stays out of the new edit's answer


@pytest.mark.parametrize(("stdin", "says"), [
    (b"not json", "not Claude Code's PostToolUse hook JSON"),
    (b"\xff\xfe", "not Claude Code's PostToolUse hook JSON"),
    (b'{"tool_name": "Edit"}', "not Claude Code's PostToolUse hook JSON"),
    ("READ", "Read is not a file edit"),
    ("PRE", "this is a PreToolUse event"),
    ("NO_PATH", "tool_input has no file_path"),
    ("OUTSIDE", "is outside the project directory"),
    ("MISSING", "gone.py does not exist"),
])
def test_input_it_cannot_judge_is_a_message_and_exit_0(repo: Path, stdin: bytes | str, says: str) -> None:
    app = str(repo / "app.py")
    events = {
        "READ": _event(repo, "Read", {"file_path": app}),
        "PRE": {**_event(repo, "Edit", {"file_path": app}), "hook_event_name": "PreToolUse"},
        "NO_PATH": _event(repo, "Write", {"content": "x"}),
        "OUTSIDE": _event(repo, "Write", {"file_path": "../../etc/passwd"}),
        "MISSING": _event(repo, "Write", {"file_path": str(repo / "gone.py")}),
    }
    done = _hook(json.dumps(events[stdin]) if isinstance(stdin, str) else stdin)
    assert (done.returncode, done.stdout) == (0, "")
    assert says in done.stderr


def test_a_scan_past_its_time_limit_does_not_block(repo: Path) -> None:
    event = _edit(repo, "app.py", "subprocess.run(args, check=True)", "subprocess.call(args, shell=True)")
    done = _hook(json.dumps(event), "--timeout", "0.01")
    assert (done.returncode, done.stdout) == (0, "")
    assert "took over 0.01 s" in done.stderr
