"""The import direction of the layers: core ← teachers ← methods (idlm, dlm_one, baselines) and reports ← experiments.
A lower layer never imports a higher one, at module level or inside a function, and a package never imports another
of its layer (a method another method, reports a method)."""
import ast
from pathlib import Path

from core.paths import REPO_ROOT

# reports reads rows and exported folders only, beside the methods: experiments' commands rebuild its tables
LAYERS = {"core": 0, "teachers": 1, "idlm": 2, "dlm_one": 2, "baselines": 2, "reports": 2, "experiments": 3}


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
