"""The example web app as a git repository of three commits, for the demo, the tests and the benchmark:
`good`, `bad` (3 of every 10 requests answer 500) and `good2`. Standard library only."""

from __future__ import annotations

import subprocess
from pathlib import Path

HERE = Path(__file__).resolve().parent


def build(root: Path, config: str) -> dict[str, str]:
    """The repository at root (app.py and devops_orchestra.yaml from config); each commit's sha by name."""
    app = (HERE / "app.py").read_text()
    root.mkdir(parents=True, exist_ok=True)
    (root / "devops_orchestra.yaml").write_text(config)
    git = ["git", "-C", str(root), "-c", "user.name=demo", "-c", "user.email=demo@example.com"]
    subprocess.run([*git, "init", "-q", "-b", "main"], check=True)
    shas = {}
    for name, text in (("good", app), ("bad", app.replace("FAIL_EVERY_10 = 0", "FAIL_EVERY_10 = 3")),
                       ("good2", app + "# good2\n")):
        (root / "app.py").write_text(text)
        subprocess.run([*git, "add", "-A"], check=True)
        subprocess.run([*git, "commit", "-q", "-m", f"{name} version"], check=True)
        shas[name] = subprocess.run([*git, "rev-parse", "HEAD"], check=True, capture_output=True,
                                    text=True).stdout.strip()
    return shas
