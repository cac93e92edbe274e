"""The internal dependency graph: imports resolved to files of the tree, cycles, fan-in/out, packages.

Nodes are Python and JavaScript/TypeScript files and Go packages (directories). An import that does
not resolve to one of them is external: a third-party package (kept as a dependency) or the standard
library (dropped).
"""

from __future__ import annotations

import sys
from collections import Counter, defaultdict
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from pathlib import PurePosixPath

from devops_orchestra.analyzers.sources import FileFacts, Import
from devops_orchestra.models.architecture import Dependency, ImportGraph, ModuleStat, PackageEdge, Where

MAX_PACKAGES = 40  # nodes in the package diagram: past this a graph is a hairball
TOP_MODULES = 10
MAX_CYCLES = 100

_JS_SUFFIXES = (".ts", ".tsx", ".js", ".jsx", ".mjs", ".cjs")
_NODE_BUILTINS = frozenset({
    "assert", "async_hooks", "buffer", "child_process", "cluster", "console", "crypto", "dgram", "dns", "events",
    "fs", "http", "http2", "https", "module", "net", "os", "path", "perf_hooks", "process", "querystring",
    "readline", "stream", "string_decoder", "timers", "tls", "tty", "url", "util", "v8", "vm", "worker_threads",
    "zlib",
})


@dataclass
class Edge:
    """The imports from one internal file or Go package to another."""

    source: str
    target: str
    imports: list[Import] = field(default_factory=list)

    @property
    def top_level(self) -> bool:
        """Whether any of these imports runs at import time (a cycle of those breaks)."""
        return any(i.top_level for i in self.imports)


@dataclass
class Graph:
    """The internal import graph, and the third-party packages imported."""

    names: dict[str, str]  # node id (file, or Go package directory) -> display name (dotted module, path)
    edges: dict[tuple[str, str], Edge]
    external: list[Dependency]
    lines: dict[str, int]

    def package_of(self, node: str, depth: int) -> str:
        """The package of a node: the first depth parts of its directory ("." at the top)."""
        parts = PurePosixPath(node).parts if node.endswith("/") else PurePosixPath(node).parts[:-1]
        return "/".join(parts[:depth]) or "."

    def cycles(self) -> list[list[str]]:
        """One shortest cycle per strongly connected component of the imports that run at import time."""
        adjacency: dict[str, list[str]] = defaultdict(list)
        for (src, dst), edge in sorted(self.edges.items()):
            if edge.top_level and src != dst:
                adjacency[src].append(dst)
        out = [_shortest_cycle(c, adjacency) for c in _strongly_connected(adjacency) if len(c) > 1]
        return sorted(out, key=lambda c: (len(c), c))[:MAX_CYCLES]

    def summary(self, tests: Collection[str] = ()) -> ImportGraph:
        """tests: files left out of the package view (they import everything and nothing imports them)."""
        fan_in: Counter[str] = Counter()
        fan_out: Counter[str] = Counter()
        for src, dst in self.edges:
            if src != dst:
                fan_out[src] += 1
                fan_in[dst] += 1

        def stat(node: str) -> ModuleStat:
            return ModuleStat(module=self.names[node], path=node.rstrip("/"), fan_in=fan_in[node],
                              fan_out=fan_out[node], lines=self.lines.get(node, 0))

        packages, package_edges = self.packages(set(tests))
        return ImportGraph(
            modules=len(self.names),
            internal_imports=sum(len(e.imports) for e in self.edges.values()),
            external_packages=len({(d.ecosystem, d.name) for d in self.external}),
            packages=packages,
            package_edges=package_edges,
            most_depended_upon=[stat(n) for n, _ in fan_in.most_common(TOP_MODULES)],
            most_depending=[stat(n) for n, _ in fan_out.most_common(TOP_MODULES)],
        )

    def packages(self, tests: set[str]) -> tuple[list[str], list[PackageEdge]]:
        """Modules collapsed to directories, as deep as still fits MAX_PACKAGES nodes."""
        names = [n for n in self.names if n not in tests]
        depth = 1
        while depth < 8:
            deeper = {self.package_of(n, depth + 1) for n in names}
            if len(deeper) > MAX_PACKAGES or deeper == {self.package_of(n, depth) for n in names}:
                break
            depth += 1
        counts: Counter[tuple[str, str]] = Counter()
        for (src, dst), edge in self.edges.items():
            a, b = self.package_of(src, depth), self.package_of(dst, depth)
            if a != b and src not in tests and dst not in tests:
                counts[(a, b)] += len(edge.imports)
        nodes = sorted({self.package_of(n, depth) for n in names})
        if len(nodes) > MAX_PACKAGES:  # even the top level is too wide: keep the most connected
            weight: Counter[str] = Counter()
            for (a, b), n in counts.items():
                weight[a] += n
                weight[b] += n
            nodes = sorted(n for n, _ in weight.most_common(MAX_PACKAGES))
        kept = set(nodes)
        edges = [PackageEdge(source=a, target=b, imports=n) for (a, b), n in sorted(counts.items())
                 if a in kept and b in kept]
        return nodes, edges


