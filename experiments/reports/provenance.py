"""May a row stand in a comparison table as it is? Two checks, both from fields the row already records.

Stale rows. A row is *current* when its method's source files (METHOD_SOURCES) are the same at the commit the row
records as at the current commit (`git diff <row commit> HEAD -- <paths>`), *stale* when they differ: the code
has changed since the row was made, though the change may not move its numbers (a rename counts too). A Python file
whose syntax tree is the same once docstrings are dropped has not changed, and a Markdown file (a package's README)
never does: comments, docstrings and documentation cannot move a number. Nor does a Python file that only gains
new functions (`only_adds_functions`): the code a row ran cannot call a name it never wrote. Anything else, a
non-Python file included, counts. Comparing the files rather than the order of commits keeps a row made on a branch
current after a merge that left its sources as they were. "The method's last change" (the newest commit that changed
the code of its sources) is reported beside it. A row whose commit ends in "+dirty" was made from uncommitted code
and is marked *dirty*; a commit this repository does not know is *unknown commit*; a method with no source path in
the table and no history is *sources unknown*. The evaluator is not part of a method's sources: an evaluator change
shows up as a different `evaluator` string, which the mismatch check below catches.

Mismatched rows. Rows that differ in sample count, seed, evaluator or device never sit side by side silently: each
table takes the most common value of every MATCH_FIELDS field over its rows, and a row (or an interpolated number)
that differs gets a footnote marker whose note lists the differing fields.
"""
from __future__ import annotations

import ast
import subprocess
from collections import Counter
from pathlib import Path

from core.paths import REPO_ROOT
from experiments.methods import METHODS, MODEL_SOURCES
from experiments.reports.kinds import is_ar

# method -> the packages and files whose change can change its rows: each method's MethodSpec.source_paths (its
# recipe, the loop it trains on, the code that writes its rows, "{model}" its teacher family); every AR row shares one
METHOD_SOURCES = {**{name: spec.source_paths for name, spec in METHODS.items()},
                  "ar": ("core/evaluate/reference_ar.py", "teachers/ar.py")}
MATCH_FIELDS = ("n_samples", "seed", "evaluator", "device")
SUPERSCRIPTS = "¹²³⁴⁵⁶⁷⁸⁹"


def source_key(record: dict) -> str:
    """The METHOD_SOURCES entry of a row: every AR row shares one, so does every Duo-DCD row (the model DCD makes,
    duo_distilled, sampled, or the dcd method); the entropy-matched control is the sampling method."""
    method = record["method"].removesuffix(" (entropy-matched)")
    if is_ar(record):
        return "ar"
    return "dcd" if method == "sample" and record.get("teacher") == "duo_distilled" else method


def source_paths(record: dict) -> tuple[str, ...]:
    key = source_key(record)
    templates = METHOD_SOURCES.get(key, (key, f"baselines/{key}.py", f"baselines/{key}"))
    model = record.get("teacher", "")
    return tuple(t.format(model=MODEL_SOURCES.get(model, model)) for t in templates)


class GitHistory:
    """The git questions the tables ask of one repository, each asked once per build of the tables."""

    def __init__(self, repo: Path = REPO_ROOT):
        self.repo = Path(repo)
        self._changes: dict[tuple, str | None] = {}
        self._changed: dict[tuple, bool | None] = {}

    def _git(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run(["git", *args], cwd=self.repo, capture_output=True, text=True)

    def last_change(self, paths: tuple[str, ...]) -> str | None:
        """The newest commit that changed the code of any of `paths` (one changing comments or docstrings only does
        not count); None without history for them (or outside a git checkout)."""
        if paths not in self._changes:
            out = self._git("log", "--format=%H", "--", *paths)
            commits = out.stdout.split() if out.returncode == 0 else []
            # a root commit has no parent to compare with: None, which counts as a change
            self._changes[paths] = next((c for c in commits if self._code_differs(f"{c}^", c, paths) is not False),
                                        None)
        return self._changes[paths]

    def sources_changed(self, commit: str, paths: tuple[str, ...]) -> bool | None:
        """Whether the code of `paths` differs between `commit` and HEAD; None when `commit` is not in this
        repository."""
        if (commit, paths) not in self._changed:
            known = self._git("cat-file", "-e", f"{commit}^{{commit}}").returncode == 0
            self._changed[(commit, paths)] = self._code_differs(commit, "HEAD", paths) if known else None
        return self._changed[(commit, paths)]

    def _code_differs(self, old: str, new: str, paths: tuple[str, ...]) -> bool | None:
        """Whether some file of `paths` differs between revisions `old` and `new` in more than comments and
        docstrings; None when git cannot compare them."""
        out = self._git("diff", "--name-only", old, new, "--", *paths)
        if out.returncode != 0:
            return None
        return any(not self._same_code(old, new, path) for path in out.stdout.splitlines())

    def _same_code(self, old: str, new: str, path: str) -> bool:
        """Whether the file `path` differs between `old` and `new` in comments and docstrings only (Python), or is
        documentation (Markdown: a package's README cannot change what its code computes)."""
        if path.endswith(".md"):
            return True
        if not path.endswith(".py"):
            return False
        versions = [self._git("show", f"{rev}:{path}") for rev in (old, new)]
        if any(v.returncode != 0 for v in versions):     # added or deleted
            return False
        try:
            return (code_fingerprint(versions[0].stdout) == code_fingerprint(versions[1].stdout)
                    or only_adds_functions(versions[0].stdout, versions[1].stdout))
        except SyntaxError:
            return False


def code_fingerprint(source: str) -> str:
    """The syntax tree of Python `source` without its docstrings, as text: equal for two versions that differ in
    comments, docstrings and layout only."""
    return ast.dump(_without_docstrings(ast.parse(source)))


def _without_docstrings(tree: ast.Module) -> ast.Module:
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if (isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and body
                and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant)
                and isinstance(body[0].value.value, str)):
            node.body = body[1:] or [ast.Pass()]
    return tree


