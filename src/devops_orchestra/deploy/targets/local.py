"""The local target: this machine runs each version as N processes behind haproxy.

A version's release directory is a git work tree at its sha (a local clone, so the source is never written),
its dependencies installed by the service's `install` command. Versions take turns in two colours of haproxy
slots, blue and green: the candidate starts in the colour the stable version does not use, is health-checked,
then weighed in through haproxy's runtime API. Blue-green leaves the previous colour running (weight 0) for an
instant rollback. Prometheus, started beside haproxy, scrapes haproxy's exporter and the instances. Everything
the environment runs is in `state.json` (pids, ports, which sha is stable), so another command (rollback,
undeploy) finds it.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import hashlib
import math
import os
import shutil
import sys
import tempfile
from collections.abc import AsyncIterator, Iterable
from pathlib import Path

from pydantic import Field

from devops_orchestra.core import proc
from devops_orchestra.deploy import haproxy, prometheus
from devops_orchestra.deploy.processes import alive, free_port, spawn, stop, tail, wait_http
from devops_orchestra.deploy.targets.base import DeployError, Instance, Target, TargetStatus
from devops_orchestra.models.base import Model
from devops_orchestra.models.deploy import DeployPlan, SloName
from devops_orchestra.pipeline.config import Environment, Service

HEALTHY_WITHIN_S = 60.0
TARGET_FILE = "target.json"
DEFAULT_INTERVAL_S = 10.0


class _Slot(Model):
    name: str  # haproxy server name: colour + number
    sha: str
    port: int
    pid: int
    log: str

    @property
    def colour(self) -> str:
        return self.name.rstrip("0123456789")


class _State(Model):
    listen: str
    metrics_port: int
    prometheus_port: int
    interval_s: float = DEFAULT_INTERVAL_S
    haproxy_pid: int | None = None
    supervisor_pid: int | None = None
    prometheus_pid: int | None = None
    stable: str | None = None
    candidate: str | None = None
    previous: str | None = Field(default=None, description="The version before stable (warm after blue-green).")
    failed: str | None = Field(default=None, description="The last version rolled back, kept for diagnosis.")
    colours: dict[str, str] = Field(default_factory=dict, description="sha -> colour")
    weights: dict[str, int] = Field(default_factory=dict, description="colour -> weight of each of its slots")
    slots: list[_Slot] = Field(default_factory=list)
    source: str | None = None


class _Saved(Model):
    service: Service
    environment_name: str
    environment: Environment


class LocalTarget(Target):
    kind = "local"
    keeps_old_warm = True
    stop_leaves = "no instance, proxy, Prometheus or supervisor left running"

    @property
    def _state_file(self) -> Path:
        return self.state_dir / "state.json"

    # -- state, under a lock shared by every process driving this environment ----------------------------------

    @contextlib.asynccontextmanager
    async def _locked(self) -> AsyncIterator[_State]:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.state_dir / "lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            await asyncio.to_thread(fcntl.flock, fd, fcntl.LOCK_EX)
            state = self._read()
            yield state
            tmp = self._state_file.with_suffix(".tmp")
            tmp.write_text(state.model_dump_json(indent=1))
            tmp.replace(self._state_file)
        finally:
            os.close(fd)  # releases the lock

    def _read(self) -> _State:
        if self._state_file.is_file():
            return _State.model_validate_json(self._state_file.read_text())
        return _State(listen=self.environment.listen or f"127.0.0.1:{free_port()}", metrics_port=free_port(),
                      prometheus_port=free_port())

    # -- Target ----------------------------------------------------------------------------------------------

    async def prepare(self, plan: DeployPlan) -> None:
        async with self._locked() as state:
            state.interval_s, state.source = plan.interval_s, plan.source
            self._ensure_supervisor(state)
            await self._ensure_infrastructure(state)
            colour = state.colours.get(plan.sha)
            mine = [s for s in state.slots if s.sha == plan.sha]
            if colour and len(mine) == self.environment.instances and all(alive(s.pid) for s in mine):
                state.candidate = plan.sha  # still warm (blue-green's previous, or a release rolled back)
                return
            await self._release(plan)
            used = state.colours.get(state.stable or "")
            colour = next(c for c in haproxy.COLOURS if c != used)
            await self._clear_colour(state, colour)
            state.colours = {sha: c for sha, c in state.colours.items() if c != colour}
            state.colours[plan.sha] = colour
            state.weights[colour] = 0
            state.candidate = plan.sha
            # Rolling replaces the instances one by one (set_weight), so it needs one more, not twice as many.
            count = 1 if _rolls(plan, state) else self.environment.instances
            await self._add(state, plan.sha, colour, range(1, count + 1))

    async def set_weight(self, plan: DeployPlan, weight: int) -> None:
        async with self._locked() as state:
            if _rolls(plan, state):
                await self._replace(state, plan, weight)
            else:
                await self._weigh(state, plan.sha, weight)

    async def promote(self, plan: DeployPlan) -> None:
        async with self._locked() as state:
            await self._weigh(state, plan.sha, 100)
            if state.stable != plan.sha:
                state.previous = state.stable
            state.stable, state.candidate = plan.sha, None
            if plan.strategy != "blue-green" and state.previous:
                old = state.colours.pop(state.previous, None)
                if old:
                    await self._clear_colour(state, old)
                    self._write_targets(state)

    async def abort(self, plan: DeployPlan) -> None:
        async with self._locked() as state:
            if state.stable and state.stable != plan.sha:
                await self._weigh(state, state.stable, 100)
                colour = state.colours[state.stable]  # a rolling update may have stopped some of its instances
                names = {s.name for s in state.slots}
                await self._add(state, state.stable, colour, [n for n in range(1, self.environment.instances + 1)
                                                              if f"{colour}{n}" not in names])
            state.failed = plan.sha
            state.candidate = None

    async def status(self) -> TargetStatus:
        if not self._state_file.is_file():
            return TargetStatus()
        state = self._read()
        # Each instance takes its colour's weight: the candidate's share is its instances' part of the sum.
        weights = [(s.sha, state.weights.get(s.colour, 0)) for s in state.slots]
        total = sum(w for _, w in weights)
        mine = sum(w for sha, w in weights if sha == state.candidate)
        return TargetStatus(
            stable=state.stable, candidate=state.candidate, weight=round(100 * mine / total) if total else 0,
            instances=[Instance(name=s.name, version=s.sha, healthy=alive(s.pid), address=f"127.0.0.1:{s.port}")
                       for s in state.slots])

    async def heal(self) -> list[str]:
        if not self._state_file.is_file():
            return []
        async with self._locked() as state:
            if not state.slots:  # undeployed (or never deployed): nothing to keep alive
                return []
            replaced = await self._ensure_infrastructure(state)
            dead = [s for s in state.slots if not alive(s.pid)]
            for slot in dead:
                state.slots.remove(slot)
                fresh = self._start(slot.sha, slot.name, self._release_dir(slot.sha))
                state.slots.append(fresh)
                replaced.append(f"instance {slot.name} of {slot.sha[:12]} (pid {slot.pid}) had died: replaced by "
                                f"pid {fresh.pid} on port {fresh.port}")
            if dead:
                self._write_targets(state)
                await asyncio.gather(*(self._serve(state, s) for s in state.slots if s.name in {d.name for d in dead}))
            return replaced

    def queries(self, plan: DeployPlan) -> dict[SloName, str]:
        state = self._read()
        colour = state.colours.get(plan.sha, "none")
        window = f"{max(int(plan.interval_s * 1000), 4 * prometheus.scrape_interval_ms(plan.interval_s))}ms"
        servers = f'proxy="{self.service.name}",server=~"{colour}[0-9]+"'
        errors = f'sum(rate(haproxy_server_http_responses_total{{{servers},code="5xx"}}[{window}]))'
        every = f"sum(rate(haproxy_server_http_responses_total{{{servers}}}[{window}]))"
        mine = f'service="{self.service.name}",version="{plan.sha}"'
        return {
            "success_rate": f"100 * (1 - {errors} / {every})",
            "p99_latency_ms": f"1000 * histogram_quantile(0.99, sum by (le) "
                              f"(rate(http_request_duration_seconds_bucket{{{mine}}}[{window}])))",
            "cpu_percent": f"100 * max(rate(process_cpu_seconds_total{{{mine}}}[{window}]))",
        }

    async def prometheus_url(self) -> str:
        async with self._locked() as state:
            await self._ensure_infrastructure(state)
            return f"http://127.0.0.1:{state.prometheus_port}"

    async def stop(self) -> None:
        if not self._state_file.is_file():
            return
        async with self._locked() as state:
            await stop(state.supervisor_pid)  # first, or it would start again what is being stopped
            state.supervisor_pid = None
            await asyncio.gather(*(stop(s.pid) for s in state.slots), stop(state.haproxy_pid),
                                 stop(state.prometheus_pid))
            state.slots, state.colours, state.weights = [], {}, {}
            state.stable = state.candidate = state.previous = None
            state.haproxy_pid = state.prometheus_pid = None
            self._socket.unlink(missing_ok=True)  # haproxy leaves its socket behind

    @classmethod
    def load(cls, state_dir: Path) -> LocalTarget:
        """The target whose state is in state_dir, as its last prepare described it (the supervisor's way in)."""
        saved = _Saved.model_validate_json((state_dir / TARGET_FILE).read_text())
        return cls(saved.service, saved.environment_name, saved.environment, state_dir)

    # -- the parts ---------------------------------------------------------------------------------------------

    def _ensure_supervisor(self, state: _State) -> None:
        """A process of its own that replaces what dies between deploys (deploy/supervise.py)."""
        saved = _Saved(service=self.service, environment_name=self.environment_name, environment=self.environment)
        (self.state_dir / TARGET_FILE).write_text(saved.model_dump_json())
        if not alive(state.supervisor_pid):
            state.supervisor_pid = spawn([sys.executable, "-m", "devops_orchestra.deploy.supervise",
                                          str(self.state_dir)], cwd=self.state_dir,
                                         log=self.state_dir / "logs" / "supervisor.log")

    def _release_dir(self, sha: str) -> Path:
        return self.state_dir / "releases" / sha

    async def _release(self, plan: DeployPlan) -> Path:
        """The release directory of plan.sha: a worktree of the source at that sha, dependencies installed."""
        where = self._release_dir(plan.sha)
        done = where / ".devops-orchestra-installed"
        if done.is_file():
            return where
        if not where.is_dir():
            where.parent.mkdir(parents=True, exist_ok=True)
            # A clone (hard links, so cheap) rather than `git worktree add`: the source is never written to.
            made = await proc.run(["git", "clone", "--quiet", "--no-checkout", plan.source, str(where)],
                                  cwd=where.parent, timeout_s=300)
            if not made.returncode:
                made = await proc.run(["git", "-C", str(where), "checkout", "--quiet", "--detach", plan.sha],
                                      cwd=where, timeout_s=120)
            if made.returncode:
                shutil.rmtree(where, ignore_errors=True)
                raise DeployError(f"could not make a release directory of {plan.sha[:12]} from {plan.source}: "
                                  f"{made.stderr_tail()}. Is the commit in that repository?")
        if self.service.install:
            installed = await proc.run(["sh", "-c", self.service.install], cwd=self._workdir(where), timeout_s=900)
            if installed.returncode:
                raise DeployError(f"installing {self.service.name}'s dependencies ({self.service.install}) failed in "
                                  f"{where}: {installed.stderr_tail()}")
        done.write_text(plan.sha)
        return where

    def _workdir(self, release: Path) -> Path:
        return release / self.service.path if self.service.path else release

    def _start(self, sha: str, name: str, release: Path) -> _Slot:
        port = free_port()
        log = self.state_dir / "logs" / f"{name}-{sha[:12]}.log"
        env = {e.key: e.value for e in self.service.env} | {"PORT": str(port), "APP_VERSION": sha}
        assert self.service.start  # the configuration insists on it for runtime local
        pid = spawn(["sh", "-c", f"exec {self.service.start}"], cwd=self._workdir(release), log=log, env=env)
        return _Slot(name=name, sha=sha, port=port, pid=pid, log=str(log))

    async def _serve(self, state: _State, slot: _Slot) -> None:
        """Wait for slot to answer its health path, then put it in haproxy at its colour's weight."""
        url = f"http://127.0.0.1:{slot.port}{self.service.health}"
        if not await wait_http(url, timeout_s=HEALTHY_WITHIN_S, pid=slot.pid):
            raise DeployError(f"{self.service.name} {slot.sha[:12]} ({slot.name}) did not answer {url} within "
                              f"{HEALTHY_WITHIN_S:.0f} s; the end of its log ({slot.log}):\n{tail(Path(slot.log))}")
        runtime = haproxy.Runtime(self._socket)
        await runtime.put(self.service.name, slot.name, slot.port)
        await self._until_up(runtime, slot.name)
        await runtime.weigh(self.service.name, slot.name, state.weights.get(slot.colour, 0))

    async def _until_up(self, runtime: haproxy.Runtime, name: str) -> None:
        for _ in range(100):
            if (await runtime.states(self.service.name)).get(name, ("",))[0] == "UP":
                return
            await asyncio.sleep(0.05)
        raise DeployError(f"haproxy's health check never saw {name} up; see {self.state_dir / 'logs'}")

    async def _add(self, state: _State, sha: str, colour: str, numbers: Iterable[int]) -> None:
        """Start sha's instances colour+number, each taking traffic (at its colour's weight) once healthy."""
        started = [self._start(sha, f"{colour}{n}", self._release_dir(sha)) for n in numbers]
        state.slots.extend(started)
        self._write_targets(state)
        await asyncio.gather(*(self._serve(state, slot) for slot in started))

    async def _replace(self, state: _State, plan: DeployPlan, weight: int) -> None:
        """A rolling step: as many new instances as weight's share of the environment's, as many old ones as are
        left (one at least until the promotion, for a rollback), every instance weighing the same: the traffic
        follows the instances."""
        n = self.environment.instances
        new, old = state.colours[plan.sha], state.colours[state.stable or ""]
        wanted = max(1, math.ceil(weight * n / 100))
        have = [s for s in state.slots if s.colour == new]
        names = {s.name for s in have}
        await self._add(state, plan.sha, new, [k for k in range(1, n + 1) if f"{new}{k}" not in names][
            :max(0, wanted - len(have))])
        for colour in (new, old):
            await self._weigh_colour(state, colour, 100)
        olds = [s for s in state.slots if s.colour == old]
        await self._retire(state, olds[:max(0, len(olds) - max(1, n - wanted))])

    async def _weigh(self, state: _State, sha: str, weight: int) -> None:
        colour = state.colours.get(sha)
        if colour is None:
            raise DeployError(f"{sha[:12]} is not running in {self.environment_name}; deploy it first")
        others = [c for c in state.colours.values() if c != colour]
        share = 100 if state.stable in (None, sha) else weight
        # The side gaining traffic first, so that no moment has every weight at 0.
        order = [(colour, share), *((c, 100 - share if c == state.colours.get(state.stable or "") else 0)
                                   for c in others)]
        if share < 50:
            order.reverse()
        for c, w in order:
            await self._weigh_colour(state, c, w)

    async def _weigh_colour(self, state: _State, colour: str, weight: int) -> None:
        """Every instance of colour at weight in haproxy, and remembered for the instances started later."""
        state.weights[colour] = weight
        runtime = haproxy.Runtime(self._socket)
        for slot in state.slots:
            if slot.colour == colour:
                await runtime.weigh(self.service.name, slot.name, weight)

    async def _clear_colour(self, state: _State, colour: str) -> None:
        """Take colour's slots out of haproxy (after their requests finish) and stop their processes."""
        await self._retire(state, [s for s in state.slots if s.colour == colour])
        state.weights.pop(colour, None)

    async def _retire(self, state: _State, going: list[_Slot]) -> None:
        """Take these slots out of haproxy (after their requests finish) and stop their processes."""
        if not going:
            return
        runtime = haproxy.Runtime(self._socket)
        for slot in going:
            await runtime.weigh(self.service.name, slot.name, 0)
        for _ in range(40):  # up to 2 s for requests in flight
            states = await runtime.states(self.service.name)
            if all(states.get(s.name, ("", 0))[1] == 0 for s in going):
                break
            await asyncio.sleep(0.05)
        for slot in going:
            await runtime.retire(self.service.name, slot.name)
        await asyncio.gather(*(stop(s.pid) for s in going))
        state.slots = [s for s in state.slots if s not in going]
        self._write_targets(state)

    @property
    def _socket(self) -> Path:
        # A unix socket's path is limited to ~100 bytes: a short name in the temp dir, unique per environment.
        digest = hashlib.sha256(str(self.state_dir.resolve()).encode()).hexdigest()[:16]
        return Path(tempfile.gettempdir()) / f"devops-orchestra-{digest}.sock"

    async def _ensure_infrastructure(self, state: _State) -> list[str]:
        """haproxy and Prometheus running (started, or restarted after dying); what was restarted."""
        restarted = []
        if not alive(state.haproxy_pid):
            restarted.append(await self._start_haproxy(state))
        if not alive(state.prometheus_pid):
            restarted.append(await self._start_prometheus(state))
        return [r for r in restarted if r]

    async def _start_haproxy(self, state: _State) -> str:
        home = self.state_dir / "haproxy"
        home.mkdir(parents=True, exist_ok=True)
        config = haproxy.ProxyConfig(
            backend=self.service.name, listen=state.listen, metrics=f"127.0.0.1:{state.metrics_port}",
            slots=self.environment.instances, health=self.service.health, socket=self._socket,
            pidfile=home / "haproxy.pid")
        (home / "haproxy.cfg").write_text(haproxy.render(config))
        self._socket.unlink(missing_ok=True)
        was = state.haproxy_pid
        state.haproxy_pid = spawn([haproxy.binary(), "-f", str(home / "haproxy.cfg")], cwd=home, log=home / "log")
        for _ in range(100):
            if self._socket.exists():
                break
            if not alive(state.haproxy_pid):
                raise DeployError(f"haproxy did not start for {self.environment_name} (listening on {state.listen}): "
                                  f"{tail(home / 'log')}. Is the port in use?")
            await asyncio.sleep(0.05)
        runtime = haproxy.Runtime(self._socket)
        for slot in state.slots:  # a restarted haproxy knows none of the instances still running
            if alive(slot.pid):
                await runtime.put(self.service.name, slot.name, slot.port)
                await runtime.weigh(self.service.name, slot.name, state.weights.get(slot.colour, 0))
        return f"haproxy (pid {was}) had died: restarted" if was else ""

    async def _start_prometheus(self, state: _State) -> str:
        home = self.state_dir / "prometheus"
        (home / "data").mkdir(parents=True, exist_ok=True)
        (home / "prometheus.yml").write_text(prometheus.render(
            haproxy_metrics=f"127.0.0.1:{state.metrics_port}", instances_file=home / "instances.json",
            interval_s=state.interval_s))
        self._write_targets(state)
        was = state.prometheus_pid
        state.prometheus_pid = spawn(
            [prometheus.binary(), f"--config.file={home / 'prometheus.yml'}", f"--storage.tsdb.path={home / 'data'}",
             f"--web.listen-address=127.0.0.1:{state.prometheus_port}", "--storage.tsdb.retention.time=1d"],
            cwd=home, log=home / "log")
        url = f"http://127.0.0.1:{state.prometheus_port}/-/ready"
        if not await wait_http(url, timeout_s=30, pid=state.prometheus_pid):
            raise DeployError(f"Prometheus did not start for {self.environment_name}: {tail(home / 'log')}")
        return f"Prometheus (pid {was}) had died: restarted" if was else ""

    def _write_targets(self, state: _State) -> None:
        home = self.state_dir / "prometheus"
        home.mkdir(parents=True, exist_ok=True)
        prometheus.write_instances(home / "instances.json", self.service.name, [
            Instance(name=s.name, version=s.sha, healthy=True, address=f"127.0.0.1:{s.port}") for s in state.slots])


def _rolls(plan: DeployPlan, state: _State) -> bool:
    """A rolling update replacing a running version (a first deploy has nothing to replace)."""
    return plan.strategy == "rolling" and state.stable not in (None, plan.sha) and state.stable in state.colours