def build_graph(facts: Iterable[FileFacts], go_modules: dict[str, str], base_name: str = "") -> Graph:
    """base_name: the analysed directory's name, the top package when it holds an `__init__.py` itself."""
    files = [f for f in facts if f.language in ("python", "javascript", "typescript", "go")]
    names: dict[str, str] = {}
    lines: dict[str, int] = {}
    py_modules = _python_modules([f.rel for f in files if f.language == "python"], base_name)
    by_module: dict[str, list[str]] = defaultdict(list)
    for rel, (module, _) in py_modules.items():
        by_module[module].append(rel)
    js_files = {f.rel for f in files if f.language in ("javascript", "typescript")}
    go_dirs = {_go_node(f.rel) for f in files if f.language == "go"}
    for f in files:
        node = _go_node(f.rel) if f.language == "go" else f.rel
        names[node] = py_modules[f.rel][0] if f.language == "python" else node.rstrip("/")
        lines[node] = lines.get(node, 0) + f.lines
    edges: dict[tuple[str, str], Edge] = {}
    external: dict[tuple[str, str, str], Dependency] = {}
    for f in files:
        source = _go_node(f.rel) if f.language == "go" else f.rel
        for imp in f.imports:
            if f.language == "python":
                target, ext = _resolve_python(f.rel, imp, py_modules, by_module)
                eco = "pypi"
            elif f.language == "go":
                target, ext = _resolve_go(imp.spec, go_modules, go_dirs)
                eco = "go"
            else:
                target, ext = _resolve_js(f.rel, imp.spec, js_files)
                eco = "npm"
            if target is not None:
                edges.setdefault((source, target), Edge(source, target)).imports.append(imp)
            elif ext and (eco, ext, f.rel) not in external:
                external[(eco, ext, f.rel)] = Dependency(name=ext, ecosystem=eco,
                                                         where=Where(path=f.rel, line=imp.line))
    return Graph(names=names, edges=edges, external=list(external.values()), lines=lines)


def _python_modules(rels: list[str], base_name: str) -> dict[str, tuple[str, str]]:
    """rel -> (dotted module name, source root): the package chain is the run of `__init__.py` above."""
    present = set(rels)
    inside_package = "__init__.py" in present and base_name.isidentifier()  # e.g. analysing networkx/ itself
    out: dict[str, tuple[str, str]] = {}
    for rel in rels:
        path = PurePosixPath(rel)
        parts = [path.stem] if path.stem != "__init__" else []
        folder = path.parent
        while str(folder) != "." and f"{folder.as_posix()}/__init__.py" in present:
            parts.insert(0, folder.name)
            folder = folder.parent
        if inside_package and str(folder) == ".":
            parts.insert(0, base_name)
        out[rel] = (".".join(parts) or path.parent.name or path.stem, folder.as_posix())
    return out


