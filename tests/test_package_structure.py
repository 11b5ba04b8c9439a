"""Package structure: no import cycles, dependencies only point down the layers, and
function-level imports of project modules only where they keep the CLI start quick.

The import graph is read from the source with ``ast`` (module-level and function-level
imports alike), so a cycle hidden by an import inside a function is still a cycle. An edge
``from a.b import c`` goes to the module ``a.b.c`` when that file exists, else to ``a.b``.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("photonics", "accel", "mapping", "studies")
#: What each layer may import from the project (DESIGN.md: studies -> mapping -> accel -> photonics).
ALLOWED_LAYERS = {
    "photonics": {"photonics"},
    "accel": {"photonics", "accel"},
    "mapping": {"photonics", "accel", "mapping"},
    "studies": {"photonics", "accel", "mapping", "studies"},
}
#: Third-party packages a layer must not import.
FORBIDDEN_THIRD_PARTY = {"photonics": {"torch"}, "accel": {"torch"}}
#: Modules allowed to import project modules inside functions (lazy, for a quick CLI start).
LAZY_IMPORTS_ALLOWED = {"studies.cli"}


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for pkg in PACKAGES for p in sorted((ROOT / pkg).rglob("*.py"))}


MODULES = _modules()


def _resolve(name: str) -> str | None:
    """The project module an absolute dotted name refers to (longest existing prefix)."""
    parts = name.split(".")
    for i in range(len(parts), 0, -1):
        candidate = ".".join(parts[:i])
        if candidate in MODULES:
            return candidate
    return None


def _imports(module: str) -> list[tuple[str, bool, int]]:
    """(imported name, inside a function, line) of every import statement of ``module``."""
    tree = ast.parse(MODULES[module].read_text(), filename=str(MODULES[module]))
    in_function: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            in_function.update(id(n) for n in ast.walk(node) if isinstance(n, (ast.Import, ast.ImportFrom)))
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(alias.name, id(node) in in_function, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module if MODULES[module].name == "__init__.py" else module.rpartition(".")[0]
                for _ in range(node.level - 1):
                    base = base.rpartition(".")[0]
                prefix = f"{base}.{node.module}" if node.module else base
            else:
                prefix = node.module or ""
            for alias in node.names:
                full = f"{prefix}.{alias.name}"
                out.append((full if full in MODULES else prefix, id(node) in in_function, node.lineno))
    return out


def _graph() -> dict[str, set[str]]:
    graph = {}
    for module in MODULES:
        targets = {_resolve(name) for name, _, _ in _imports(module)}
        graph[module] = {t for t in targets if t is not None and t != module}
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every strongly connected component with more than one module (Tarjan), as sorted lists."""
    index, low, stack, on_stack, out = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def test_the_checker_finds_a_cycle_through_a_function_level_import():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert _cycles(graph) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def test_the_graph_sees_imports_inside_functions():
    names = [name for name, lazy, _ in _imports("studies.cli") if lazy]
    assert any(_resolve(n) == "studies.commands" for n in names)


def test_no_import_cycles():
    assert _cycles(_graph()) == []


@pytest.mark.parametrize("package", PACKAGES)
def test_dependencies_point_down_the_layers(package):
    bad = []
    for module in (m for m in MODULES if m.split(".")[0] == package):
        for name, _, line in _imports(module):
            top = name.split(".")[0]
            if (top in PACKAGES and top not in ALLOWED_LAYERS[package]) or top in FORBIDDEN_THIRD_PARTY.get(package, ()):
                bad.append(f"{module}:{line} imports {name}")
    assert bad == []


def test_project_imports_inside_functions_only_in_the_cli():
    bad = [f"{module}:{line} imports {name}" for module in MODULES if module not in LAZY_IMPORTS_ALLOWED
           for name, lazy, line in _imports(module) if lazy and _resolve(name) is not None]
    assert bad == []
