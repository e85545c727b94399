"""The import direction of the layers: core ← teachers ← methods (idlm, dlm_one, didi, baselines) ← experiments (recipes,
CLI and the reporting package experiments/reports). A lower layer never imports a higher one, at module level or inside
a function, and a package never imports another of its layer (a method another method); inside experiments/ the
modules form an acyclic graph."""
import ast
from pathlib import Path

from core.paths import REPO_ROOT

LAYERS = {"core": 0, "teachers": 1, "idlm": 2, "dlm_one": 2, "didi": 2, "baselines": 2, "experiments": 3}


def imported_packages(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
    return {name.split(".")[0] for name in names} & set(LAYERS)


def violations(root: Path) -> list[str]:
    found = []
    for package, level in LAYERS.items():
        for path in sorted((root / package).rglob("*.py")):
            for other in imported_packages(path):
                if LAYERS[other] > level or (LAYERS[other] == level and other != package):
                    found.append(f"{path.relative_to(root)} imports {other}")
    return found


def test_no_layer_imports_a_higher_one_or_a_sibling():
    assert violations(REPO_ROOT) == []


def test_the_walk_sees_imports_inside_functions(tmp_path):
    for package in LAYERS:
        (tmp_path / package).mkdir()
    (tmp_path / "teachers" / "bad.py").write_text("def f():\n    from experiments.run import main\n")
    (tmp_path / "idlm" / "sibling.py").write_text("import dlm_one.losses\n")
    assert violations(tmp_path) == ["teachers/bad.py imports experiments", "idlm/sibling.py imports dlm_one"]


# Inside experiments/: the dispatcher (run.py) and the other entry points import the recipes, the recipes import the
# shared helpers (rows, naming, loading, methods) and the reporting package, never the other way round.


def module_graph(root: Path, package: str = "experiments") -> dict[str, set[str]]:
    """module -> the modules of `package` it imports, at module level or inside a function (`from a import b` counts
    a.b when b is a module, else a). The dispatcher's recipes (MethodSpec.recipe, imported by name) count as
    imports of experiments.run."""
    paths = {".".join(p.relative_to(root).with_suffix("").parts).removesuffix(".__init__"): p
             for p in sorted((root / package).rglob("*.py"))}
    graph = {name: set() for name in paths}
    for name, path in paths.items():
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                base = node.module
                if node.level:   # relative: from the module's package, up level - 1 packages
                    parts = name.split(".")[: len(name.split(".")) - node.level + (path.name == "__init__.py")]
                    base = ".".join([*parts, node.module])
                targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in paths else base for alias in node.names]
            else:
                continue
            graph[name] |= {t for t in targets if t in paths and t != name}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One cycle (a -> ... -> a) through every strongly connected group of modules."""
    found, done = [], set()
    for start in sorted(graph):
        if start in done:
            continue
        # the modules start reaches, with the path to each; a path back to start is a cycle
        paths, frontier = {start: [start]}, [start]
        while frontier:
            node = frontier.pop(0)
            for nxt in sorted(graph[node]):
                if nxt == start:
                    cycle = paths[node] + [start]
                    if not any(set(cycle) <= set(c) for c in found):
                        found.append(cycle)
                    frontier = []
                    break
                if nxt not in paths:
                    paths[nxt] = paths[node] + [nxt]
                    frontier.append(nxt)
        done.add(start)
    return found


def test_experiments_has_no_import_cycle():
    from experiments.methods import METHODS

    graph = module_graph(REPO_ROOT)
    graph["experiments.run"] |= {spec.recipe.split(":")[0] for spec in METHODS.values()}
    found = [" -> ".join(c) for c in cycles(graph)]
    assert found == [], "import cycles in experiments/:\n" + "\n".join(found)
    assert [name for name, imports in graph.items() if "experiments.run" in imports] == []   # nothing imports it


def test_the_cycle_walk_sees_imports_inside_functions(tmp_path):
    (tmp_path / "experiments").mkdir()
    (tmp_path / "experiments" / "a.py").write_text("from experiments.b import f\n")
    (tmp_path / "experiments" / "b.py").write_text("def f():\n    from experiments import c\n")
    (tmp_path / "experiments" / "c.py").write_text("import experiments.a\n")
    (tmp_path / "experiments" / "d.py").write_text("from experiments.a import x\n")
    assert cycles(module_graph(tmp_path)) == [["experiments.a", "experiments.b", "experiments.c", "experiments.a"]]
