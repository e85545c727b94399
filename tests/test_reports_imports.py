"""reports/ imports no module that imports it back: its modules form an acyclic graph (the layer test, test_layers.py,
keeps it below experiments/ and beside the methods)."""
import ast
from pathlib import Path

from core.paths import REPO_ROOT


def module_graph(package: Path) -> dict[str, set[str]]:
    """Each module of `package` -> the modules of the same package it imports, at module level or in a function."""
    name = package.name
    modules = {path.stem: path for path in package.glob("*.py") if path.stem != "__init__"}
    graph = {}
    for stem, path in modules.items():
        imported = set()
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.ImportFrom) and node.module == name:
                imported |= {alias.name for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").startswith(f"{name}."):
                imported.add(node.module.split(".")[1])
            elif isinstance(node, ast.Import):
                imported |= {a.name.split(".")[1] for a in node.names if a.name.startswith(f"{name}.")}
        graph[stem] = imported & set(modules)
    return graph


def cycle(graph: dict[str, set[str]]) -> list[str]:
    """One import cycle as [a, b, ..., a], or [] when there is none (depth-first search)."""
    done, path = set(), []

    def visit(node):
        if node in path:
            return path[path.index(node):] + [node]
        if node in done:
            return []
        path.append(node)
        for other in sorted(graph[node]):
            found = visit(other)
            if found:
                return found
        path.pop()
        done.add(node)
        return []
    return next((found for node in sorted(graph) if (found := visit(node))), [])


def test_reports_has_no_import_cycle():
    assert cycle(module_graph(REPO_ROOT / "reports")) == []


def test_the_search_finds_a_cycle_through_a_function_level_import(tmp_path):
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "a.py").write_text("from pkg.b import f\n")
    (package / "b.py").write_text("def f():\n    from pkg import c\n")
    (package / "c.py").write_text("import pkg.a\n")
    (package / "d.py").write_text("from pkg import a\n")
    assert module_graph(package) == {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert cycle(module_graph(package)) == ["a", "b", "c", "a"]
