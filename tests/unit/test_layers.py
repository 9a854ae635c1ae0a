"""The layering of the code base, checked from its own imports (every import statement, also the ones inside
functions and under TYPE_CHECKING): arrows point down only, apps never import each other, libraries never
import sideways, and no circle of files anywhere."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from core.settings import PROJECT_ROOT

GROUND, LIBRARY, APP, ROOF = range(4)
LAYER_OF = {
    "core": GROUND, "schemas": GROUND,
    "streams": LIBRARY, "lakehouse": LIBRARY,
    "agents_sim": APP, "topologies": APP,
    "rideshare": ROOF, "bench": ROOF,
}
LAYER_NAMES = ("ground", "library", "app", "roof")


@dataclass(frozen=True)
class Import:
    importer: str  # module
    imported: str  # module (or the package the name was imported from)
    line: int


def module_files() -> dict[str, Path]:
    modules = {}
    for package in LAYER_OF:
        for path in (PROJECT_ROOT / package).rglob("*.py"):
            parts = path.relative_to(PROJECT_ROOT).with_suffix("").parts
            modules[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return modules


def imports_of(module: str, path: Path, modules: dict[str, Path]) -> Iterator[Import]:
    package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield Import(module, alias.name, node.lineno)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package[:len(package) - node.level + 1]
                base = ".".join([*anchor, *([node.module] if node.module else [])])
            for alias in node.names:  # `from package import module` imports the module
                target = f"{base}.{alias.name}"
                yield Import(module, target if target in modules else base, node.lineno)


def project_imports() -> list[Import]:
    modules = module_files()
    return [found for module, path in modules.items() for found in imports_of(module, path, modules)
            if found.imported.split(".")[0] in LAYER_OF]


def allowed(importer: str, imported: str) -> bool:
    source, target = importer.split(".")[0], imported.split(".")[0]
    if source == target:
        return True
    below, above = LAYER_OF[target], LAYER_OF[source]
    return below < above or above == ROOF or above == below == GROUND


def test_every_import_points_down_a_layer() -> None:
    wrong = [f"{i.importer}:{i.line} imports {i.imported} ({LAYER_NAMES[LAYER_OF[i.importer.split('.')[0]]]} -> "
             f"{LAYER_NAMES[LAYER_OF[i.imported.split('.')[0]]]})"
             for i in project_imports() if not allowed(i.importer, i.imported)]
    assert not wrong, "imports against the layering:\n" + "\n".join(wrong)


def test_the_rules_reject_what_they_should() -> None:  # the checker itself: sideways and upward arrows fail
    assert not allowed("agents_sim.runtime", "topologies.surge")  # app -> app
    assert not allowed("streams.app", "lakehouse.lake")  # library -> library
    assert not allowed("schemas.codec", "rideshare.cli")  # ground -> roof
    assert not allowed("lakehouse.build", "agents_sim.params")  # library -> app
    assert allowed("topologies.bronze", "lakehouse.bronze.writer") and allowed("rideshare.cli", "topologies.surge")


def strongly_connected(graph: dict[str, set[str]]) -> list[set[str]]:
    """Tarjan's algorithm, iteratively: the circles of the graph (components of more than one module)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    circles = []
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(graph[root]))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, successors = work[-1]
            for successor in successors:
                if successor not in index:
                    index[successor] = low[successor] = len(index)
                    stack.append(successor)
                    on_stack.add(successor)
                    work.append((successor, iter(graph.get(successor, set()))))
                    break
                if successor in on_stack:
                    low[node] = min(low[node], index[successor])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = set()
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.add(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        circles.append(component)
    return circles


def test_no_circle_of_files() -> None:
    modules = module_files()
    graph: dict[str, set[str]] = {module: set() for module in modules}
    for found in project_imports():
        if found.imported in modules and found.imported != found.importer:
            graph[found.importer].add(found.imported)
    circles = [sorted(circle) for circle in strongly_connected(graph)]
    assert not circles, f"import circles: {circles}"


def test_the_circle_finder_finds_circles() -> None:
    assert strongly_connected({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [{"a", "b", "c"}]
    assert strongly_connected({"a": {"b"}, "b": set()}) == []
