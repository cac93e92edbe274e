"""GitHub API clients through githubkit: a token, or a GitHub App (a JWT signed with its private key, exchanged for
an installation token per repository; githubkit keeps the token and fetches a new one a minute before it
expires). Every call is retried on 5xx with exponential backoff and on rate limits after `Retry-After`."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from githubkit import AppAuthStrategy, AppInstallationAuthStrategy, GitHub, TokenAuthStrategy
from githubkit.exception import GitHubException, RateLimitExceeded, RequestFailed
from githubkit.retry import RetryOption
from githubkit.typing import RetryDecisionFunc

from devops_orchestra.core.errors import OrchestraError

API = "https://api.github.com"
Client = GitHub[Any]


@dataclass(frozen=True)
class GitHubSettings:
    token: str | None = None
    app_id: str | None = None
    private_key: str | None = None  # the App's PEM
    base_url: str = API  # GitHub Enterprise: https://HOST/api/v3
    retries: int = 3
    backoff_s: float = 1.0  # 5xx: 1, 2, 4 s
    max_wait_s: float = 120.0  # a rate limit resetting later than this is not waited for

    @property
    def configured(self) -> bool:
        return bool(self.token or (self.app_id and self.private_key))


def retry_policy(settings: GitHubSettings) -> RetryDecisionFunc:
    def decide(exc: GitHubException, count: int) -> RetryOption:
        if count >= settings.retries:
            return RetryOption(False)
        if isinstance(exc, RateLimitExceeded):  # secondary limits carry Retry-After; primary ones a reset time
            wait = exc.retry_after.total_seconds()
            return RetryOption(wait <= settings.max_wait_s, timedelta(seconds=max(wait, 0.0)))
        if isinstance(exc, RequestFailed) and exc.response.status_code >= 500:
            return RetryOption(True, timedelta(seconds=settings.backoff_s * 2**count))
        return RetryOption(False)

    return decide


@dataclass
class GitHubClients:
    """One client per installation (App) or one for all (token)."""

    settings: GitHubSettings
    _clients: dict[str, Client] = field(default_factory=dict)

    def _new(self, auth: TokenAuthStrategy | AppAuthStrategy | AppInstallationAuthStrategy) -> Client:
        return GitHub(auth, base_url=self.settings.base_url, auto_retry=retry_policy(self.settings),
                      http_cache=False, user_agent="devops-orchestra", timeout=30.0)

    async def for_repo(self, owner: str, repo: str) -> Client:
        s = self.settings
        if s.token:
            return self._clients.setdefault("", self._new(TokenAuthStrategy(s.token)))
        if not (s.app_id and s.private_key):
            raise OrchestraError("GitHub is not configured: set DEVOPS_ORCHESTRA_GITHUB_TOKEN, or "
                                 "DEVOPS_ORCHESTRA_GITHUB_APP_ID with --github-app-key FILE.")
        app = AppAuthStrategy(s.app_id, s.private_key)
        key = f"{owner}/{repo}".lower()
        if key not in self._clients:
            as_app = self._clients.setdefault("app", self._new(app))
            found = await as_app.rest.apps.async_get_repo_installation(owner, repo)
            self._clients[key] = self._new(app.as_installation(int(found.json()["id"])))
        return self._clients[key]
