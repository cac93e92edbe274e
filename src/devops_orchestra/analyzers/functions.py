"""Every function of a source file with its line range and cyclomatic complexity, and the names a file calls:
what the testing agent lays coverage over. Python through `ast` and radon (as analyzers/sources.py measures
complexity), JavaScript/TypeScript through lizard. Reads text only; the code is never imported."""

from __future__ import annotations

import ast
from dataclasses import dataclass


@dataclass(frozen=True)
class Span:
    """A function: its qualified name, its lines (decorators included), where its body starts, its complexity."""

    name: str
    start: int
    end: int
    body_start: int
    complexity: int


def python_functions(text: str) -> list[Span]:
    """The functions and methods of a Python module, nested ones included; none when it does not parse."""
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError, RecursionError):
        return []
    from radon.visitors import ComplexityVisitor  # lazy, as in analyzers/sources.py

    complexity: dict[int, int] = {}
    try:
        visitor = ComplexityVisitor.from_ast(tree)
        blocks = [*visitor.functions, *(m for c in visitor.classes for m in c.methods)]
        while blocks:
            block = blocks.pop()
            complexity[block.lineno] = block.complexity
            blocks += getattr(block, "closures", [])
    except RecursionError:
        pass
    spans: list[Span] = []

    def walk(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                name = f"{prefix}{child.name}"
                start = min([child.lineno, *(d.lineno for d in child.decorator_list)])
                spans.append(Span(name, start, child.end_lineno or child.lineno, child.body[0].lineno,
                                  complexity.get(child.lineno, 1)))
                walk(child, f"{name}.")
            elif isinstance(child, ast.ClassDef):
                walk(child, f"{prefix}{child.name}.")
            else:
                walk(child, prefix)

    walk(tree, "")
    return spans


def lizard_functions(rel: str, text: str) -> list[Span]:
    """The functions lizard finds in a JavaScript/TypeScript (or Go, Java) file; none when it cannot read it."""
    import lizard  # lazy: a few hundred ms of import

    try:
        result = lizard.analyze_file.analyze_source_code(rel, text)
    except Exception:  # lizard's tokenizers are heuristic: a file it chokes on has no functions to show
        return []
    return [Span(f.name, f.start_line, f.end_line, f.start_line, f.cyclomatic_complexity)
            for f in result.function_list]