# calls that reach a module's names without writing them: old code using one could find a new function
DYNAMIC_LOOKUPS = {"globals", "vars", "dir", "__dict__"}
IDENTIFIER_FIELDS = ("id", "attr", "name", "asname", "arg")   # where a syntax tree writes a name
INERT_DECORATORS = {"torch.no_grad()", "torch.inference_mode()"}   # wrap the function, touch nothing else


def only_adds_functions(old: str, new: str) -> bool:
    """Whether Python `new` is `old` (docstrings aside) with top-level functions added and nothing else changed, each
    under a name that `old` never writes, with no call in its signature and no decorator but INERT_DECORATORS (what
    runs when the module is imported), and `old` looks up no names dynamically (DYNAMIC_LOOKUPS). Then nothing `old`
    ran can reach the new code. Code in other files that calls the new functions is theirs to answer for."""
    old_tree, new_tree = (_without_docstrings(ast.parse(s)) for s in (old, new))
    old_names = {name for n in ast.walk(old_tree) for name in (getattr(n, field, None) for field in IDENTIFIER_FIELDS)
                 if isinstance(name, str)}
    if old_names & DYNAMIC_LOOKUPS:
        return False
    kept = iter(ast.dump(stmt) for stmt in old_tree.body)
    expected = next(kept, None)
    added = False
    for stmt in new_tree.body:
        if ast.dump(stmt) == expected:
            expected = next(kept, None)
            continue
        if (not isinstance(stmt, ast.FunctionDef) or stmt.name in old_names
                or any(ast.unparse(d) not in INERT_DECORATORS for d in stmt.decorator_list)
                or any(isinstance(n, ast.Call) for part in (stmt.args, stmt.returns) if part is not None
                       for n in ast.walk(part))):
            return False
        added = True
    return added and expected is None


def row_status(record: dict, history: GitHistory) -> tuple[str, str | None]:
    """(status, the method's last change) for one row; status is current / stale / dirty / unknown commit /
    sources unknown."""
    change = history.last_change(source_paths(record))
    commit = str(record.get("commit") or "unknown")
    if commit.endswith("+dirty"):
        return "dirty", change
    if change is None:
        return "sources unknown", None
    changed = history.sources_changed(commit, source_paths(record))
    return ("unknown commit" if changed is None else "stale" if changed else "current"), change


class Mismatches:
    """Footnote markers for rows whose MATCH_FIELDS differ from the most common values among `records`."""

    def __init__(self, records: list[dict]):
        self.usual = {field: _most_common([_value(r, field) for r in records]) for field in MATCH_FIELDS}
        self.markers: dict[tuple, str] = {}

    def differences(self, record: dict) -> tuple:
        return tuple((f, _value(record, f)) for f in MATCH_FIELDS if _value(record, f) != self.usual[f])

    def marker(self, *records: dict) -> str:
        """"" when every record has the usual values, else the marker of their combined differences."""
        differing = tuple(sorted({d for r in records for d in self.differences(r)}, key=str))
        if not differing:
            return ""
        if differing not in self.markers:
            n = len(self.markers)
            self.markers[differing] = SUPERSCRIPTS[n] if n < len(SUPERSCRIPTS) else f"^{n + 1}"
        return self.markers[differing]

    def describe(self, *records: dict) -> str:
        """The differing fields as text (the CSV's `mismatch` column)."""
        differing = sorted({d for r in records for d in self.differences(r)}, key=str)
        return "; ".join(f"{f}={v}" for f, v in differing)

    def notes(self) -> list[str]:
        if not self.markers:
            return []
        usual = ", ".join(f"{f} = {v}" for f, v in self.usual.items())
        return [f"Rows without a marker share {usual}. Marked numbers differ:", "",
                *(f"* {marker} " + ", ".join(f"{f} = {v}" for f, v in differing)
                  for differing, marker in self.markers.items()), ""]


def _value(record: dict, field: str):
    value = record.get(field)
    return None if value is None else str(value)


def _most_common(values: list) -> str | None:
    """Ties go to the value that sorts first, so the choice does not depend on row order."""
    counts = Counter(values)
    return min(counts, key=lambda v: (-counts[v], str(v))) if counts else None
