"""Where a stage reads a repository: a local path in place (read-only), or a clone URL checked out at the sha
in a bounded cache: one mirror per repository (fetched under a lock per repository, so workers of one machine
never fetch it at once) and a checkout per sha beside it, the least recently used evicted past the limit."""

from __future__ import annotations

import asyncio
import fcntl
import hashlib
import os
import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

import git

from devops_orchestra.core.errors import OrchestraError, PathError
from devops_orchestra.core.paths import user_path

SCHEMES = ("https", "http", "ssh", "git", "file")
SCP_LIKE = re.compile(r"^[\w.-]+@[\w.-]+:[\w./~-]+$")  # git@github.com:owner/name.git
SHA = re.compile(r"^[0-9a-f]{40}$")


def is_url(source: str) -> bool:
    return "://" in source or bool(SCP_LIKE.match(source))


def check_url(url: str) -> str:
    """url if git may fetch it: a plain transport (no ext::, no option-like text)."""
    if url.startswith("-") or not (urlsplit(url).scheme in SCHEMES or SCP_LIKE.match(url)):
        raise OrchestraError(f"{url!r} is not a clone URL we fetch: use https://, ssh://, git://, file:// or "
                             "git@host:owner/name.git.")
    return url


def repo_name(source: str) -> str:
    """owner/name from a URL, or a local directory's name."""
    if not is_url(source):
        return Path(source).name
    path = urlsplit(source).path if "://" in source else source.split(":", 1)[1]
    parts = [p for p in path.removesuffix(".git").split("/") if p]
    return "/".join(parts[-2:]) or source


def cache_root() -> Path:
    return user_path("DEVOPS_ORCHESTRA_WORKSPACES", "XDG_CACHE_HOME", "workspaces")


def max_checkouts() -> int:
    return int(os.environ.get("DEVOPS_ORCHESTRA_WORKSPACES_MAX", "16"))


async def checkout(source: str, sha: str) -> Path:
    """The repository at sha: a local path as it is, or the cache's checkout of the URL at sha."""
    if not is_url(source):
        if not await asyncio.to_thread(Path(source).is_dir):
            raise PathError(f"{source} is gone: the run was submitted from a local path that no longer exists.")
        return Path(source)
    return await asyncio.to_thread(WorkspaceCache().checkout, source, sha)


class WorkspaceCache:
    def __init__(self, root: Path | None = None, limit: int | None = None) -> None:
        self.root = root or cache_root()
        self.limit = limit or max_checkouts()

    def _key(self, url: str) -> str:
        return hashlib.sha256(url.encode()).hexdigest()[:16]

    @contextmanager
    def _locked(self, url: str) -> Iterator[None]:
        """One fetch at a time per repository, across the processes of this machine."""
        locks = self.root / "locks"
        locks.mkdir(parents=True, exist_ok=True)
        with open(locks / f"{self._key(url)}.lock", "w") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def _mirror(self, url: str) -> git.Repo:
        """The repository's mirror, cloned or fetched now. Call under the lock."""
        path = self.root / "mirrors" / f"{self._key(url)}.git"
        try:
            if not path.exists():
                return git.Repo.clone_from(check_url(url), path, mirror=True)
            mirror = git.Repo(path)
            mirror.git.fetch("--prune", "--quiet", "origin")
            return mirror
        except git.GitCommandError as exc:
            raise OrchestraError(f"cannot fetch {url}: {exc.stderr.strip() or exc}. Check the URL and that this "
                                 "machine may read it.") from exc

    def resolve(self, url: str, ref: str | None) -> tuple[str, str]:
        """(ref, sha) of ref in the repository at url (its default branch when None), fetched now. Blocking."""
        if ref is not None and (not ref or ref.startswith("-")):
            raise OrchestraError(f"{ref!r} is not a git ref: give a branch, tag or commit.")
        with self._locked(url):
            mirror = self._mirror(url)
            try:
                name = ref or mirror.git.symbolic_ref("--short", "HEAD")
                return name, mirror.git.rev_parse("--verify", "--quiet", f"{name}^{{commit}}")
            except git.GitCommandError as exc:
                raise OrchestraError(f"{url} has no branch, tag or commit {ref!r}.") from exc

    def checkout(self, url: str, sha: str) -> Path:
        """A checkout of url at sha, made once and reused. Blocking."""
        if not SHA.match(sha):
            raise OrchestraError(f"{sha!r} is not a full commit sha.")
        dest = self.root / "checkouts" / f"{self._key(url)}-{sha[:16]}"
        with self._locked(url):
            if not (dest / ".git").exists():
                mirror = git.Repo(self.root / "mirrors" / f"{self._key(url)}.git") if (
                    self.root / "mirrors" / f"{self._key(url)}.git").exists() else self._mirror(url)
                if not _has(mirror, sha):
                    mirror = self._mirror(url)
                if not _has(mirror, sha):
                    raise OrchestraError(f"{url} has no commit {sha}: was it force-pushed away?")
                shutil.rmtree(dest, ignore_errors=True)  # a half-made one from a worker that died
                tree = git.Repo.clone_from(str(mirror.git_dir), dest, no_checkout=True, shared=True)
                tree.git.checkout("--quiet", "--detach", sha)
            os.utime(dest)
            self._evict(keep=dest)
        return dest

    def _evict(self, keep: Path) -> None:
        checkouts = sorted((p for p in (self.root / "checkouts").iterdir() if p != keep),
                           key=lambda p: p.stat().st_mtime, reverse=True)
        for old in checkouts[self.limit - 1:]:
            shutil.rmtree(old, ignore_errors=True)


def _has(repo: git.Repo, sha: str) -> bool:
    try:
        repo.git.cat_file("-e", f"{sha}^{{commit}}")
    except git.GitCommandError:
        return False
    return True
