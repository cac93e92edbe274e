"""`webhooks serve`: GitHub deliveries in (pipeline runs on the bus), results out to GitHub and Slack.

With the default bus (memory://) the pipeline runs in this process, as `submit` does; with redis:// the workers
elsewhere run it (`--worker` runs one here too)."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from devops_orchestra.cli.orchestra import _add_bus_argument, _add_load_argument, _stages

if TYPE_CHECKING:
    from devops_orchestra.chatops.commands import DeployActions
    from devops_orchestra.chatops.github import GitHubSettings
    from devops_orchestra.chatops.slack import SlackSettings
    from devops_orchestra.orchestra.bus.base import Bus

SECRET_ENV = "DEVOPS_ORCHESTRA_WEBHOOK_SECRET"
GITHUB_URL_ENV = "DEVOPS_ORCHESTRA_GITHUB_URL"
GITHUB_TOKEN_ENV = "DEVOPS_ORCHESTRA_GITHUB_TOKEN"
GITHUB_APP_ENV = "DEVOPS_ORCHESTRA_GITHUB_APP_ID"
GITHUB_KEY_ENV = "DEVOPS_ORCHESTRA_GITHUB_APP_KEY"
SLACK_TOKEN_ENV = "DEVOPS_ORCHESTRA_SLACK_BOT_TOKEN"
SLACK_SECRET_ENV = "DEVOPS_ORCHESTRA_SLACK_SIGNING_SECRET"
SLACK_URL_ENV = "DEVOPS_ORCHESTRA_SLACK_URL"


def add_webhooks(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """The webhooks command: serve GitHub's webhooks (and Slack's commands) and report results."""
    p = sub.add_parser("webhooks", help="serve GitHub webhooks: each push or pull request runs the pipeline")
    actions = p.add_subparsers(dest="action", required=True)
    s = actions.add_parser("serve", help="listen for GitHub deliveries on /github (and Slack on /slack/...)")
    s.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    s.add_argument("--port", type=int, default=8080, help="port (default 8080)")
    s.add_argument("--secret-file", type=Path, default=None, metavar="FILE",
                   help=f"the webhook secret (default ${SECRET_ENV})")
    s.add_argument("--repo-map", action="append", default=[], metavar="OWNER/NAME=PATH_OR_URL",
                   help="fetch this repository from a mirror or local path instead of its clone_url (repeatable)")
    s.add_argument("--poll", action="append", default=[], metavar="OWNER/NAME[@BRANCH]",
                   help="also watch a repository without a webhook: its branch head is fetched every --every")
    s.add_argument("--every", default="5m", metavar="DURATION",
                   help="polling period, also of the reconcile of branches seen through webhooks (default 5m)")
    s.add_argument("--stages", default=None, help="comma-separated subset of stages to run (default: all)")
    s.add_argument("--worker", action=argparse.BooleanOptionalAction, default=None,
                   help="run the stages in this process (default: yes with memory://, no with redis://)")
    g = s.add_argument_group("results on GitHub (check runs, one PR comment, commit statuses, SARIF)")
    g.add_argument("--github-url", default=None, metavar="URL",
                   help=f"the API (default ${GITHUB_URL_ENV}, else https://api.github.com)")
    g.add_argument("--github-token-file", type=Path, default=None, metavar="FILE",
                   help=f"a token that may write checks (default ${GITHUB_TOKEN_ENV})")
    g.add_argument("--github-app-id", default=None, metavar="ID", help=f"a GitHub App (default ${GITHUB_APP_ENV})")
    g.add_argument("--github-app-key", type=Path, default=None, metavar="FILE",
                   help=f"the App's private key, PEM (default ${GITHUB_KEY_ENV}, the PEM itself)")
    k = s.add_argument_group("Slack (a thread per run, /orchestra commands on /slack/commands, approval buttons "
                             "on /slack/actions)")
    k.add_argument("--slack-token-file", type=Path, default=None, metavar="FILE",
                   help=f"the bot token, xoxb-... (default ${SLACK_TOKEN_ENV})")
    k.add_argument("--slack-signing-secret-file", type=Path, default=None, metavar="FILE",
                   help=f"the app's signing secret (default ${SLACK_SECRET_ENV})")
    k.add_argument("--slack-channel", default=None, metavar="CHANNEL",
                   help="for repositories whose devops_orchestra.yaml has no chatops section, and approvals")
    k.add_argument("--deploy-from", type=Path, default=None, metavar="PATH",
                   help="enable /orchestra deploy and rollback: the checkout whose devops_orchestra.yaml names the "
                        "services and environments, and where refs are resolved")
    k.add_argument("--slack-url", default=None, metavar="URL", help=f"the Web API (default ${SLACK_URL_ENV}, "
                                                                    "else https://slack.com/api/)")
    _add_bus_argument(s)
    _add_load_argument(s)
    s.set_defaults(handler=_serve)


def _serve(args: argparse.Namespace) -> int:
    from devops_orchestra.core import logs
    from devops_orchestra.core.errors import OrchestraError
    from devops_orchestra.gitops.secrets import REDACT, read_secret

    secret = read_secret(SECRET_ENV, args.secret_file)
    if secret is None:
        raise OrchestraError(f"no webhook secret: set ${SECRET_ENV} or give --secret-file FILE, with the secret "
                             "entered in the GitHub webhook's settings (every delivery is checked against it).")
    REDACT.add(secret)
    github, slack = _github_settings(args), _slack_settings(args)
    logs.configure("INFO")
    from devops_orchestra.cli.orchestra import _on_bus

    return _on_bus(args.bus, lambda bus: _run(bus, args, secret, github, slack))


def _slack_settings(args: argparse.Namespace) -> SlackSettings:
    from devops_orchestra.chatops.slack import API, SlackSettings
    from devops_orchestra.core.errors import OrchestraError
    from devops_orchestra.gitops.secrets import REDACT, read_secret

    token = read_secret(SLACK_TOKEN_ENV, args.slack_token_file)
    signing = read_secret(SLACK_SECRET_ENV, args.slack_signing_secret_file)
    if bool(token) != bool(signing):
        raise OrchestraError(f"Slack needs both its bot token (${SLACK_TOKEN_ENV} or --slack-token-file) and its "
                             f"signing secret (${SLACK_SECRET_ENV} or --slack-signing-secret-file), from the app's "
                             "Basic Information and OAuth pages.")
    REDACT.add(token, signing)
    return SlackSettings(bot_token=token, signing_secret=signing, channel=args.slack_channel,
                         base_url=args.slack_url or os.environ.get(SLACK_URL_ENV) or API)


def deploy_actions(args: argparse.Namespace) -> DeployActions | None:
    """What /orchestra deploy and rollback do: deploys from the --deploy-from checkout, else none (the command
    then answers that deploys are not enabled on this server)."""
    if args.deploy_from is None:
        return None
    from devops_orchestra.chatops.deploys import CheckoutDeploys
    from devops_orchestra.core.errors import OrchestraError
    from devops_orchestra.core.store import open_store
    from devops_orchestra.deploy.rollout import config_at

    root = args.deploy_from.resolve()
    try:
        config_at(root)  # at start: a missing or broken configuration is said now, not at the first /orchestra
    except OrchestraError as exc:
        raise OrchestraError(f"--deploy-from {args.deploy_from}: {exc}") from None
    return CheckoutDeploys(root, open_store())


def _github_settings(args: argparse.Namespace) -> GitHubSettings:
    from devops_orchestra.chatops.github import API, GitHubSettings
    from devops_orchestra.core.errors import OrchestraError
    from devops_orchestra.gitops.secrets import REDACT, read_secret

    token = read_secret(GITHUB_TOKEN_ENV, args.github_token_file)
    app_id = args.github_app_id or os.environ.get(GITHUB_APP_ENV) or None
    key = read_secret(GITHUB_KEY_ENV, args.github_app_key)
    if bool(app_id) != bool(key):
        raise OrchestraError("a GitHub App needs both its id (--github-app-id or $" + GITHUB_APP_ENV + ") and its "
                             "private key (--github-app-key FILE or $" + GITHUB_KEY_ENV + ").")
    REDACT.add(token, key)
    return GitHubSettings(token=token, app_id=app_id, private_key=key,
                          base_url=args.github_url or os.environ.get(GITHUB_URL_ENV) or API)


async def _run(bus: Bus, args: argparse.Namespace, secret: str, github: GitHubSettings,
               slack: SlackSettings) -> int:
    import uvicorn

    from devops_orchestra.chatops.checks import GitHubReporter
    from devops_orchestra.chatops.commands import SlackEndpoints
    from devops_orchestra.chatops.follow import Follower, Sink
    from devops_orchestra.chatops.github import GitHubClients
    from devops_orchestra.chatops.slack import SlackNotifier
    from devops_orchestra.core.store import open_store
    from devops_orchestra.gitops import poll
    from devops_orchestra.gitops.app import webhook_app
    from devops_orchestra.gitops.intake import Intake, source_map
    from devops_orchestra.orchestra import stages
    from devops_orchestra.orchestra.worker import Worker

    known = stages.load(args.load)  # imported now, not on the first delivery
    chosen = _stages(args.stages)
    stages.pipeline(known, chosen)  # a --stages that does not chain fails here, not on each delivery
    repo_map = source_map(args.repo_map)
    every = poll.duration(args.every)
    polled = [poll.target(spec, repo_map) for spec in args.poll]
    intake = Intake(bus, secret, repo_map, chosen, args.load, in_process=bus.url.startswith("memory:"))

    def watched() -> list[poll.Target]:
        seen = [poll.Target(repo, source, ref) for (repo, ref), source in intake.seen.items()
                if not ref.startswith("pull/")]
        return list(dict.fromkeys(polled + seen))

    stop = asyncio.Event()
    tasks = []
    if args.worker or (args.worker is None and bus.url.startswith("memory:")):
        tasks.append(asyncio.create_task(Worker(bus, known, block_s=0.2).run(stop)))
    tasks.append(asyncio.create_task(poll.poll_forever(bus, watched, every, stop, chosen, args.load)))  # and reconcile
    sinks: list[Sink] = []
    if github.configured:
        reporter = GitHubReporter(GitHubClients(github), bus, await asyncio.to_thread(open_store))
        sinks.append(reporter)
        intake.finished_before = reporter.update
    routes = []
    if slack.configured:
        notifier = SlackNotifier(slack, bus)
        sinks.append(notifier)
        tasks.append(asyncio.create_task(notifier.announce_approvals(stop)))
        routes = SlackEndpoints(bus, str(slack.signing_secret), deploy_actions(args)).routes()
    if sinks:
        tasks.append(asyncio.create_task(Follower(bus, sinks).run(stop)))
    app = webhook_app(intake, routes)
    server = uvicorn.Server(uvicorn.Config(app, host=args.host, port=args.port, log_level="warning", access_log=False))
    print(f"webhooks: POST http://{args.host}:{args.port}/github on {bus.url}"
          + (f"; polling {', '.join(args.poll)} every {args.every}" if polled else "")
          + f"; reporting to {', '.join(type(s).__name__ for s in sinks) or 'nobody (no GitHub or Slack credentials)'}",
          file=sys.stderr, flush=True)
    try:
        await server.serve()  # until SIGTERM or Ctrl-C
    finally:
        await intake.close()
        stop.set()
        await asyncio.gather(*tasks, return_exceptions=True)
    return 0
