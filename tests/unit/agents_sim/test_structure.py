"""The simulation's structure: no import circle among its modules (type-checking imports included), no
import of another app, and no calibrated number written inline in the behaviour modules (they live in
agents_sim/params.py with their basis)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
PACKAGE = ROOT / "agents_sim"
# Behaviour modules: every probability, duration and factor they use comes from params.py.
BEHAVIOUR = ("simulation.py", "trip_flow.py", "shifts.py", "rider_demand.py", "settlement.py", "dispatch.py", "fleet.py",
             "heatmap.py", "gps_feed.py", "identity_changes.py", "matching.py")
# Fractional numbers that are units or identities, not calibration: km/h per m/s, the middle of a centred
# jitter, the neutral multiplier. (Integers are rounding digits, indices and unit conversions.)
UNIT_LITERALS = {3.6, 0.5, 1.0, 0.0, 1000.0}
# Named module constants that are geometry or table sizes, not calibration.
NAMED = {"_M_PER_DEG_LAT", "_M_PER_DEG_LON", "_DEG_LAT_M", "_SAO_PAULO_LAT", "_TWO_PI", "_MIN_STARS", "_MAX_STARS"}


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def _graph() -> dict[str, set[str]]:
    modules = {_module_name(p): p for p in PACKAGE.rglob("*.py") if "api" not in p.relative_to(PACKAGE).parts}
    return {name: {m for m in _imports(path) if m in modules and m != name} for name, path in modules.items()}


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt):], nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_the_simulation_modules_import_each_other_without_a_circle() -> None:
    graph = _graph()
    assert "agents_sim.trip_flow" in graph and "agents_sim.simulation" in graph
    assert _cycle(graph) is None, " -> ".join(_cycle(graph) or [])


def test_only_the_runtime_its_views_and_checkpoints_know_the_simulation() -> None:
    users = {name for name, imports in _graph().items() if "agents_sim.simulation" in imports}
    assert users <= {"agents_sim.runtime", "agents_sim.views", "agents_sim.checkpoint"}, users


def test_the_simulation_never_imports_the_topologies() -> None:
    for path in PACKAGE.rglob("*.py"):
        assert not {m for m in _imports(path) if m.split(".")[0] in ("topologies", "streams", "rideshare")}, path


def _named_constant_lines(tree: ast.Module) -> set[int]:
    lines = set()
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id in NAMED for t in node.targets):
            lines.update(range(node.lineno, (node.end_lineno or node.lineno) + 1))
        elif isinstance(node, ast.Assign) and any(isinstance(t, ast.Tuple) and all(isinstance(e, ast.Name) and e.id in NAMED
                                                                                  for e in t.elts) for t in node.targets):
            lines.add(node.lineno)
    return lines


def test_behaviour_modules_hold_no_inline_calibration_numbers() -> None:
    inline: list[str] = []
    for name in BEHAVIOUR:
        tree = ast.parse((PACKAGE / name).read_text(encoding="utf-8"))
        named = _named_constant_lines(tree)
        inline += [f"{name}:{node.lineno} {node.value!r}" for node in ast.walk(tree)
                   if isinstance(node, ast.Constant) and type(node.value) is float and node.value not in UNIT_LITERALS
                   and node.lineno not in named]
    assert not inline, f"numbers inline in behaviour modules (move them to params.py with their basis): {inline}"
