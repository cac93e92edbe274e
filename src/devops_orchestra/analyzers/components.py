"""Deployable units: directories with their own manifest, Dockerfile or Go main package, compose services,
Kubernetes workloads and serverless functions, merged where they are the same thing, and what they use.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import PurePosixPath

from devops_orchestra.analyzers import stores
from devops_orchestra.analyzers.infra import InfraFacts
from devops_orchestra.analyzers.sources import CODE_LANGUAGES, FileFacts, connections
from devops_orchestra.analyzers.stack import Stack
from devops_orchestra.core.workspace import is_test_path
from devops_orchestra.models.architecture import Component, DataStore, EntryPoint, WebFramework

MAX_ENTRY_POINTS = 8
AddStore = Callable[[str, str, str, str | None], DataStore]  # name, kind, evidence, host


@dataclass
class Usage:
    """A component using a data store, with where it was seen."""

    component: str
    store: str
    kind: str
    host: str | None
    path: str
    line: int


@dataclass
class Assembly:
    """The components and data stores found, and which component uses which store where."""

    components: list[Component]
    data_stores: list[DataStore]
    usages: list[Usage] = field(default_factory=list)
    owner: dict[str, str] = field(default_factory=dict)  # component name -> its main file or manifest


def assemble(
    base_name: str, facts: list[FileFacts], tests: set[str], stack: Stack, infra: InfraFacts,
    frameworks: list[WebFramework], entry_points: list[EntryPoint], sightings: list[stores.Sighting],
) -> Assembly:
    """Merge everything found into deployable components and the data stores they use."""
    roots = _roots(stack, infra, facts)
    by_root: dict[str, Component] = {}
    names: Counter[str] = Counter()
    for root, kinds in sorted(roots.items()):
        manifest = next((m for m in stack.manifests if str(PurePosixPath(m.path).parent) == (root or ".")
                         and m.name), None)
        name = manifest.name if manifest and manifest.name else PurePosixPath(root).name or base_name
        names[name] += 1
        if names[name] > 1:
            name = f"{name} ({root or '.'})"
        by_root[root] = Component(name=name, path=root, kinds=sorted(kinds))

    def owner(rel: str) -> Component | None:
        path = PurePosixPath(rel).parent
        for candidate in (path, *path.parents):
            key = "" if str(candidate) == "." else candidate.as_posix()
            if key in by_root:
                return by_root[key]
        return None

    languages: dict[str, Counter[str]] = defaultdict(Counter)
    for f in facts:
        comp = owner(f.rel)
        if comp is None:
            continue
        if f.rel in tests:
            comp.test_files += 1
            comp.test_lines += f.lines
        elif f.language in CODE_LANGUAGES:
            comp.files += 1
            comp.lines += f.lines
            languages[comp.name][f.language] += f.lines
            comp.ports += [p for p, _ in f.ports]
    for comp in by_root.values():
        if languages[comp.name]:
            comp.language = languages[comp.name].most_common(1)[0][0]
        comp.test_ratio = round(comp.test_lines / comp.lines, 2) if comp.lines else None
    for fw in frameworks:
        comp = owner(fw.path)
        if comp and fw.name not in comp.frameworks and fw.name.lower() != comp.name.lower():  # not itself
            comp.frameworks.append(fw.name)
    for ep in entry_points:
        comp = owner(ep.path)
        if comp and len(comp.entry_points) < MAX_ENTRY_POINTS and ep.path not in tests:
            label = f"{ep.path}:{ep.line}" + (f" ({ep.name or ep.command})" if ep.name or ep.command else "")
            comp.entry_points.append(label)
    for df in infra.infra.dockerfiles:
        comp = _dockerfile_target(df.path, df.copies_from, by_root) or owner(df.path)
        if comp and comp.dockerfile is None:
            comp.dockerfile = df.path
            comp.ports += df.ports
            comp.images += df.base_images
            comp.health_checks += [f"{df.path}: HEALTHCHECK"] if df.healthcheck else []
    for f in facts:
        comp = owner(f.rel) if f.health_endpoint and f.rel not in tests else None
        if comp and len(comp.health_checks) < 3:
            comp.health_checks.append(f"{f.rel}: health route")

    usages: list[Usage] = []
    found: dict[str, DataStore] = {}

    def store(name: str, kind: str, evidence: str, host: str | None = None) -> DataStore:
        ds = found.setdefault(name, DataStore(name=name, kind=kind))
        if evidence not in ds.evidence:
            ds.evidence.append(evidence)
        if host and host not in (ds.host or "").split(", "):
            ds.host = f"{ds.host}, {host}" if ds.host else host
        return ds

    for s in sightings:
        store(s.store, s.kind, s.evidence, s.host)
        comp = owner(s.path)
        if comp and s.used and s.path not in tests:
            usages.append(Usage(comp.name, s.store, s.kind, s.host, s.path, s.line))

    extra = _compose_and_kubernetes(infra, by_root, store, usages)
    components = sorted([*by_root.values(), *extra], key=lambda c: (c.path == "", c.path, c.name))
    for comp in components:
        comp.ports = sorted(set(comp.ports))
        comp.images = list(dict.fromkeys(comp.images))
        comp.data_stores = sorted({u.store for u in usages if u.component == comp.name})
    for u in usages:
        if u.component not in found[u.store].used_by:
            found[u.store].used_by.append(u.component)
    data_stores = sorted(found.values(), key=lambda d: (d.kind, d.name))
    for ds in data_stores:
        ds.used_by.sort()
        ds.evidence = ds.evidence[:10]
    return Assembly(components=components, data_stores=data_stores, usages=usages)


def _roots(stack: Stack, infra: InfraFacts, facts: list[FileFacts]) -> dict[str, set[str]]:
    """Directories that are deployable units, and why."""
    roots: dict[str, set[str]] = defaultdict(set)

    def add(rel: str, why: str) -> None:
        if not is_test_path(rel):
            parent = PurePosixPath(rel).parent.as_posix()
            roots["" if parent == "." else parent].add(why)

    for m in stack.manifests:
        add(m.path, "manifest")
    manifest_dirs = set(roots)
    for df in infra.infra.dockerfiles:
        folder = PurePosixPath(df.path).parent.as_posix()
        target = _copied_dir(folder, df.copies_from)
        if target is not None and target in manifest_dirs and target != ("" if folder == "." else folder):
            roots[target].add("dockerfile")
        else:
            add(df.path, "dockerfile")
    go_modules = {"" if d == "." else d for d in stack.go_modules.values()}
    for f in facts:
        if f.language == "go" and f.main_line:  # a main package outside a Go module is a unit of its own
            parent = PurePosixPath(f.rel).parent.as_posix()
            key = "" if parent == "." else parent
            if not any(key == r or key.startswith(r + "/") or r == "" for r in go_modules):
                add(f.rel, "go main")
    return roots


def _copied_dir(folder: str, sources: list[str]) -> str | None:
    """The directory a Dockerfile copies its code from, when it copies one directory of the tree."""
    dirs = {PurePosixPath(folder, s).as_posix().rstrip("/").removeprefix("./") for s in sources
            if s not in (".", "./") and not s.startswith("/")}
    if len(dirs) != 1:
        return None
    found = dirs.pop()
    return "" if found == "." else found


def _dockerfile_target(path: str, sources: list[str], by_root: dict[str, Component]) -> Component | None:
    folder = PurePosixPath(path).parent.as_posix()
    target = _copied_dir("" if folder == "." else folder, sources)
    return by_root.get(target) if target is not None else None


def _compose_and_kubernetes(infra: InfraFacts, by_root: dict[str, Component], add_store: AddStore,
                            usages: list[Usage]) -> list[Component]:
    extra: list[Component] = []
    by_name = {c.name: c for c in by_root.values()}
    by_dir_name = {PurePosixPath(c.path).name: c for c in by_root.values() if c.path}
    store_services: dict[str, tuple[str, str]] = {}

    def unit(found: Component | None, name: str, kind: str, ports: list[int], images: list[str],
             health: list[str]) -> Component:
        """The component a compose service or workload is (a new one when it has no code here)."""
        if found is None:
            found = by_name[name] = Component(name=name, path="", kinds=[])
            extra.append(found)
        found.kinds = sorted({*found.kinds, kind})
        found.ports += ports
        found.images += images
        found.health_checks += health
        return found

    for svc in infra.infra.compose_services:
        hit = stores.from_image(svc.image) if svc.image else None
        if hit:
            store_services[svc.name] = hit
            add_store(*hit, f"{svc.file}:{svc.line} compose service {svc.name} ({svc.image})", svc.name)
    for svc in infra.infra.compose_services:
        if svc.name in store_services:
            continue
        build = (svc.build or "").removeprefix("./").rstrip("/")
        comp = by_root.get("" if build == "." else build) if svc.build is not None else None
        comp = unit(comp or by_name.get(svc.name) or by_dir_name.get(svc.name), svc.name, "compose", svc.ports,
                    [svc.image] if svc.image else [], [f"{svc.file}: healthcheck"] if svc.healthcheck else [])
        for dep in svc.depends_on:
            if dep in store_services:
                name, kind = store_services[dep]
                usages.append(Usage(comp.name, name, kind, dep, svc.file, svc.line))
            elif dep not in comp.depends_on:
                comp.depends_on.append(dep)
        for value in svc.environment.values():
            for scheme, host, _ in connections(value):
                hit = stores.BY_SCHEME.get(scheme)
                if hit and host in store_services and not any(
                        u.component == comp.name and u.host == host for u in usages):
                    usages.append(Usage(comp.name, hit[0], hit[1], host, svc.file, svc.line))
    for obj in infra.infra.kubernetes:
        if obj.kind == "Service" or not obj.images:
            continue
        hit = stores.from_image(obj.images[0])
        if hit:
            add_store(*hit, f"{obj.path}:{obj.line} {obj.kind} {obj.name} ({obj.images[0]})", obj.name)
            continue
        image_name = obj.images[0].split("@")[0].rsplit("/", 1)[-1].split(":")[0]
        found = by_name.get(obj.name) or by_dir_name.get(image_name) or by_name.get(image_name) \
            or by_dir_name.get(obj.name)
        unit(found, obj.name, "kubernetes", obj.ports, obj.images, [f"{obj.path}: {p}" for p in obj.probes])
    for fn in infra.infra.serverless:
        comp = unit(by_name.get(fn.name), fn.name, "serverless", [], [], [])
        parent = PurePosixPath(fn.path).parent.as_posix()
        comp.path = comp.path or ("" if parent == "." else parent)
        comp.language = comp.language or _RUNTIMES.get((fn.runtime or "").rstrip("0123456789.x"))
        if fn.handler and fn.handler not in comp.entry_points:
            comp.entry_points.append(fn.handler)
    return extra


_RUNTIMES = {"python": "python", "nodejs": "javascript", "go": "go", "provided.al": "go", "java": "java"}
