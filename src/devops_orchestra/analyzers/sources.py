"""One pass over each source file: imports, entry points, complexity, ports and connection strings.

Python is parsed once with `ast` (imports and the `__main__` guard from the tree, complexity with radon
on the same tree); JavaScript/TypeScript and Go imports are read with patterns that follow their import
grammar; complexity there comes from lizard. The user's code is never imported or run.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field
from pathlib import PurePosixPath

from devops_orchestra.analyzers.lines import line_at

HOTSPOT_MIN_COMPLEXITY = 10  # functions below this are not worth naming (McCabe's own threshold)
CODE_LANGUAGES = frozenset({"python", "javascript", "typescript", "go", "java"})


@dataclass(frozen=True)
class Import:
    """One import statement, as read from a source file."""

    spec: str  # python: dotted module (without leading dots); js: the specifier; go: the import path
    line: int
    top_level: bool = True  # runs when the module is imported (not inside a function, not TYPE_CHECKING)
    level: int = 0  # python relative import level
    names: tuple[str, ...] = ()  # python `from x import a, b`


@dataclass(frozen=True)
class Function:
    """A function and its cyclomatic complexity."""

    name: str
    line: int
    complexity: int
    lines: int


@dataclass
class FileFacts:
    """What analyse found in one source file."""

    rel: str
    language: str
    lines: int = 0  # non-blank
    imports: list[Import] = field(default_factory=list)
    main_line: int | None = None  # `if __name__ == "__main__"`, Go `func main`, Java `static void main`
    go_package: str | None = None
    functions: int = 0
    hotspots: list[Function] = field(default_factory=list)
    ports: list[tuple[int, int]] = field(default_factory=list)  # (port, line)
    connections: list[tuple[str, str, int]] = field(default_factory=list)  # (scheme, host, line)
    health_endpoint: bool = False
    error: str | None = None


def analyse(rel: str, language: str | None, text: str, is_test: bool = False) -> FileFacts:
    """What one file says about the architecture. Never raises on bad input: error says what failed.

    Test code counts for lines and imports only: its complexity, ports and URLs say nothing about the system.
    """
    facts = FileFacts(rel=rel, language=language or "other", lines=count_lines(text))
    if not is_test:
        facts.connections = connections(text)
    if language not in CODE_LANGUAGES:
        return facts
    if not is_test:
        facts.health_endpoint = bool(_HEALTH.search(text))
    if not is_test and any(hint in text for hint in _PORT_HINTS):
        facts.ports = [(int(m[m.lastindex or 1]), line_at(text, m.start())) for m in _PORT.finditer(text)
                       if 0 < int(m[m.lastindex or 1]) < 65536]
    if language == "python" and is_test:
        facts.imports = python_imports_by_line(text)  # two thirds of a big project's Python can be tests
        facts.main_line = 1 if PurePosixPath(rel).name == "__main__.py" else None
    elif language == "python":
        _python(facts, text)
    else:
        if language in ("javascript", "typescript"):
            facts.imports = _js_imports(text)
        elif language == "go":
            _go(facts, text)
        elif language == "java":
            m = _JAVA_MAIN.search(text)
            facts.main_line = line_at(text, m.start()) if m else None
        if not is_test:
            _lizard(facts, text)
    return facts


def count_lines(text: str) -> int:
    """The number of non-blank lines."""
    return sum(1 for line in text.splitlines() if line.strip())


_HEALTH = re.compile(r"""["'`](?:/[\w./-]*)?/(?:health|healthz|healthcheck|ready|readyz|readiness|live|livez|liveness"""
                     r"""|ping)/?["'`]|actuator/health""")
_PORT = re.compile(r"""\.listen\(\s*(\d{2,5})\b|\bport\s*=\s*(\d{2,5})\b|"""
                   r"""ListenAndServe(?:TLS)?\(\s*"[^"]*:(\d{2,5})"|\.Run\(\s*"[^"]*:(\d{2,5})"|server\.port\s*[=:]\s*(\d{2,5})""")
_PORT_HINTS = (".listen(", "port=", "port =", "ListenAndServe", ".Run(", "server.port")
CONNECTION = re.compile(
    r"""\b(?:jdbc:)?(postgres(?:ql)?|mysql|mariadb|redis|rediss|amqps?|mongodb(?:\+srv)?|kafka|s3)://"""
    r"""(?:[^@\s/'"]*@)?([A-Za-z0-9_.-]+)"""
)


def connections(text: str) -> list[tuple[str, str, int]]:
    """(scheme, host, line) of each data store URL; only the text around each `://` is matched."""
    out = []
    at = text.find("://")
    while at >= 0:
        start = max(0, at - 16)
        m = CONNECTION.search(text, start, at + 260)
        if m and m.start() <= at:
            out.append((m[1].lower(), m[2], line_at(text, m.start())))
        at = text.find("://", at + 3)
    return out


def _python(facts: FileFacts, text: str) -> None:
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError, RecursionError) as exc:  # RecursionError: absurdly deep nesting
        facts.error = f"{facts.rel}:{getattr(exc, 'lineno', 1) or 1}: Python syntax error: {getattr(exc, 'msg', exc)}"
        return
    _python_imports(tree.body, facts.imports, top_level=True)
    for node in tree.body:
        if isinstance(node, ast.If) and _is_main_guard(node.test):
            facts.main_line = node.lineno
    if PurePosixPath(facts.rel).name == "__main__.py":
        facts.main_line = facts.main_line or 1
    from radon.visitors import ComplexityVisitor  # lazy: only when there is Python to measure

    try:
        visitor = ComplexityVisitor.from_ast(tree)
    except RecursionError:
        facts.error = f"{facts.rel}: complexity not measured (nested too deeply)"
        return
    blocks = [*visitor.functions, *(m for c in visitor.classes for m in c.methods)]
    facts.functions = len(blocks)
    facts.hotspots = [
        Function(name=getattr(b, "fullname", b.name), line=b.lineno, complexity=b.complexity,
                 lines=b.endline - b.lineno + 1)
        for b in blocks if b.complexity >= HOTSPOT_MIN_COMPLEXITY
    ]


