"""Golden tests of the lock file and manifest parsers: recorded inputs -> packages with exact lines.

Re-record after a deliberate change with `python -m tests.unit.scanners.deps.test_parsers` from the repository
root, then read the diff.
"""

import json
import re
import time
from pathlib import Path

import pytest

from devops_orchestra.core.workspace import SourceFile
from devops_orchestra.scanners.deps import parser_for, read_packages
from devops_orchestra.scanners.deps.common import LockfileError, Package
from devops_orchestra.scanners.deps.javascript import package_lock
from tests.helpers import GOLDEN as GOLDEN_ROOT

GOLDEN = GOLDEN_ROOT / "deps"
EXPECTED = GOLDEN / "expected.json"


def _inputs() -> list[str]:
    return sorted(p.relative_to(GOLDEN).as_posix() for p in GOLDEN.rglob("*") if p.is_file() and p != EXPECTED)


def _parse(rel: str) -> list[dict[str, object]]:
    parser = parser_for(rel)
    assert parser is not None, rel
    return [{"ecosystem": p.ecosystem, "name": p.name, "version": p.version, "line": p.line}
            for p in parser(rel, (GOLDEN / rel).read_text(encoding="utf-8"))]


@pytest.mark.parametrize("rel", _inputs())
def test_parser_matches_golden(rel: str) -> None:
    """Each recorded lock file or manifest parses to the recorded packages and lines."""
    assert _parse(rel) == json.loads(EXPECTED.read_text())[rel]


def _plain(text: str) -> str:
    return re.sub(r"[-_.]", "", text.lower())


@pytest.mark.parametrize("rel", _inputs())
def test_each_line_names_its_package(rel: str) -> None:
    """The line of every package holds its name."""
    lines = (GOLDEN / rel).read_text(encoding="utf-8").splitlines()
    for p in _parse(rel):
        text = lines[int(str(p["line"])) - 1]
        short = str(p["name"]).split(":")[-1].split("/")[-1]
        assert _plain(short) in _plain(text), (rel, p, text)


def test_golden_covers_every_format() -> None:
    """Every supported file name has a recorded example."""
    names = {Path(rel).name for rel in _inputs()}
    assert {"requirements-dev.txt", "poetry.lock", "uv.lock", "Pipfile.lock", "package-lock.json", "yarn.lock",
            "pnpm-lock.yaml", "go.sum", "pom.xml", "Gemfile.lock"} <= names


@pytest.mark.parametrize(("name", "content"), [
    ("package-lock.json", '{"packages": {"node_modules/a": {"version": "1.0.0"'),
    ("Pipfile.lock", "[1, 2"),
    ("poetry.lock", "[[package]\nname = "),
    ("uv.lock", "version = 1\n[[package]]\nname = 'x'\nversion = \n"),
    ("pnpm-lock.yaml", "packages:\n  a: [\n"),
    ("pom.xml", "<project><dependencies><dependency></project>"),
    ("go.sum", "just some words here and there\n"),
    ("Gemfile.lock", "this is not a lock file\n"),
    ("package-lock.json", '{"packages": {"node_modules/a": "not an object"}, "dependencies": 5}'),
    ("Pipfile.lock", '{"default": {"x": {"version": 5}}, "develop": []}'),
    ("package-lock.json", "\udcff"),
])
def test_malformed_file_is_a_warning(tmp_path: Path, name: str, content: str) -> None:
    """A lock file that does not parse is named in a warning; the others still count."""
    (tmp_path / name).write_text(content, encoding="utf-8", errors="surrogateescape")
    (tmp_path / "requirements.txt").write_text("django==3.2.4\n")
    files = [SourceFile(name, None, 1, False), SourceFile("requirements.txt", None, 1, False)]
    packages, warnings = read_packages(tmp_path, files)
    assert [p.name for p in packages] == ["django"]
    assert len(warnings) <= 1 and all(name in w for w in warnings)


def test_a_large_package_lock_parses_quickly() -> None:
    """10,000 packages (about 3 MB) with exact lines in well under a second."""
    entries = ",\n".join(
        f'    "node_modules/pkg-{i}": {{\n      "version": "1.0.{i}",\n      "integrity": "sha512-{"a" * 80}"\n    }}'
        for i in range(10_000))
    text = '{\n  "lockfileVersion": 3,\n  "packages": {\n' + entries + "\n  }\n}\n"
    started = time.perf_counter()
    found = package_lock("package-lock.json", text)
    elapsed = time.perf_counter() - started
    assert len(found) == 10_000
    assert found[0] == Package("npm", "pkg-0", "1.0.0", "package-lock.json", 4)
    assert found[-1].line == 4 + 4 * 9_999
    assert elapsed < 1.5, elapsed


def test_unparseable_raises_lockfile_error() -> None:
    """Parsers raise LockfileError, which read_packages turns into a warning."""
    with pytest.raises(LockfileError):
        package_lock("package-lock.json", "{")


if __name__ == "__main__":
    EXPECTED.write_text(json.dumps({rel: _parse(rel) for rel in _inputs()}, indent=1) + "\n")
    print(f"recorded {EXPECTED}")
