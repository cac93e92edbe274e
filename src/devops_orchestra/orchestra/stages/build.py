"""build: what the deploy target needs, made from the tested commit in a release directory of its own (never in
the checkout): a virtual environment with the requirements (and the project, when it is a package), `npm ci` and
the build script, `go build`, `mvn package`; a container image when a Dockerfile is there and a builder answers
(docker or podman), otherwise it says so and points to the CI workflow that builds the image. A repository with
nothing to build is released as its files. The release directories of a repository beyond the newest
KEEP_RELEASES are removed (older ones stay for rollbacks until then)."""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
import shutil
import sys
from pathlib import Path

from devops_orchestra.agents.testing.suite import suite_environment
from devops_orchestra.core import proc
from devops_orchestra.core.errors import OrchestraError, ScannerFailed, ScannerTimeout, ScannerUnavailable
from devops_orchestra.core.paths import user_path
from devops_orchestra.models.events import BuildReady, Envelope, Payload
from devops_orchestra.orchestra.stages.base import Stage, StageContext, fork_code_refused

BUILD_TIMEOUT_S = 1800.0
KEEP_RELEASES = 10
DONE = ".devops-orchestra-build.json"  # written last: a release without it is half-built and made again
LEFT_OUT = frozenset({".git", ".venv", "venv", "node_modules", "__pycache__", ".pytest_cache", ".mypy_cache",
                      ".ruff_cache", ".tox", ".nox"})


def builds_root() -> Path:
    """Where release directories go: $DEVOPS_ORCHESTRA_BUILDS, else the user's cache."""
    return user_path("DEVOPS_ORCHESTRA_BUILDS", "XDG_CACHE_HOME", "builds")


class Build(Stage):
    name = "build"
    consumes = "test_results"
    publishes = "build_ready"

    async def handle(self, event: Envelope, context: StageContext) -> Payload:
        refused = fork_code_refused(context)
        if refused:  # nothing is built, and the deploy stage never deploys a fork anyway
            return BuildReady(artifact="", notes=[refused])
        slug = re.sub(r"[^\w.-]+", "_", event.repo).strip("._") or "repo"
        key = hashlib.sha256(context.effect_key.encode()).hexdigest()[:8]  # sha, configuration (and a dirty run)
        release = builds_root() / slug / f"{event.sha[:12]}-{key}"
        done = release / DONE
        if await asyncio.to_thread(done.is_file):  # built by an earlier delivery
            return BuildReady.model_validate_json(await asyncio.to_thread(done.read_text, "utf-8"))
        await asyncio.to_thread(_fresh_copy, context.checkout, release)
        ready = await build_release(release, f"{slug.rsplit('_', 1)[-1].lower()}:{event.sha[:12]}")
        await asyncio.to_thread(done.write_text, ready.model_dump_json(), "utf-8")
        await asyncio.to_thread(_prune, release.parent, release)
        return ready

    def summary(self, payload: Payload) -> str:
        assert isinstance(payload, BuildReady)
        if not payload.artifact:
            return "nothing built: " + "; ".join(payload.notes)
        made = ", ".join(payload.built) or "nothing to build: the release is the files"
        notes = f" ({'; '.join(payload.notes)})" if payload.notes else ""
        return f"{payload.kind} {payload.artifact}: {made}{notes}"


async def build_release(release: Path, image: str) -> BuildReady:
    """Build what release's files call for, in release; what was made and what was not (and why)."""
    built: list[str] = []
    notes: list[str] = []
    if (release / "package.json").is_file():
        built += await _node(release)
    if (release / "go.mod").is_file():
        await _step(release, ["go", "build", "-o", "bin/", "./..."])
        built.append("bin/ (go build)")
    if (release / "pom.xml").is_file():
        await _step(release, ["mvn", "-B", "-q", "package", "-DskipTests"])
        built += [str(p.relative_to(release)) for p in sorted((release / "target").glob("*.jar"))] or ["target/"]
    elif (release / "build.gradle").is_file() or (release / "build.gradle.kts").is_file():
        gradle = "./gradlew" if (release / "gradlew").is_file() else "gradle"
        await _step(release, [gradle, "build", "-x", "test"])
        built.append("build/libs/")
    if _is_python(release):
        built += await _python(release)
    result = BuildReady(artifact=str(release), release=str(release), built=built, notes=notes)
    if (release / "Dockerfile").is_file():
        return await _image(release, image, result)
    return result


