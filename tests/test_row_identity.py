"""A result row's name holds everything that changes its numbers; user runs write to a scratch folder; the committed
set results/ is written only when named."""
import json
import re
import shlex

import pytest

from core.paths import CHECKPOINTS_DIR, REPO_ROOT, RUNS_DIR
from experiments.config import load_config
from experiments.methods import METHODS
from experiments.naming import path_digest, results_dir, row_suffix, sample_row_name
from tests.recorded_commands import todays_args, todays_row_name


def name_of(*args):
    return sample_row_name(load_config(list(args)))


def test_default_settings_keep_the_committed_names():
    assert name_of() == "mdlm-shakespeare-small-steps64"
    assert name_of("teacher_path=checkpoints/mdlm-shakespeare-small") == "mdlm-shakespeare-small-steps64"
    assert name_of("sampling.num_samples=256", "steps=1024") == "mdlm-shakespeare-small-steps1024"   # more samples


@pytest.mark.parametrize("args, suffix", [
    (["sampling.num_samples=8"], "-n8"),
    (["seed=3"], "-seed3"),
    (["sampling.temperature=0.9"], "-T0.9"),
    (["teacher=duo", "sampling.predictor=greedy_tail"], "-greedy_tail"),
    (["sampling.top_p=0.9"], "-p0.9"),
    (["sampling.float64=false"], "-fp32"),
    (["sampling.cache=false"], "-nocache"),
    (["sampling.temperature=0.9", "sampling.num_samples=8", "seed=1"], "-T0.9-n8-seed1"),
])
def test_options_that_change_the_numbers_are_in_the_name(args, suffix):
    assert row_suffix(load_config(args)) == suffix


def test_diffuseq_sampler_options_are_in_the_name():
    cfg = load_config(["teacher=diffuseq", "diffuseq.sampler=ancestral", "diffuseq.clamp=false"])
    assert row_suffix(cfg) == "-ancestral-noclamp"
    # DLM-One's student has no DiffuSeq sampler: those keys do not name its rows
    assert row_suffix(load_config(["method=dlm_one", "seed=2"])) == "-seed2"


def test_data_folder_and_teacher_are_in_the_name(tmp_path):
    import hashlib

    corpus = tmp_path / "a" / "corpus"
    corpus.mkdir(parents=True)
    (corpus / "train.txt").write_text("To be, or not to be\n")
    (tmp_path / "b" / "teacher").mkdir(parents=True)
    # the data are named by their folder and the sha256 of the training split's bytes
    a = hashlib.sha256(b"To be, or not to be\n").hexdigest()[:6]
    evaluator = f"eval.evaluator={REPO_ROOT / 'checkpoints' / 'ar-shakespeare-small'}"   # none trained on it here
    assert row_suffix(load_config(["method=real_text", f"data.path={corpus}", evaluator])) == f"-data-{a}"
    # a model folder by its path: inside the repository the tag does not depend on where the clone lives
    b = path_digest(tmp_path / "b" / "teacher")
    assert re.fullmatch(r"teacher-[0-9a-f]{6}", b) and b == path_digest(str(tmp_path / "b" / "teacher"))
    assert path_digest(CHECKPOINTS_DIR / "x") == "x-" + hashlib.sha1(b"checkpoints/x").hexdigest()[:6]
    (tmp_path / "b" / "teacher" / "config.json").write_text((CHECKPOINTS_DIR / "mdlm-shakespeare-small" /
                                                              "config.json").read_text())   # another MDLM teacher
    assert name_of(f"teacher_path={tmp_path / 'b' / 'teacher'}") == f"mdlm-shakespeare-small-steps64-from-{b}"
    # a teacher recorded as trained on the embedded corpus runs on this data only when told to
    assert name_of(f"teacher_path={tmp_path / 'b' / 'teacher'}", f"data.path={corpus}", "data.allow_mismatch=true",
                   evaluator) == f"mdlm-corpus-small-steps64-data-{a}-from-{b}"


def committed_single_rows():
    """(file stem, command arguments) of committed rows that one `experiments.run` command wrote as its own row,
    both under today's names (tests/recorded_commands.py)."""
    for path in sorted((REPO_ROOT / "results" / "rows").glob("*.json")):
        row = json.loads(path.read_text())
        args = todays_args(row["command"])
        if row["command"].startswith("python -m experiments.run") and row["method"] in ("sample", "teacher", "real_text",
                                                                                         "copy_source"):
            # a control row a student's command wrote beside its student is named by the control, not the command
            if not METHODS[load_config(args).method].student_rows:
                yield todays_row_name(path.stem, row["command"]), args


def test_every_committed_row_name_is_what_its_command_names_today():
    rows = list(committed_single_rows())
    assert len(rows) > 50
    for stem, args in rows:
        cfg = load_config(args)
        sampled = {"diffuseq": f"diffuseq-{cfg.task}-{cfg.preset}-steps{cfg.steps}-k{cfg.diffuseq.candidates}",
                   "ar_lm": f"ar_lm-{cfg.corpus}-{cfg.preset}", "ar_seq2seq": f"ar_seq2seq-{cfg.task}-{cfg.preset}-greedy"}
        made = {"sample": sample_row_name(cfg) if cfg.teacher not in sampled else sampled[cfg.teacher] + row_suffix(cfg),
                "real_text": f"real-text-{cfg.corpus}-test{row_suffix(cfg)}",
                "copy_source": f"copy-source-{cfg.task}-test{row_suffix(cfg)}"}[cfg.method]
        assert made == stem, args


def test_rows_go_to_a_scratch_folder_unless_results_is_named():
    assert results_dir(load_config([])) == RUNS_DIR / "results"
    assert str(results_dir(load_config(["results_dir=results"]))) == "results"


