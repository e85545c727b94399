"""Own data end to end, through the commands a user types: a story CSV and a meaning-representation JSONL are
prepared, tiny teachers and a tiny AR evaluator are pretrained on them for 2 steps (data.seq_len=auto), and
`run data.path=<folder>` finds them by itself: it samples them, distils them (method=idlm, method=dlm_one, with their
controls) and writes rows naming the data by content."""
import hashlib
import json
import re
import shutil
import subprocess
import sys
from types import SimpleNamespace

import pytest

from core.paths import REPO_ROOT, RUNS_DIR
from experiments.config import load_config
from experiments.naming import path_digest, run_folder_name
from tests.own_data import mr_records, write_jsonl, write_stories_csv

pytestmark = pytest.mark.e2e

TRAIN = ["threads=1", "train.max_steps=2", "train.save_every=2", "train.eval_every=2", "train.eval_batches=1",
         "train.batch_size=4", "data.seq_len=auto"]
SAMPLE = ["threads=1", "steps=4", "sampling.num_samples=4", "sampling.batch_size=4"]


def run(module, *args):
    out = subprocess.run([sys.executable, "-m", module, *map(str, args)], cwd=REPO_ROOT, capture_output=True,
                         text=True, env={"OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1", "PATH": "/usr/bin:/bin"})
    assert out.returncode == 0, out.stderr[-3000:]
    return out


@pytest.fixture(scope="module")
def run_folders():
    """The default run folders the tests' pretraining writes (under runs/, where `run` looks), removed after them."""
    names = []
    yield names
    for name in names:
        shutil.rmtree(RUNS_DIR / name, ignore_errors=True)


def expect_fresh(run_folders, *configs) -> list[str]:
    names = [run_folder_name(cfg) for cfg in configs]
    for name in names:
        shutil.rmtree(RUNS_DIR / name, ignore_errors=True)   # a previous run of this test on the same data
    run_folders.extend(names)
    return names


def portable(row: dict, tmp_path) -> bool:
    """No field but the command line a user typed records a path of this machine outside the repository."""
    return str(tmp_path) not in json.dumps({k: v for k, v in row.items() if k != "command"})


@pytest.fixture(scope="module")
def stories(tmp_path_factory, run_folders):
    """A story CSV prepared into a data.path folder, with a tiny MDLM teacher and a tiny AR evaluator pretrained on
    it in their default run folders: what `run ... data.path=<it>` finds by itself."""
    tmp_path = tmp_path_factory.mktemp("stories")
    write_stories_csv(tmp_path / "stories.csv", 40)
    lm = tmp_path / "stories"
    prepared = run("experiments.data", "prepare", tmp_path / "stories.csv", lm,
                   "--text-field", ",".join(f"sentence{i}" for i in range(1, 6)))
    teacher_run, evaluator_run = expect_fresh(
        run_folders, load_config(["teacher=mdlm", "preset=tiny", f"data.path={lm}"], command="pretrain"),
        load_config(["teacher=ar", "preset=tiny", f"data.path={lm}"], command="pretrain"))
    pretrained = run("experiments.pretrain", "teacher=mdlm", "preset=tiny", f"data.path={lm}", *TRAIN)
    run("experiments.pretrain", "teacher=ar", "preset=tiny", f"data.path={lm}", *TRAIN)   # the GenPPL evaluator
    return SimpleNamespace(
        folder=lm, digest=hashlib.sha256((lm / "train.jsonl").read_bytes()).hexdigest(), teacher_run=teacher_run,
        evaluator_run=evaluator_run, pretrained=pretrained, root=tmp_path,
        seq_len=int(re.search(r"^data.seq_len=(\d+) holds 99% of the train documents whole", prepared.stdout, re.M)[1]))


def test_a_story_corpus_from_csv_to_a_sampled_row(stories, tmp_path):
    lm, digest, seq_len, teacher_run = stories.folder, stories.digest, stories.seq_len, stories.teacher_run
    assert teacher_run == f"mdlm-stories-tiny-data-{digest[:6]}"
    assert f"data.seq_len=auto: {seq_len} tokens hold" in stories.pretrained.stdout
    assert "warning" not in stories.pretrained.stderr
    config = json.loads((RUNS_DIR / teacher_run / "pretrained" / "config.json").read_text())
    assert config["seq_len"] == seq_len and config["provenance"]["data"] == {"name": "stories", "digest": digest}
    out = run("experiments.run", "teacher=mdlm", "preset=tiny", f"data.path={lm}", *SAMPLE,
              f"results_dir={tmp_path / 'res'}")
    assert f"teacher: {RUNS_DIR / teacher_run / 'pretrained'}" in out.stdout
    row = json.loads((tmp_path / "res" / "rows" / f"mdlm-stories-tiny-steps4-n4-data-{digest[:6]}.json")
                     .read_text())
    assert row["evaluator"] == f"reference-ar:runs/{stories.evaluator_run}/pretrained"
    assert row["data"] == {"name": "stories", "digest": digest} and row["sample_length"] == seq_len
    assert row["metrics"]["gen_ppl"] > 0 and row["n_samples"] == 4 and portable(row, stories.root)