async def _node(release: Path) -> list[str]:
    scripts = json.loads((release / "package.json").read_text(encoding="utf-8")).get("scripts") or {}
    locked = (release / "package-lock.json").is_file()
    await _step(release, ["npm", "ci" if locked else "install", "--no-audit", "--no-fund"])
    made = ["node_modules (npm ci)" if locked else "node_modules (npm install: no package-lock.json)"]
    if isinstance(scripts, dict) and "build" in scripts:
        await _step(release, ["npm", "run", "build"])
        made.append("npm run build")
    return made


def _is_python(release: Path) -> bool:
    markers = ("pyproject.toml", "setup.py", "requirements.txt")
    return any((release / m).is_file() for m in markers) or any(release.glob("*.py")) or any(release.glob("*/*.py"))


async def _python(release: Path) -> list[str]:
    python = shutil.which("python3") or sys.executable
    packaged = (release / "setup.py").is_file() or "[build-system]" in _read(release / "pyproject.toml")
    requirements = (release / "requirements.txt").is_file()
    if not packaged and not requirements:  # standard library only: a bare environment, in a tenth of the time
        await _step(release, [python, "-m", "venv", "--without-pip", ".venv"])
        return [".venv (standard library only)"]
    await _step(release, [python, "-m", "venv", ".venv"])
    pip = [str(release / ".venv" / "bin" / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    made = [".venv"]
    if requirements:
        await _step(release, [*pip, "-r", "requirements.txt"])
        made.append("requirements.txt installed")
    if packaged:
        await _step(release, [*pip, "."])
        made.append("the project installed (pip install .)")
    return made


async def _image(release: Path, image: str, result: BuildReady) -> BuildReady:
    builder = await _builder()
    if builder is None:
        workflows = await asyncio.to_thread(lambda: sorted(release.glob(".github/workflows/*.y*ml")))
        workflow = str(workflows[0].relative_to(release)) if workflows else None
        where = (f"the CI workflow {workflow} builds it" if workflow else
                 "generate_pipeline (or the plan stage with orchestra.plan_writes: true) writes a CI workflow that "
                 "builds and pushes it")
        return result.model_copy(update={"notes": [*result.notes, (
            f"no container image: no builder here (docker or podman answering); {where}")]})
    await _step(release, [builder, "build", "-t", image, "."])
    inspected = await proc.run([builder, "image", "inspect", "--format", "{{.Id}}", image], cwd=release,
                               timeout_s=60)
    digest = inspected.stdout.decode().strip() or None
    return result.model_copy(update={"artifact": image, "kind": "image", "digest": digest,
                                     "built": [*result.built, f"image {image} ({builder} build)"]})


async def _builder() -> str | None:
    """docker or podman, if one is installed and its engine answers."""
    for name in ("docker", "podman"):
        if shutil.which(name) is None:
            continue
        try:
            if (await proc.run([name, "info"], cwd=Path("/"), timeout_s=15)).returncode == 0:
                return name
        except (ScannerUnavailable, ScannerFailed, ScannerTimeout):
            continue
    return None


async def _step(release: Path, argv: list[str]) -> None:
    """One build command; an OrchestraError saying which and why when it fails (the worker retries the stage)."""
    try:
        # install scripts and build tools run the repository's code: without the worker's credentials
        done = await proc.run(argv, cwd=release, timeout_s=BUILD_TIMEOUT_S, env=suite_environment({}),
                              inherit_env=False)
    except ScannerUnavailable as exc:
        raise OrchestraError(f"cannot build {release.name}: {exc}; install it on the worker") from exc
    except (ScannerFailed, ScannerTimeout) as exc:
        raise OrchestraError(f"cannot build {release.name}: {exc}") from exc
    if done.returncode != 0:
        output = (done.stdout + done.stderr).decode("utf-8", "replace").strip()[-800:]
        raise OrchestraError(f"`{' '.join(argv[:4])}` failed (exit {done.returncode}) building {release}: {output}")


def _read(path: Path) -> str:
    return path.read_text(encoding="utf-8", errors="replace") if path.is_file() else ""


def _fresh_copy(checkout: Path, release: Path) -> None:
    shutil.rmtree(release, ignore_errors=True)  # half-built by a delivery that died
    release.parent.mkdir(parents=True, exist_ok=True)
    shutil.copytree(checkout, release, symlinks=True, ignore=lambda _d, names: {n for n in names if n in LEFT_OUT})


def _prune(releases: Path, keep: Path) -> None:
    """The newest KEEP_RELEASES release directories of a repository stay; older ones go."""
    ordered = sorted((p for p in releases.iterdir() if p.is_dir()), key=lambda p: p.stat().st_mtime, reverse=True)
    for old in ordered[KEEP_RELEASES:]:
        if old != keep:
            shutil.rmtree(old, ignore_errors=True)


STAGE = Build()