def test_makefile_result_targets_write_the_committed_set():
    text = (REPO_ROOT / "Makefile").read_text()
    targets = re.findall(r"^(results-[\w-]+):.*?\n((?:\t.*\n)+)", text, flags=re.M)
    assert {name for name, _ in targets} == {"results-teachers", "results-diffuseq", "results-idlm"}
    for name, body in targets:
        commands = [c for c in body.split("$(PY)") if c.startswith(" -m experiments.run ")]
        assert commands, name
        assert all(c.startswith(" -m experiments.run results_dir=results ") for c in commands), name
        reports = [c for c in body.split("$(PY)") if c.startswith(" -m experiments.reports")]
        assert reports and all(c.startswith(" -m experiments.reports all --results-dir results\n") for c in reports), name


def test_tables_compare_rows_of_the_default_variant_only():
    from experiments.reports.readme import _teacher_gaps

    def row(steps, ppl, variant=""):
        return {"method": "sample", "teacher": "mdlm", "corpus": "shakespeare", "steps": steps, "temperature": 1.0,
                "metrics": {"gen_ppl": ppl}, "variant": variant}
    real = {"method": "real_text", "teacher": "none", "corpus": "shakespeare", "steps": 0, "metrics": {"gen_ppl": 10.0}}
    lines = _teacher_gaps([real, row(8, 40.0), row(1024, 20.0), row(1024, 11.0, "-n8"), row(8, 99.0, "-seed1")])
    assert "| mdlm | shakespeare | 2 | – | 2 |" in lines


def test_an_idlm_run_reuses_the_committed_teacher_row_by_copying_it(tmp_path, monkeypatch):
    from experiments import controls

    committed = tmp_path / "results"
    (committed / "rows").mkdir(parents=True)
    row = {"teacher_path": "checkpoints/mdlm-shakespeare-small", "float64_sampling": True, "temperature": 1.0,
           "evaluator": "reference-ar", "n_samples": 64}
    (committed / "rows" / "mdlm-shakespeare-small-steps1024.json").write_text(json.dumps(row))
    monkeypatch.setattr(controls, "RESULTS_DIR", committed)
    scratch = tmp_path / "scratch" / "mdlm-shakespeare-small-steps1024.json"
    assert controls.reuse_row(scratch, row) and json.loads(scratch.read_text()) == row
    assert not controls.reuse_row(tmp_path / "scratch" / "x.json", row)
    more = tmp_path / "more" / "mdlm-shakespeare-small-steps1024.json"
    assert not controls.reuse_row(more, {**row, "n_samples": 256}) and not more.exists()   # more samples than it has


def test_an_idlm_row_names_a_student_other_than_the_committed_one(tmp_path):
    committed = ["method=idlm", "steps=8", "student_path=checkpoints/idlm-mdlm-shakespeare-small"]
    assert sample_row_name(load_config(committed)) == "mdlm-shakespeare-small-steps8"   # the committed row's name
    fresh = row_suffix(load_config(["method=idlm", "steps=8", f"run_dir={tmp_path / 'run'}"]))
    assert fresh == f"-student-{path_digest(tmp_path / 'run' / 'student')[-6:]}"


def test_every_committed_idlm_student_row_name_is_what_its_command_names_today():
    commands = [(path.stem, json.loads(path.read_text())["command"])
                for path in sorted((REPO_ROOT / "results" / "rows").glob("idlm-*.json")) if "-matched-" not in path.stem]
    assert len(commands) >= 16
    for stem, command in commands:
        args = todays_args(command)
        assert f"idlm-{sample_row_name(load_config(args))}" == todays_row_name(stem, command), args


def test_committed_distilled_rows_are_named_by_the_command_that_trained_the_committed_student():
    """An SDTT / Duo-DCD / DiDi-Instruct row's command trained the student that is committed as
    checkpoints/<method>-<run name> (its model card's command is the row's), the row is named as that command names
    it (the run folder's student: `-student-<hash>`, the same in every clone; older rows: the checkpoint's name),
    and the entropy-matched control is named after the student's row. A row that evaluates the committed student at
    other settings (student_path=checkpoints/<method>-<run name>) is named by the checkpoint."""
    rows = {path.stem: json.loads(path.read_text()) for path in sorted((REPO_ROOT / "results" / "rows").glob("*.json"))}
    students = {stem: row for stem, row in rows.items() if row["method"] in ("sdtt", "dcd", "didi")}
    assert {row["method"] for row in students.values()} == {"sdtt", "dcd", "didi"}
    for stem, row in students.items():
        args = shlex.split(row["command"])[3:]
        cfg = load_config(args)
        checkpoint = CHECKPOINTS_DIR / f"{cfg.method}-{cfg.teacher}-{cfg.corpus}-{cfg.preset}"
        if cfg.student_path is not None:
            assert (REPO_ROOT / cfg.student_path).resolve() == checkpoint.resolve(), stem
            assert stem == f"{cfg.method}-{sample_row_name(cfg)}", stem
            continue
        made_by = json.loads((checkpoint / "config.json").read_text())["provenance"]["command"]
        assert made_by == row["command"], stem
        as_checkpoint = load_config([*args, f"student_path={checkpoint}"])   # rows made before -student-<hash>
        assert stem in {f"{c.method}-{sample_row_name(c)}" for c in (cfg, as_checkpoint)}, args
    matched = [(stem, row) for stem, row in rows.items() if row.get("matched_to", "").removesuffix(".json") in students]
    assert len(matched) == len(students)
    for stem, row in matched:
        assert stem == f"{row['matched_to'].removesuffix('.json')}-matched-T{row['temperature']:.3f}"
