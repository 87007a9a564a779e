"""The runtime's modules import each other without a circle, type-only imports included.

A circle (even one hidden behind ``if TYPE_CHECKING``) means two modules know each other's
insides; the fix is a small protocol in the module that needs less (see
``vigil_runtime.heartbeat.HeartbeatSource``), not a deferred import.
"""

from __future__ import annotations

import ast
from pathlib import Path

import vigil_runtime

PACKAGE = "vigil_runtime"
ROOT = Path(vigil_runtime.__file__).parent


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path, modules: set[str]) -> set[str]:
    """The runtime modules `path` imports anywhere in its body (functions included)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
        else:
            continue
        found |= {name for name in names if name in modules}
    return found


def _graph() -> dict[str, set[str]]:
    paths = {_module_name(path): path for path in ROOT.rglob("*.py")}
    modules = set(paths)
    graph = {name: _imports(path, modules) - {name} for name, path in paths.items()}
    # a package's __init__ importing its own submodules is not a circle between modules
    return {name: {dep for dep in deps if not dep.startswith(name + ".")}
            for name, deps in graph.items()}  # fmt: skip


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    cycles: list[list[str]] = []
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done
    path: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        path.append(node)
        for dep in sorted(graph.get(node, ())):
            if state.get(dep) == 1:
                cycles.append([*path[path.index(dep) :], dep])
            elif dep not in state:
                visit(dep)
        path.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node)
    return cycles


def test_the_cycle_finder_finds_a_circle() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == [["a", "b", "c", "a"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def test_runtime_modules_import_each_other_without_a_circle() -> None:
    graph = _graph()
    assert f"{PACKAGE}.service" in graph
    assert f"{PACKAGE}.heartbeat" in graph
    assert _cycles(graph) == []
