"""Runs inside checkov's own environment: import checkov once, then fork a fresh child per scan.

Importing checkov costs about 2 s of CPU, more than checking a small repository. This process pays it
once; each request forks a child that starts from the imported state, as a new `checkov` process would
after its imports, and runs the scan there. Protocol, one JSON object per line:
  stdout: {"ready": true} once imported
  stdin:  {"args": [...], "cwd": "...", "env": {...}, "stdout": "file", "stderr": "file"}
  stdout: {"pid": N} when the child started, then {"exit": code, "cpu_s": seconds} when it ended
Standalone on purpose: devops_orchestra is not installed in checkov's environment.
"""

import json
import os
import sys
import warnings


def serve() -> None:
    """Import checkov, then run each request from stdin in a forked child, one at a time."""
    # Run each scan in the child itself: checkov's own worker processes escape the child's CPU count,
    # and the other scanners keep the cores busy anyway. Read at import time, so set it first.
    os.environ.setdefault("CHECKOV_PARALLELIZATION_TYPE", "none")
    from checkov.main import Checkov  # type: ignore[import-not-found]

    reply = sys.stdout
    reply.write(json.dumps({"ready": True}) + "\n")
    reply.flush()
    for line in sys.stdin:
        request = json.loads(line)
        pid = os.fork()
        if pid == 0:
            os.setsid()  # its own process group, so the caller can kill it and its workers
            _child(Checkov, request)
        reply.write(json.dumps({"pid": pid}) + "\n")
        reply.flush()
        _, status, usage = os.wait4(pid, 0)
        cpu = usage.ru_utime + usage.ru_stime
        reply.write(json.dumps({"exit": os.waitstatus_to_exitcode(status), "cpu_s": round(cpu, 3)}) + "\n")
        reply.flush()


def _child(checkov: type, request: dict) -> None:  # type: ignore[type-arg]
    code = 2
    try:
        os.chdir(request["cwd"])
        os.environ.update(request.get("env") or {})
        for fd, path in ((1, request["stdout"]), (2, request["stderr"])):
            target = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            os.dup2(target, fd)
            os.close(target)
        sys.argv = ["checkov", *request["args"]]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", category=SyntaxWarning)
            code = checkov(request["args"]).run() or 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    except BaseException as exc:  # report it like a crashed checkov would
        print(f"checkov crashed: {type(exc).__name__}: {exc}", file=sys.stderr)
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


if __name__ == "__main__":
    serve()
