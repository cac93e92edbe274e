"""haproxy in front of a local environment: a backend with a slot per instance and colour (blue, green),
whose addresses and weights change through the runtime API (the stats socket), never by a reload, so no
connection is dropped. Its built-in Prometheus exporter serves /metrics on a port of its own."""

from __future__ import annotations

import asyncio
import functools
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

from devops_orchestra.deploy.processes import need
from devops_orchestra.deploy.targets.base import DeployError

COLOURS = ("blue", "green")
# How haproxy 2.x words a refused `set server` (a successful one answers nothing, or what it changed).
_REFUSED = re.compile(r"^(No such|Unknown|Invalid|Require|Can't|Cannot|Failed|.*(not found|is not allowed))",
                      re.IGNORECASE | re.MULTILINE)


@dataclass(frozen=True)
class ProxyConfig:
    backend: str  # the service's name
    listen: str  # host:port clients use
    metrics: str  # host:port of the Prometheus exporter
    slots: int  # servers per colour
    health: str  # the instances' health path
    socket: Path
    pidfile: Path


@functools.cache
def binary() -> str:
    """haproxy, 2.0 or newer (its Prometheus exporter and retry-on are used)."""
    found = need("haproxy", "to switch traffic")
    version = subprocess.run([found, "-v"], capture_output=True, text=True, timeout=10).stdout
    major_minor = re.search(r"version (\d+)\.(\d+)", version)
    if major_minor and (int(major_minor[1]), int(major_minor[2])) < (2, 0):
        raise DeployError(f"{found} is haproxy {major_minor[1]}.{major_minor[2]}; the local target needs 2.0 or "
                          "newer (Debian 11+, Ubuntu 20.04+).")
    return found


def render(c: ProxyConfig) -> str:
    """haproxy.cfg: every slot starts in maintenance; the runtime API gives it an address when used."""
    # retry-on and redispatch: a request to an instance that died (before its health check says so) is
    # sent to another one, so a killed instance costs no failed request.
    templates = "\n".join(
        f"  server-template {colour} 1-{c.slots} 127.0.0.1:1 disabled weight 0 check inter 300ms fall 2 rise 1"
        for colour in COLOURS)
    return f"""\
global
  stats socket {c.socket} mode 600 level admin
  pidfile {c.pidfile}
  log stderr format short local0 warning

defaults
  mode http
  log global
  timeout connect 1s
  timeout client 30s
  timeout server 30s
  timeout http-keep-alive 2s
  retries 3
  option redispatch 1
  retry-on conn-failure empty-response response-timeout 503

frontend {c.backend}
  bind {c.listen}
  default_backend {c.backend}

frontend metrics
  bind {c.metrics}
  http-request use-service prometheus-exporter if {{ path /metrics }}

backend {c.backend}
  balance roundrobin
  option httpchk GET {c.health}
  http-check expect status 200
{templates}
"""


class Runtime:
    """haproxy's runtime API over its stats socket: one command per connection."""

    def __init__(self, socket: Path) -> None:
        self.socket = socket

    async def command(self, line: str) -> str:
        try:
            reader, writer = await asyncio.open_unix_connection(str(self.socket))
        except OSError as exc:
            raise DeployError(f"haproxy's runtime socket {self.socket} does not answer ({exc}); is haproxy "
                              "running? `devops-orchestra undeploy` then deploy again starts it afresh.") from exc
        try:
            writer.write(line.encode() + b"\n")
            await writer.drain()
            answer = (await reader.read()).decode()
        finally:
            writer.close()
        if line.startswith("set ") and _REFUSED.search(answer):
            raise DeployError(f"haproxy refused `{line}`: {answer.strip()}")
        return answer

    async def put(self, backend: str, slot: str, port: int) -> None:
        """Point slot at 127.0.0.1:port, weight 0, checked, in service."""
        await self.command(f"set server {backend}/{slot} addr 127.0.0.1 port {port}")
        await self.command(f"set server {backend}/{slot} weight 0")
        await self.command(f"set server {backend}/{slot} state ready")

    async def weigh(self, backend: str, slot: str, weight: int) -> None:
        await self.command(f"set server {backend}/{slot} weight {weight}")

    async def retire(self, backend: str, slot: str) -> None:
        await self.command(f"set server {backend}/{slot} state maint")

    async def states(self, backend: str) -> dict[str, tuple[str, int]]:
        """slot -> (status as haproxy's checks see it: UP, DOWN, MAINT..., current sessions)."""
        text = await self.command("show stat")
        rows = [line.split(",") for line in text.splitlines() if line and not line.startswith("#")]
        header = text.splitlines()[0].lstrip("# ").split(",")
        at = {name: i for i, name in enumerate(header)}
        return {r[at["svname"]]: (r[at["status"]], int(r[at["scur"]] or 0)) for r in rows
                if r[at["pxname"]] == backend and r[at["svname"]] not in ("BACKEND", "FRONTEND")}