def _python_imports(body: list[ast.stmt], out: list[Import], *, top_level: bool) -> None:
    """Imports with whether they run at import time: function bodies and `if TYPE_CHECKING:` do not."""
    for node in body:
        if isinstance(node, ast.Import):
            out += [Import(a.name, node.lineno, top_level) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            out.append(Import(node.module or "", node.lineno, top_level, node.level,
                              tuple(a.name for a in node.names)))
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            _python_imports(node.body, out, top_level=False)
        elif isinstance(node, ast.If):
            checking = "TYPE_CHECKING" in ast.unparse(node.test) if top_level else False
            _python_imports(node.body, out, top_level=top_level and not checking)
            _python_imports(node.orelse, out, top_level=top_level)
        elif isinstance(node, (ast.ClassDef, ast.With, ast.AsyncWith, ast.For, ast.While)):
            _python_imports(node.body, out, top_level=top_level)
        elif isinstance(node, ast.Try):
            for block in (node.body, node.orelse, node.finalbody, *(h.body for h in node.handlers)):
                _python_imports(block, out, top_level=top_level)


_PY_IMPORT = re.compile(
    r"^([ \t]*)(?:from[ \t]+(\.*)([\w.]*)[ \t]+import[ \t]+(\([^)]*\)|[^#\n]*)|import[ \t]+([^#\n]+))", re.MULTILINE
)


def python_imports_by_line(text: str) -> list[Import]:
    """Import statements read line by line, for test code, where the graph needs edges but no AST.

    Indented imports count as not run at import time; an `import` line inside a string would count too.
    """
    out = []
    for m in _PY_IMPORT.finditer(text):
        line = line_at(text, m.start())
        top = not m[1]
        if m[5] is not None:
            out += [Import(n.split()[0], line, top) for n in m[5].split(",") if n.strip()]
        else:
            names = tuple(n.split()[0] for n in m[4].strip("()\n \\").replace("\n", ",").split(",") if n.split())
            out.append(Import(m[3], line, top, len(m[2]), names))
    return out


def _is_main_guard(test: ast.expr) -> bool:
    return (isinstance(test, ast.Compare) and isinstance(test.left, ast.Name) and test.left.id == "__name__"
            and any(isinstance(c, ast.Constant) and c.value == "__main__" for c in test.comparators))


_JS_IMPORT = re.compile(
    r"""(?:^|[^\w$.])(?:import\s+(?:type\s+)?(?:[\w*${}\s,]+?\s+from\s+)?|export\s+(?:type\s+)?(?:\*(?:\s+as\s+\w+)?"""
    r"""|\{[^}]*\})\s+from\s+|require\s*\(\s*|(import)\s*\(\s*)["']([^"'\n]+)["']""",
    re.MULTILINE,
)


def _js_imports(text: str) -> list[Import]:
    out = []
    for m in _JS_IMPORT.finditer(text):
        line = line_at(text, m.start(2))
        out.append(Import(m[2], line, top_level=not m[1]))  # a dynamic import() loads lazily
    return out


_GO_PACKAGE = re.compile(r"^package\s+(\w+)", re.MULTILINE)
_GO_IMPORT_BLOCK = re.compile(r"^import\s*\(([^)]*)\)", re.MULTILINE)
_GO_IMPORT_ONE = re.compile(r"""^import\s+(?:[\w.]+\s+)?"([^"]+)\"""", re.MULTILINE)
_GO_SPEC = re.compile(r"""^\s*(?:[\w.]+\s+)?"([^"]+)\"""", re.MULTILINE)
_GO_MAIN = re.compile(r"^func\s+main\s*\(\s*\)", re.MULTILINE)
_JAVA_MAIN = re.compile(r"public\s+static\s+void\s+main\s*\(")


def _go(facts: FileFacts, text: str) -> None:
    m = _GO_PACKAGE.search(text)
    facts.go_package = m[1] if m else None
    for block in _GO_IMPORT_BLOCK.finditer(text):
        offset = line_at(text, block.start(1))
        for spec in _GO_SPEC.finditer(block[1]):
            facts.imports.append(Import(spec[1], offset + block[1].count("\n", 0, spec.start(1))))
    for one in _GO_IMPORT_ONE.finditer(text):
        facts.imports.append(Import(one[1], line_at(text, one.start())))
    main = _GO_MAIN.search(text)
    if facts.go_package == "main" and main:
        facts.main_line = line_at(text, main.start())


_LIZARD_SUFFIX = {"javascript": ".js", "typescript": ".ts", "go": ".go", "java": ".java"}


def _lizard(facts: FileFacts, text: str) -> None:
    import lizard  # lazy: a few hundred ms of import only when there is such code

    name = facts.rel if PurePosixPath(facts.rel).suffix else facts.rel + _LIZARD_SUFFIX[facts.language]
    try:
        result = lizard.analyze_file.analyze_source_code(name, text)
    except Exception as exc:  # lizard's tokenizers are heuristic; a file it chokes on is a warning
        facts.error = f"{facts.rel}: complexity not measured ({type(exc).__name__}: {exc})"
        return
    facts.functions = len(result.function_list)
    facts.hotspots = [Function(name=f.name, line=f.start_line, complexity=f.cyclomatic_complexity,
                               lines=f.length)
                      for f in result.function_list if f.cyclomatic_complexity >= HOTSPOT_MIN_COMPLEXITY]
