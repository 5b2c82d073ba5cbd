"""The house runs downward: no import cycles in ganzoo/ and plugins/, and plugins reach core only
through the plugin API module.

The graph is read from the source with ast, counting imports made inside functions (a cycle
through a function-level import is still a cycle of design); imports under
``if TYPE_CHECKING:`` are left out, since they never run.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
API_MODULE = "ganzoo.plugin"
"""The one core module a plugin may import."""


def source_roots(root: Path = ROOT) -> list[Path]:
    """Folders whose children are top-level packages: the repo root (ganzoo), plugins/, example src/ folders."""
    return [root, root / "plugins", *sorted((root / "plugins" / "examples").glob("*/src"))]


def module_files(root: Path = ROOT) -> dict[str, Path]:
    """Dotted module name -> file, for ganzoo and every plugin package."""
    found: dict[str, Path] = {}
    for base in source_roots(root):
        for package in sorted(base.iterdir()):
            if not (package.is_dir() and (package / "__init__.py").exists()):
                continue
            if package.name != "ganzoo" and not package.name.startswith("ganzoo_"):
                continue
            for path in sorted(package.rglob("*.py")):
                parts = list(path.relative_to(base).with_suffix("").parts)
                if parts[-1] == "__init__":
                    parts.pop()
                found[".".join(parts)] = path
    return found


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _imports(tree: ast.AST, module: str, is_package: bool, files: dict[str, Path]) -> set[str]:
    """The project modules this tree imports (relative imports resolved), outside TYPE_CHECKING blocks.

    ``from pkg import name`` is an edge to ``pkg.name`` when that is a module, else to ``pkg``.
    """
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = module.split(".")
                keep = len(parts) - node.level + (1 if is_package else 0)
                base = ".".join(parts[:keep] + ([base] if base else []))
            for alias in node.names:
                found.add(f"{base}.{alias.name}" if f"{base}.{alias.name}" in files else base)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return {name for name in found if name in files and name != module}


def import_graph(root: Path = ROOT) -> dict[str, set[str]]:
    """module -> the project modules it imports."""
    files = module_files(root)
    return {module: _imports(ast.parse(path.read_text(), filename=str(path)), module, path.name == "__init__.py", files)
            for module, path in files.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = [0]

    def connect(node: str) -> None:
        index[node] = low[node] = counter[0]
        counter[0] += 1
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                connect(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            connect(node)
    return found


def shortest_cycle(graph: dict[str, set[str]], start: str) -> list[str]:
    """The shortest import path from ``start`` back to itself (breadth first), for messages."""
    paths = {target: [start, target] for target in graph.get(start, ())}
    frontier = sorted(paths)
    while frontier:
        following = []
        for node in frontier:
            if node == start:
                return paths[node]
            for target in sorted(graph.get(node, ())):
                if target not in paths:
                    paths[target] = [*paths[node], target]
                    following.append(target)
        frontier = following
    return []


def describe_cycles(graph: dict[str, set[str]]) -> str:
    """Each cycle of modules, and the shortest loop through each member that starts one."""
    lines = []
    for component in cycles(graph):
        lines.append(f"{len(component)} modules in one cycle: {', '.join(component)}")
        seen: set[tuple[str, ...]] = set()
        for module in component:
            loop = shortest_cycle(graph, module)
            key = tuple(sorted(loop[:-1]))
            if loop and key not in seen:
                seen.add(key)
                lines.append("  " + " -> ".join(loop))
    return "\n".join(lines)


def plugin_violations(graph: dict[str, set[str]]) -> list[str]:
    """Imports from a plugin package of anything in the project but itself and the API module."""
    bad = []
    for module, targets in sorted(graph.items()):
        package = module.split(".")[0]
        if package == "ganzoo":
            continue
        for target in sorted(targets):
            if target.split(".")[0] == package or target in (API_MODULE, "ganzoo"):
                continue
            bad.append(f"{module} imports {target}")
    return bad


def test_the_graph_sees_function_level_imports_and_skips_type_checking(tmp_path):
    pkg = tmp_path / "ganzoo"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from ganzoo import c\n"
                              "def f():\n    from ganzoo.b import g\n")
    (pkg / "b.py").write_text("from ganzoo import a\ndef g(): ...\n")
    (pkg / "c.py").write_text("from ganzoo import a\n")
    (tmp_path / "plugins").mkdir()
    graph = import_graph(tmp_path)
    assert graph["ganzoo.a"] == {"ganzoo.b"}
    assert cycles(graph) == [["ganzoo.a", "ganzoo.b"]]


def test_no_import_cycles():
    graph = import_graph()
    assert not cycles(graph), "import cycles:\n" + describe_cycles(graph)


def test_plugins_import_only_the_plugin_api():
    bad = plugin_violations(import_graph())
    assert not bad, f"plugins must import only {API_MODULE} from core, and no other plugin:\n" + "\n".join(bad)
