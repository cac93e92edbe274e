"""`submit`, `worker`, `runs` and `bus`: the orchestra from a shell. Every one takes --bus
(default $DEVOPS_ORCHESTRA_BUS, else memory://, this process with its state in a local SQLite file)."""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, TypeVar

from devops_orchestra.cli import output

if TYPE_CHECKING:
    from devops_orchestra.models.orchestra import PipelineRun
    from devops_orchestra.orchestra.bus.base import Bus

T = TypeVar("T")


def _add_bus_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--bus", metavar="URL", default=None,
                        help="memory:// (default; memory:///abs/state.sqlite), or redis://HOST:6379/0; "
                             "default $DEVOPS_ORCHESTRA_BUS")


def _add_load_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--load", metavar="MODULE", action="append", default=[],
                        help="also load the stage defined by this importable module (it sets STAGE); repeatable")


def add_submit(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """The submit command: run the pipeline for a commit."""
    p = sub.add_parser("submit", help="run the orchestra's pipeline for a commit of a local repository or a URL")
    p.add_argument("source", metavar="PATH_OR_URL", nargs="?", default=".")
    p.add_argument("--ref", default=None, help="branch, tag or commit (default: the current branch / the default one)")
    p.add_argument("--stages", default=None, help="comma-separated subset, e.g. analysis (default: all)")
    p.add_argument("--wait", action="store_true", help="follow the run until it ends, printing each stage")
    output.add_format_argument(p)
    _add_bus_argument(p)
    _add_load_argument(p)
    p.set_defaults(handler=_submit)


def add_worker(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """The worker command: consume the stages' topics until SIGTERM."""
    p = sub.add_parser("worker", help="run the orchestra's stages for what is submitted to the bus, until SIGTERM")
    p.add_argument("--stages", default=None, help="comma-separated stages to consume, e.g. analysis (default: all)")
    p.add_argument("--concurrency", type=int, default=2, help="deliveries in hand at once (default 2)")
    p.add_argument("--lease", type=float, default=None, metavar="SECONDS",
                   help="renewal period of what a worker holds (default 15); a silent worker's work moves within 2x")
    _add_bus_argument(p)
    _add_load_argument(p)
    p.set_defaults(handler=_worker)


def add_runs(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """The runs command: the pipeline runs on the bus, or one of them."""
    p = sub.add_parser("runs", help="the orchestra's pipeline runs (`runs show RUN_ID` for one)")
    p.add_argument("action", nargs="?", choices=["show"], help="show one run")
    p.add_argument("run_id", nargs="?", metavar="RUN_ID")
    p.add_argument("--limit", type=int, default=50, metavar="N", help="list the newest N runs (default 50)")
    output.add_format_argument(p)
    _add_bus_argument(p)
    p.set_defaults(handler=_runs)


def add_bus(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """The bus command: streams, consumer groups, lag, pending and dead letters."""
    p = sub.add_parser("bus", help="the bus: topics, consumer groups (lag, pending) and dead letters")
    p.add_argument("action", choices=["status"])
    output.add_format_argument(p)
    _add_bus_argument(p)
    p.set_defaults(handler=_bus_status)


def _on_bus(url: str | None, work: Callable[[Bus], Awaitable[T]]) -> T:
    """work(bus) on the bus at url, closed after; an unreachable bus is one line saying what to do."""
    from devops_orchestra.core.errors import OrchestraError
    from devops_orchestra.orchestra.bus import ENV, open_bus, public_url

    async def go() -> T:
        bus = open_bus(url)
        try:
            return await work(bus)
        finally:
            await bus.close()

    try:
        return asyncio.run(go())
    except OrchestraError:
        raise
    except _unreachable() as exc:
        shown = public_url(url or os.environ.get(ENV) or "memory://")
        raise OrchestraError(f"cannot reach the bus at {shown}: {exc}. Start it, or give another --bus "
                             f"(or ${ENV}).") from exc


def _unreachable() -> tuple[type[BaseException], ...]:
    try:
        from redis.exceptions import ConnectionError, TimeoutError
    except ImportError:
        return (OSError,)
    return (OSError, ConnectionError, TimeoutError)


def _stages(text: str | None) -> list[str] | None:
    return [s.strip() for s in text.split(",") if s.strip()] if text else None


def _submit(args: argparse.Namespace) -> int:
    from devops_orchestra.orchestra import submit
    from devops_orchestra.orchestra.runs import RunBook
    from devops_orchestra.orchestra.worker import watch

    in_process = (args.bus or os.environ.get("DEVOPS_ORCHESTRA_BUS") or "memory://").startswith("memory:")
    say = print if args.format == "text" else (lambda *a, **k: None)

    async def work(bus: Bus) -> PipelineRun:
        commit = await submit.find_commit(args.source, args.ref)
        run, created = await submit.submit(bus, commit, _stages(args.stages), args.load)
        dirty = " (uncommitted changes included)" if commit.dirty else ""
        say(f"run {run.run_id}: {run.repo} {run.ref} {run.sha[:12]}{dirty}"
            + ("" if created else f" — submitted before; it is {run.state}"))
        if in_process and not run.finished:  # memory:// has no worker outside this process: work it here
            return await submit.run_here(bus, run.run_id, _printer(say), modules=args.load)
        if args.wait or run.finished:
            first = run.stages[0].name
            if not run.finished and not any(g.group == first and g.consumers for g in (await bus.status()).groups):
                print(f"no worker has read the {first} stage's events on {bus.url} yet: start one with "
                      f"`devops-orchestra worker --bus {bus.url}`; waiting for it", file=sys.stderr)
            return await watch(RunBook(bus), run.run_id, _printer(say))
        say("queued: follow it with `devops-orchestra runs show " + run.run_id + "`")
        return run

    run = _on_bus(args.bus, work)
    if args.format == "json":
        output.print_report(run, "json", str)
    elif run.finished:
        print(f"{run.state}" + (f": {run.gate.gate}: {run.gate.reason}" if run.gate else "")
              + (f": {run.error}" if run.error else ""))
    return 1 if run.state in ("failed", "stopped by gate") else 0


def _printer(say: Callable[..., None]) -> Callable[[PipelineRun], Awaitable[None]]:
    """A watcher printing each stage as its state changes."""
    shown: dict[str, str] = {}

    async def on_change(run: PipelineRun) -> None:
        for s in run.stages:
            if shown.get(s.name) != s.state and s.state != "waiting":
                shown[s.name] = s.state
                say(f"  {s.name:<10} {s.state}" + (f": {s.summary}" if s.summary else "")
                    + (f" ({s.error})" if s.error else ""), flush=True)

    return on_change


def _worker(args: argparse.Namespace) -> int:
    from devops_orchestra.orchestra import stages
    from devops_orchestra.orchestra.worker import DEFAULT_LEASE_S, Worker

    if args.concurrency < 1:
        from devops_orchestra.core.errors import OrchestraError

        raise OrchestraError("--concurrency must be 1 or more.")
    known = stages.load(args.load)
    consume = [s.name for s in stages.pipeline(known, _stages(args.stages))] if args.stages else None

    async def work(bus: Bus) -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):  # stop reading, finish the stages in hand, exit 0
            loop.add_signal_handler(sig, stop.set)
        worker = Worker(bus, known, consume=consume, concurrency=args.concurrency,
                        lease_s=args.lease or DEFAULT_LEASE_S)
        print(f"worker {worker.consumer}: {', '.join(s.name for s in worker.mine)} on {bus.url}, "
              f"concurrency {args.concurrency}", file=sys.stderr, flush=True)
        await worker.run(stop)

    from devops_orchestra.core import logs

    logs.configure("INFO")
    _on_bus(args.bus, work)
    return 0


def _runs(args: argparse.Namespace) -> int:
    from devops_orchestra.core.errors import OrchestraError
    from devops_orchestra.models.orchestra import PipelineRuns
    from devops_orchestra.orchestra.runs import RunBook

    if args.action == "show":
        if not args.run_id:
            raise OrchestraError("runs show needs a RUN_ID: `devops-orchestra runs` lists them.")
        run = _on_bus(args.bus, lambda bus: RunBook(bus).require(args.run_id))
        output.print_report(run, args.format, _run_text)
        return 0
    if args.limit < 1:
        raise OrchestraError("--limit must be 1 or more: the number of the newest runs to list.")
    runs = _on_bus(args.bus, lambda bus: RunBook(bus).newest(args.limit))
    output.print_report(PipelineRuns(runs=runs, limit=args.limit), args.format, _runs_text)
    return 0


def _runs_text(listing: object) -> str:
    from devops_orchestra.models.orchestra import PipelineRuns

    assert isinstance(listing, PipelineRuns)
    if not listing.runs:
        return "No pipeline runs on this bus yet: `devops-orchestra submit .` starts one."
    lines = [f"{'run':<13}{'state':<17}{'repo@ref':<32}{'sha':<14}{'created':<21}stages"]
    for r in listing.runs:
        stages = " ".join(f"{s.name}:{s.state}" for s in r.stages)
        lines.append(f"{r.run_id:<13}{r.state:<17}{(r.repo + '@' + r.ref)[:30]:<32}{r.sha[:12]:<14}"
                     f"{r.created_at:%Y-%m-%d %H:%M:%S}  {stages}")
    if len(listing.runs) >= listing.limit:
        lines.append(f"(the newest {listing.limit}: --limit N lists more)")
    return "\n".join(lines)


def _run_text(run: PipelineRun) -> str:
    lines = [f"run {run.run_id}: {run.state}", f"  {run.repo} {run.ref} {run.sha} from {run.source}"
             + (" (uncommitted changes included)" if run.dirty else "")]
    if run.gate:
        lines.append(f"  stopped by gate {run.gate.gate}: {run.gate.reason}")
    if run.superseded_by:
        lines.append(f"  superseded by {run.superseded_by}")
    if run.error:
        lines.append(f"  error: {run.error}")
    for s in run.stages:
        took = f" in {(s.finished_at - s.started_at).total_seconds():.1f} s" if s.started_at and s.finished_at else ""
        lines.append(f"  {s.name:<10} {s.state}{took}, attempts {s.attempts}" + (f": {s.summary}" if s.summary else "")
                     + (f" [report {s.report_run_id}]" if s.report_run_id else "")
                     + (f" ({s.error})" if s.error else ""))
    return "\n".join(lines)


def _bus_status(args: argparse.Namespace) -> int:
    from devops_orchestra.orchestra.bus.base import BusStatus

    def text(status: BusStatus) -> str:
        lines = [f"{status.engine} bus at {status.url}", "topics: " + (", ".join(
            f"{t} {n}" for t, n in sorted(status.topics.items())) or "none yet")]
        lines += [f"  group {g.group} on {g.topic}: {g.consumers} consumers, lag {g.lag}, pending {g.pending}"
                  for g in status.groups]
        dead = {t: n for t, n in status.dead_letters.items() if n}
        lines.append("dead letters: " + (", ".join(f"{t} {n}" for t, n in sorted(dead.items())) or "none"))
        if status.engine == "memory":
            lines.append("(memory:// streams live inside the process that runs them; runs and leases are shared)")
        return "\n".join(lines)

    status = _on_bus(args.bus, lambda bus: bus.status())
    output.print_report(status, args.format, text)
    return 0
