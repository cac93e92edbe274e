"""`python -m devops_orchestra.deploy.supervise STATE_DIR`: keeps a local environment whole between deploys.
Every second it replaces instances that died (killed outside, crashed) and restarts haproxy or Prometheus if
they did, through the target's own heal (under the environment's lock). The local target starts it with the
first deploy and stops it first on undeploy; SIGTERM ends it."""

from __future__ import annotations

import asyncio
import signal
import sys
from pathlib import Path

from devops_orchestra.deploy.targets.base import DeployError
from devops_orchestra.deploy.targets.local import LocalTarget

EVERY_S = 1.0


async def supervise(state_dir: Path) -> None:
    target = LocalTarget.load(state_dir)
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    while not stop.is_set():
        try:
            for line in await target.heal():
                print(line, file=sys.stderr, flush=True)
        except DeployError as exc:  # said, then tried again: what failed may come back
            print(f"could not heal {state_dir}: {exc}", file=sys.stderr, flush=True)
        try:
            await asyncio.wait_for(stop.wait(), EVERY_S)
        except TimeoutError:
            pass


if __name__ == "__main__":
    asyncio.run(supervise(Path(sys.argv[1])))
