"""The test suite's own layout: test modules share code through tests/helpers.py (and the local servers standing in
for outside services, tests/fakes/), never through each other."""

import ast
from pathlib import Path

from tests.helpers import REPO

TESTS = REPO / "tests"
SHARED = "tests.helpers"
FAKES = "tests.fakes."  # servers speaking an outside API's wire format (Kubernetes), too big for helpers.py


def _python_files() -> list[Path]:
    return sorted(TESTS.rglob("*.py"))


def _imports_of_tests(path: Path) -> list[str]:
    """Every module under tests/ that `path` imports (relative imports named as written), with its line."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level:
            names = ["." * node.level + (node.module or "")]
        elif isinstance(node, ast.ImportFrom) and node.module == "tests":
            names = [f"tests.{alias.name}" for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module]
        else:
            continue
        found += [f"{name} (line {node.lineno})" for name in names if name.split(".")[0] in ("tests", "")]
    return found


def test_only_helpers_are_imported_across_test_modules() -> None:
    """A test module that imports another couples their fates; what both need belongs in tests/helpers.py."""
    wrong = {
        str(path.relative_to(REPO)): bad
        for path in _python_files()
        if (bad := [i for i in _imports_of_tests(path)
                    if i.split(" ")[0] != SHARED and not i.startswith(FAKES)])
    }
    assert wrong == {}, f"import shared code from {SHARED} only: {wrong}"


def test_the_check_sees_every_way_of_importing_a_test_module(tmp_path: Path) -> None:
    source = ("from tests.unit.core.test_proc import x\nimport tests.test_sarif\nfrom tests import conftest\n"
              "from .test_osv import y\nfrom tests.helpers import write\nfrom devops_orchestra import cli\n")
    path = tmp_path / "test_sample.py"
    path.write_text(source)
    assert _imports_of_tests(path) == [
        "tests.unit.core.test_proc (line 1)", "tests.test_sarif (line 2)", "tests.conftest (line 3)",
        ".test_osv (line 4)", "tests.helpers (line 5)"]


def test_every_folder_of_tests_is_a_package() -> None:
    """With an __init__.py in each, two test files may share a name in different folders without colliding."""
    folders = {path.parent for path in TESTS.rglob("test_*.py")}
    assert folders and all((folder / "__init__.py").is_file() for folder in folders | {TESTS}), sorted(
        str(f.relative_to(REPO)) for f in folders if not (f / "__init__.py").is_file())


def test_conftest_holds_only_fixtures() -> None:
    """Everything at the top of conftest.py is an import or a fixture (constants and helpers go to helpers.py)."""
    tree = ast.parse((TESTS / "conftest.py").read_text(encoding="utf-8"))
    others = [
        getattr(node, "name", type(node).__name__)
        for node in tree.body[1:]  # after the docstring
        if not isinstance(node, ast.Import | ast.ImportFrom)
        and not (isinstance(node, ast.FunctionDef) and any("fixture" in ast.unparse(d) for d in node.decorator_list))
    ]
    assert others == []
