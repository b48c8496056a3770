"""The import graph of our packages, read from the source (AST): edges, frameworks, cycles.

`python -m tests.import_graph` prints it: which package imports which (and how many of their
modules do), which packages import Scrapy, Twisted or APScheduler, and every cycle of modules
that import each other. tests/test_layers.py checks the layering rule on the same graph.
Every import counts, those inside functions and `if TYPE_CHECKING:` too.
"""

from __future__ import annotations

import ast
import sys
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("pipelines", "crawler", "scheduler", "web")
FRAMEWORKS = ("scrapy", "twisted", "apscheduler")


@dataclass(frozen=True)
class Import:
    """One import statement's target, in a module of ours."""

    module: str  # the importing module, dotted
    target: str  # what it imports, dotted (a module, or a name in one)
    line: int


def modules(root: Path = REPO, packages: Iterable[str] = PACKAGES) -> dict[str, Path]:
    """Every module of `packages` under `root`, by dotted name (migrations' scripts aside)."""
    found = {}
    for package in packages:
        for path in sorted((root / package).rglob("*.py")):
            if "migrations" in path.parts:
                continue  # Alembic's scripts, loaded by Alembic
            parts = path.relative_to(root).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            found[name] = path
    return found


def imports_of(name: str, path: Path) -> Iterator[Import]:
    """The imports of one module, relative ones made absolute."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield Import(name, alias.name, node.lineno)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parents = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parents, *([node.module] if node.module else [])])
            yield Import(name, base, node.lineno)
            for alias in node.names:
                yield Import(name, f"{base}.{alias.name}", node.lineno)


def all_imports(root: Path = REPO, packages: Iterable[str] = PACKAGES) -> list[Import]:
    return [
        found for name, path in modules(root, packages).items() for found in imports_of(name, path)
    ]


def module_graph(root: Path = REPO, packages: Iterable[str] = PACKAGES) -> dict[str, set[str]]:
    """Module -> the modules of ours it imports."""
    known = modules(root, packages)
    graph: dict[str, set[str]] = {name: set() for name in known}
    for found in all_imports(root, packages):
        if found.target in known and found.target != found.module:
            graph[found.module].add(found.target)
            graph[found.module] |= _packages_run(found.module, found.target, known)
    return graph


def _packages_run(module: str, target: str, known: dict[str, Path]) -> set[str]:
    """The packages whose `__init__` importing `target` runs first: its ancestors, but for
    those `module` is inside (already being imported when `module` is)."""
    parts = target.split(".")
    ancestors = {".".join(parts[:n]) for n in range(1, len(parts))}
    mine = {".".join(module.split(".")[:n]) for n in range(1, module.count(".") + 1)}
    return {name for name in ancestors - mine if name in known}


def group(module: str) -> str:
    """`pipelines.catalogue` for `pipelines.catalogue.writes` (each part of the core on its own:
    `pipelines.seeds` too); `crawler` for `crawler.x.y`, `scheduler` for `scheduler.x.y`."""
    parts = module.split(".")
    return ".".join(parts[:2]) if parts[0] == "pipelines" else parts[0]


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one node (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for other in sorted(graph.get(node, ())):
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = []
            while True:
                other = stack.pop()
                component.append(other)
                if other == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def group_graph(graph: dict[str, set[str]]) -> dict[str, Counter[str]]:
    """Package -> the packages its modules import, with how many module-to-module edges."""
    edges: dict[str, Counter[str]] = defaultdict(Counter)
    for module, targets in graph.items():
        for target in targets:
            if group(module) != group(target):
                edges[group(module)][group(target)] += 1
    return edges


def report(root: Path = REPO) -> str:
    graph = module_graph(root)
    edges = group_graph(graph)
    lines = ["## package-level edges (module imports)"]
    lines += [
        f"{source} -> "
        + ", ".join(f"{target} ({count})" for target, count in sorted(found.items()))
        for source, found in sorted(edges.items())
    ]
    lines.append("## package-level cycles")
    pairs = [
        f"  {a} <-> {b}"
        for a in sorted(edges)
        for b in sorted(edges[a])
        if a < b and a in edges.get(b, {})
    ]
    lines += pairs or ["  none"]
    lines.append("## frameworks imported, by package (modules)")
    users: dict[tuple[str, str], set[str]] = defaultdict(set)
    for found in all_imports(root):
        top = found.target.split(".")[0]
        if top in FRAMEWORKS:
            users[(group(found.module), top)].add(found.module)
    lines += [
        f"  {package} imports {framework}: {len(names)}"
        for (package, framework), names in sorted(users.items())
    ]
    lines.append("## module-level cycles")
    lines += [
        f"  {len(component)} modules: {', '.join(component)}" for component in cycles(graph)
    ] or ["  none"]
    return "\n".join(lines)


if __name__ == "__main__":
    print(report(Path(sys.argv[1]) if len(sys.argv) > 1 else REPO))
