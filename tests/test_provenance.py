"""Whether a row may stand in a table as it is: stale rows (experiments/reports/provenance.py) on throwaway git
repositories, where a change to a method's sources counts and a change to comments, docstrings or only new functions
does not."""
import subprocess

from experiments.reports.provenance import GitHistory, code_fingerprint, only_adds_functions, row_status


def _git(repo, *args):
    out = subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", *args], cwd=repo, check=True,
                         capture_output=True, text=True)
    return out.stdout.strip()


def _commit(repo, path, text):
    (repo / path).parent.mkdir(parents=True, exist_ok=True)
    (repo / path).write_text(text)
    _git(repo, "add", path)
    _git(repo, "commit", "-q", "-m", f"change {path}")
    return _git(repo, "rev-parse", "HEAD")


def test_rows_older_than_their_methods_last_change_are_stale(tmp_path):
    _git(tmp_path, "init", "-q")
    first = _commit(tmp_path, "teachers/mdlm.py", "v1")
    other = _commit(tmp_path, "teachers/sedd.py", "v1")
    changed = _commit(tmp_path, "teachers/mdlm.py", "v2")
    later = _commit(tmp_path, "README.md", "text")

    def status(commit, method="sample", teacher="mdlm"):
        return row_status({"method": method, "teacher": teacher, "commit": commit}, GitHistory(tmp_path))

    assert status(first) == ("stale", changed)
    assert status(other) == ("stale", changed)
    assert status(changed) == ("current", changed) and status(later) == ("current", changed)
    assert status(other, teacher="sedd") == ("current", other)      # the sedd sampler has not changed since
    assert status(first, method="sample (entropy-matched)") == ("stale", changed)
    assert status(later + "+dirty")[0] == "dirty"
    assert status("unknown")[0] == "unknown commit" and status("0" * 40)[0] == "unknown commit"
    assert status(later, method="new_method", teacher="none")[0] == "sources unknown"   # no code, no history
    assert status(later, method="sample", teacher="ar_lm")[0] == "sources unknown"      # no AR baseline yet
    sdtt = _commit(tmp_path, "baselines/sdtt.py", "v1")                 # SDTT rows depend on SDTT and the teacher
    assert status(sdtt, method="sdtt") == ("current", sdtt) and status(later, method="sdtt")[0] == "stale"
    ar = _commit(tmp_path, "teachers/ar.py", "v1")
    assert status(ar, teacher="ar_lm") == ("current", ar) and status(ar, teacher="ar_seq2seq")[0] == "current"
    dcd = _commit(tmp_path, "teachers/dcd.py", "v1")
    _git(tmp_path, "mv", "teachers/dcd.py", "baselines/dcd.py")
    _git(tmp_path, "commit", "-q", "-m", "move")
    moved = _git(tmp_path, "rev-parse", "HEAD")
    # a row of the model DCD makes depends on the DCD code, wherever it lives
    assert status(dcd, teacher="duo_distilled") == ("stale", moved)
    assert status(moved, method="dcd", teacher="duo")[0] == "current"
    # a row made on a branch stays current after a merge that leaves its sources as they were
    trunk = _git(tmp_path, "rev-parse", "--abbrev-ref", "HEAD")
    _git(tmp_path, "checkout", "-q", "-b", "side")
    branch_row = _commit(tmp_path, "baselines/sdtt.py", "v2")
    _git(tmp_path, "checkout", "-q", trunk)
    _commit(tmp_path, "README.md", "more text")
    _git(tmp_path, "-c", "user.name=t", "merge", "-q", "--no-ff", "-m", "merge", "side")
    assert status(branch_row, method="sdtt") == ("current", branch_row)
    assert status(sdtt, method="sdtt")[0] == "stale"



def test_a_change_to_comments_or_docstrings_leaves_rows_current(tmp_path):
    _git(tmp_path, "init", "-q")
    code = 'def f(x):\n    """Twice x."""\n    return 2 * x   # doubled\n'
    made = _commit(tmp_path, "teachers/mdlm.py", code)
    _commit(tmp_path, "teachers/mdlm.py", 'def f(x):\n    """x, doubled."""\n    # why: ...\n    return 2 * x\n')
    _commit(tmp_path, "teachers/mdlm.py", '"""The module."""\n\n\ndef f(x):\n    return 2 * x\n')

    def status(commit):
        return row_status({"method": "sample", "teacher": "mdlm", "commit": commit}, GitHistory(tmp_path))[0]

    assert status(made) == "current"
    assert GitHistory(tmp_path).last_change(("teachers/mdlm.py",)) == made    # the newest change of its code
    recoded = _commit(tmp_path, "teachers/mdlm.py", 'def f(x):\n    return 3 * x\n')    # the code itself
    assert status(made) == "stale" and status(recoded) == "current"
    assert code_fingerprint("def f():\n    'only a docstring'\n") == code_fingerprint("def f():\n    pass\n")
    assert code_fingerprint("x = 'a string, not a docstring'") != code_fingerprint("x = 'another'")
    config = _commit(tmp_path, "teachers/mdlm.yaml", "a: 1  # note\n")
    _commit(tmp_path, "teachers/mdlm.yaml", "a: 1  # other note\n")
    assert GitHistory(tmp_path).sources_changed(config, ("teachers/mdlm.yaml",))   # only Python is parsed
    # a package's README is documentation: editing it leaves the package's rows current, and is no change of it
    package = _commit(tmp_path, "idlm/method.py", "x = 1\n")
    _commit(tmp_path, "idlm/README.md", "# IDLM\n")
    _commit(tmp_path, "idlm/README.md", "# IDLM, the method\n")
    assert not GitHistory(tmp_path).sources_changed(package, ("idlm",))
    assert GitHistory(tmp_path).last_change(("idlm",)) == package


def test_a_file_that_only_gains_functions_leaves_rows_current(tmp_path):
    _git(tmp_path, "init", "-q")
    code = 'import torch\n\n\ndef f(x):\n    return g(x)\n\n\nY = 2\n'
    made = _commit(tmp_path, "teachers/duo.py", code)
    _commit(tmp_path, "teachers/duo.py", code + '\n\n@torch.no_grad()\ndef h(x, k: int = 2):\n    return f(x) * k\n')

    def status(commit):
        return row_status({"method": "sample", "teacher": "duo", "commit": commit}, GitHistory(tmp_path))[0]

    assert status(made) == "current"                   # nothing f or Y ran can reach h
    _commit(tmp_path, "teachers/duo.py", code.replace("Y = 2", "Y = 3") + '\n\ndef h(x):\n    return x\n')
    assert status(made) == "stale"
    added = lambda extra, old=code: only_adds_functions(old, old + extra)   # noqa: E731
    assert added('\ndef h(x):\n    """new."""\n    return x\n')
    assert not added('\ndef g(x):\n    return x\n')                 # f calls g: the name was already written
    assert not added('\n@register\ndef h(x):\n    return x\n')        # a decorator runs at import
    assert not added('\ndef h(x=torch.zeros(1)):\n    return x\n')     # so does a default
    assert not added('\nZ = 1\n') and not added('\nclass H:\n    pass\n')
    assert not added('\ndef h(x):\n    return x\n', old=code + 'N = len(globals())\n')   # f could look h up
