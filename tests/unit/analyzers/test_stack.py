"""Manifests, frameworks and entry points, read with real parsers; bad manifests become warnings."""

from pathlib import Path

from devops_orchestra.analyzers.stack import frameworks, read_manifests

PYPROJECT = """\
[project]
name = "payments"
dependencies = ["fastapi>=0.110,<1", "uvicorn[standard]==0.30.1", "asyncpg"]

[project.scripts]
payments-api = "payments.main:run"
"""

POM = """\
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <parent>
    <groupId>org.springframework.boot</groupId>
    <artifactId>spring-boot-starter-parent</artifactId>
    <version>3.3.1</version>
  </parent>
  <artifactId>ledger</artifactId>
  <dependencies>
    <dependency>
      <groupId>org.postgresql</groupId>
      <artifactId>postgresql</artifactId>
    </dependency>
  </dependencies>
</project>
"""


def test_manifests_of_four_ecosystems(tmp_path: Path) -> None:
    """Package managers, project names, dependency counts and declared entry points."""
    (tmp_path / "web").mkdir()
    (tmp_path / "web" / "yarn.lock").write_text("")
    stack = read_manifests(tmp_path, [
        ("pyproject.toml", PYPROJECT),
        ("web/package.json", '{"name": "shop-web", "scripts": {"start": "next start", "lint": "eslint"},\n'
                             ' "dependencies": {"next": "14.2.3", "react": "^18"}}'),
        ("svc/go.mod", "module example.com/svc\n\ngo 1.22\n\nrequire (\n\tgithub.com/gin-gonic/gin v1.10.0\n)\n"),
        ("ledger/pom.xml", POM),
        ("api/requirements.txt", "# pinned\nFlask==3.0.3\n-r base.txt\nredis>=5  # cache\n"),
    ])
    assert stack.warnings == []
    kinds = {m.path: (m.package_manager, m.name, m.dependencies) for m in stack.manifests}
    assert kinds == {
        "pyproject.toml": ("pip", "payments", 3),
        "web/package.json": ("yarn", "shop-web", 2),
        "svc/go.mod": ("go modules", "example.com/svc", 1),
        "ledger/pom.xml": ("maven", "ledger", 2),
        "api/requirements.txt": ("pip", None, 2),
    }
    assert stack.go_modules == {"example.com/svc": "svc"}
    found = {(f.name, f.version, f.path) for f in frameworks(stack.dependencies)}
    assert found == {
        ("FastAPI", ">=0.110,<1", "pyproject.toml"), ("Next.js", "14.2.3", "web/package.json"),
        ("React", "^18", "web/package.json"), ("Gin", "v1.10.0", "svc/go.mod"),
        ("Spring Boot", "3.3.1", "ledger/pom.xml"), ("Flask", "3.0.3", "api/requirements.txt"),
    }
    flask = next(d for d in stack.dependencies if d.name == "Flask")
    assert flask.where.line == 2
    entries = {(e.kind, e.name, e.command) for e in stack.entry_points}
    assert entries == {("console script", "payments-api", "payments.main:run"),
                       ("package script", "start", "next start")}


def test_setup_py_is_read_without_running_it(tmp_path: Path) -> None:
    """setup.py's literal arguments are read from its AST; the file is never executed."""
    marker = tmp_path / "ran"
    setup = (f"import pathlib\npathlib.Path({str(marker)!r}).write_text('x')\nfrom setuptools import setup\n"
             "setup(name='tool', install_requires=['click==8.1.7', 'django>=4.2'],\n"
             "      entry_points={'console_scripts': ['tool = tool.cli:main']})\n")
    stack = read_manifests(tmp_path, [("setup.py", setup)])
    assert not marker.exists()
    assert [(d.name, d.version) for d in stack.dependencies] == [("click", "8.1.7"), ("django", ">=4.2")]
    assert [e.name for e in stack.entry_points] == ["tool"]
    assert [f.name for f in frameworks(stack.dependencies)] == ["Django"]


def test_malformed_manifests_are_warnings_with_file_and_line(tmp_path: Path) -> None:
    stack = read_manifests(tmp_path, [
        ("a/package.json", '{\n  "name": "x",\n  "dependencies": {,}\n}'),
        ("b/pyproject.toml", "[project]\nname = \n"),
        ("c/pom.xml", "<project>\n<artifactId>x</artifact>\n</project>"),
        ("d/requirements.txt", "flask==3.0\n"),
    ])
    assert [w.split(":")[:2] for w in stack.warnings] == [["a/package.json", "3"], ["b/pyproject.toml", "2"],
                                                          ["c/pom.xml", "2"]]
    assert [m.path for m in stack.manifests] == ["d/requirements.txt"]