def test_idlm_distils_a_teacher_of_your_own_data_and_writes_its_controls(stories, tmp_path):
    """method=idlm data.path=<it> finds the teacher and the evaluator trained on it, distils for 2 updates and
    writes the student's row beside its controls, every one on the same data (rc 0)."""
    out = run("experiments.run", "method=idlm", "preset=tiny", f"data.path={stories.folder}", *SAMPLE,
              "distill.max_steps=2", "distill.eval_every=1", "distill.batch_size=4", "idlm.val_samples=4",
              "idlm.val_steps=4", "eval.frontier_temperatures=[0.5,1.5]", f"run_dir={tmp_path / 'run'}",
              f"results_dir={tmp_path / 'res'}")
    data = f"-n4-data-{stories.digest[:6]}"
    [path] = (tmp_path / "res" / "rows").glob(f"idlm-mdlm-stories-tiny-steps4-student-??????{data}.json")
    student = json.loads(path.read_text())
    assert student["method"] == "idlm" and student["distill_step"] in (1, 2)
    assert student["data"] == {"name": "stories", "digest": stories.digest} and portable(student, stories.root)
    for control in (f"steps4{data}", f"steps1024{data}", f"steps1024-T0.5{data}"):   # the teacher's sweeps
        row = json.loads((tmp_path / "res" / "rows" / f"mdlm-stories-tiny-{control}.json").read_text())
        assert row["data"] == student["data"] and row["evaluator"] == student["evaluator"]
        assert row["teacher_path"] == f"runs/{stories.teacher_run}/pretrained"
    matched = list(path.parent.glob(f"{path.stem}-matched-T*.json"))   # the entropy-matched teacher, or why not
    assert [json.loads(m.read_text())["data"] for m in matched] == [student["data"]] * len(matched)
    assert matched or f"no entropy-matched teacher row for {path.name}" in out.stdout


@pytest.fixture(scope="module")
def mr_text(tmp_path_factory, run_folders):
    """A meaning-representation JSONL prepared into a seq2seq data.path folder, with a tiny DiffuSeq teacher
    pretrained on it in its default run folder."""
    tmp_path = tmp_path_factory.mktemp("mr")
    write_jsonl(tmp_path / "mr.jsonl", mr_records(40))
    s2s = tmp_path / "mr_text"
    out = run("experiments.data", "prepare", tmp_path / "mr.jsonl", s2s, "--src-field", "mr", "--trg-field", "ref")
    [teacher_run] = expect_fresh(
        run_folders, load_config(["teacher=diffuseq", "preset=tiny", f"data.path={s2s}"], command="pretrain"))
    run("experiments.pretrain", "teacher=diffuseq", "preset=tiny", f"data.path={s2s}", *TRAIN,
        "diffuseq.val_sources=2", "diffuseq.val_steps=2")
    return SimpleNamespace(
        folder=s2s, digest=hashlib.sha256((s2s / "train.jsonl").read_bytes()).hexdigest(), teacher_run=teacher_run,
        root=tmp_path, seq_len=int(re.search(r"^data.seq_len=(\d+) holds 99% of the train pairs whole", out.stdout,
                                             re.M)[1]))


def test_a_meaning_representation_set_from_jsonl_to_a_sampled_row(mr_text, tmp_path):
    digest = mr_text.digest
    config = json.loads((RUNS_DIR / mr_text.teacher_run / "pretrained" / "config.json").read_text())
    assert config["seq_len"] == mr_text.seq_len
    assert config["provenance"]["data"] == {"name": "mr_text", "digest": digest}
    run("experiments.run", "teacher=diffuseq", "preset=tiny", f"data.path={mr_text.folder}", *SAMPLE,
        "diffuseq.bertscore=false", f"results_dir={tmp_path / 'res'}")
    row = json.loads((tmp_path / "res" / "rows" / f"diffuseq-mr_text-tiny-steps4-k1-n4-data-{digest[:6]}.json")
                     .read_text())
    assert row["data"] == {"name": "mr_text", "digest": digest} and 0 <= row["metrics"]["single"]["bleu"] <= 1
    assert row["task"] == "mr_text"   # the data's name, not the embedded task whose settings the run starts from
    assert len(row["outputs"]) == row["n_samples"] <= 4 and portable(row, mr_text.root)


def test_dlm_one_distils_a_teacher_of_your_own_pairs_and_pairs_its_rows_with_the_teacher(mr_text, tmp_path):
    """method=dlm_one data.path=<it> finds the DiffuSeq teacher trained on it, runs both stages for 2 updates each
    and writes one row per stage on the same data, paired with the teacher's 1-step row (rc 0)."""
    data, results = [f"data.path={mr_text.folder}", "diffuseq.bertscore=false"], f"results_dir={tmp_path / 'res'}"
    run("experiments.run", "teacher=diffuseq", "preset=tiny", *data, *SAMPLE[:1], "steps=1", *SAMPLE[2:], results)
    out = run("experiments.run", "method=dlm_one", "preset=tiny", *data, *SAMPLE[:1], *SAMPLE[2:], results,
        "dlm_one.stage1_steps=2", "dlm_one.stage2_steps=2", "dlm_one.eval_every=1", "dlm_one.val_sources=2",
        "distill.batch_size=4", f"run_dir={tmp_path / 'run'}")
    assert "are those tuned for task=qqp, applied to data 'mr_text'" in out.stdout
    tag = f"-n4-data-{mr_text.digest[:6]}"
    for stage in (1, 2):
        student = path_digest(tmp_path / "run" / f"stage{stage}" / "student").rsplit("-", 1)[1]
        row = json.loads((tmp_path / "res" / "rows" /
                          f"dlm_one-diffuseq-mr_text-tiny-stage{stage}-steps1-k1-student-{student}{tag}.json").read_text())
        assert row["method"] == "dlm_one" and row["stage"] == stage and row["task"] == "mr_text"
        assert portable(row, mr_text.root)
        assert row["data"] == {"name": "mr_text", "digest": mr_text.digest}
        assert row["paired_gaps"]["teacher_steps1"]["row"] == f"diffuseq-mr_text-tiny-steps1-k1{tag}.json"