def _resolve_python(rel: str, imp: Import, modules: dict[str, tuple[str, str]],
                    by_module: dict[str, list[str]]) -> tuple[str | None, str | None]:
    module, root = modules[rel]
    if imp.level:
        package = module.split(".") if rel.endswith("__init__.py") else module.split(".")[:-1]
        package = package[: len(package) - (imp.level - 1)] if imp.level > 1 else package
        base = ".".join([*package, imp.spec] if imp.spec else package)
    else:
        base = imp.spec
    candidates = [f"{base}.{n}" for n in imp.names if n != "*"] + [base]
    for candidate in candidates:
        parts = candidate.split(".")
        for end in range(len(parts), 0, -1):
            hits = by_module.get(".".join(parts[:end]))
            if hits:
                same_root = [h for h in hits if modules[h][1] == root]
                return (same_root or sorted(hits))[0], None
            if candidate is not base:
                break  # `from x import name`: a name that is not a submodule falls back to x itself
    top = base.split(".")[0]
    if imp.level or not top or top in sys.stdlib_module_names or top == "__future__":
        return None, None
    return None, top


def _resolve_js(rel: str, spec: str, files: set[str]) -> tuple[str | None, str | None]:
    if spec.startswith("."):
        base = (PurePosixPath(rel).parent / spec).as_posix()
        parts: list[str] = []
        for part in base.split("/"):  # normalise ./ and ../ without touching the disk
            if part == "..":
                if parts:
                    parts.pop()
            elif part not in (".", ""):
                parts.append(part)
        path = "/".join(parts)
        for candidate in (path, *(path + s for s in _JS_SUFFIXES), *(f"{path}/index{s}" for s in _JS_SUFFIXES)):
            if candidate in files:
                return candidate, None
        return None, None
    if spec.startswith("node:") or spec.split("/")[0] in _NODE_BUILTINS:
        return None, None
    name = "/".join(spec.split("/")[:2]) if spec.startswith("@") else spec.split("/")[0]
    return None, name if name and not name.startswith(("@/", "~")) else None


def _resolve_go(spec: str, go_modules: dict[str, str], dirs: set[str]) -> tuple[str | None, str | None]:
    for module, folder in go_modules.items():
        if spec == module or spec.startswith(module + "/"):
            rest = spec[len(module):].strip("/")
            node = "/".join(p for p in (folder if folder != "." else "", rest) if p) + "/"
            return (node if node in dirs else None), None
    first = spec.split("/")[0]
    return None, (spec if "." in first else None)  # no dot in the first element: the standard library


def _go_node(rel: str) -> str:
    parent = PurePosixPath(rel).parent.as_posix()
    return "./" if parent == "." else parent + "/"


def _strongly_connected(adjacency: dict[str, list[str]]) -> list[list[str]]:
    """Tarjan's algorithm, iterative (a deep import chain must not hit the recursion limit)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    out: list[list[str]] = []
    counter = 0
    for start in sorted(adjacency):
        if start in index:
            continue
        work = [(start, 0)]
        while work:
            node, i = work.pop()
            if i == 0:
                index[node] = low[node] = counter
                counter += 1
                stack.append(node)
                on_stack.add(node)
            children = adjacency.get(node, [])
            if i < len(children):
                work.append((node, i + 1))
                child = children[i]
                if child not in index:
                    work.append((child, 0))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            if low[node] == index[node]:
                component = []
                while True:
                    top = stack.pop()
                    on_stack.discard(top)
                    component.append(top)
                    if top == node:
                        break
                out.append(sorted(component))
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
    return out


def _shortest_cycle(component: list[str], adjacency: dict[str, list[str]]) -> list[str]:
    """The shortest cycle through the component's first node, by breadth-first search: a, b, ..., a."""
    members = set(component)
    start = component[0]
    previous: dict[str, str] = {}
    frontier = [start]
    while frontier:
        following = []
        for node in frontier:
            for child in adjacency.get(node, []):
                if child == start:
                    path = [node]
                    while path[-1] != start:
                        path.append(previous[path[-1]])
                    return [*reversed(path), start]
                if child in members and child not in previous:
                    previous[child] = node
                    following.append(child)
        frontier = following
    return [start, start]
