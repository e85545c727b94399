"""Data identity: a model folder records the data it was trained on (name + sha256 of the training split), `run`
refuses a model trained on other data unless data.allow_mismatch=true, and run folders, rows and resumes follow the
data's content, not its path."""
import hashlib
import json
import re
import shutil

import pytest

from core.paths import CHECKPOINTS_DIR, REPO_ROOT
from experiments.config import load_config
from experiments.naming import row_suffix, run_folder_name
from experiments.data_identity import data_identity, saved_run_config
from tests.bad_input import call_cli
from tests.own_data import seq2seq_folder, toy_pairs

QQP_TEACHER = CHECKPOINTS_DIR / "diffuseq-qqp-small"
REFUSED = (r"^error: teacher_path=\S+ was trained on data '{name}' \(sha256 [0-9a-f]{{12}}\), but this run is given "
           r"{given}[0-9a-f]{{12}}\); pass the data it was trained on, or data.allow_mismatch=true to run "
           r"it anyway\n$")
A_GIVEN = r"data.path=\S+/a \('a', sha256 "


def teacher_trained_on(folder, identity: dict | None, command: str = "python -m experiments.pretrain ..."):
    """A DiffuSeq teacher folder (config.json only: the checks read no weights) whose provenance records `identity`."""
    folder.mkdir(parents=True)
    config = json.loads((QQP_TEACHER / "config.json").read_text())
    config["provenance"] = {"command": command, **({"data": identity} if identity else {})}
    (folder / "config.json").write_text(json.dumps(config))
    return folder


def identity_of(folder) -> dict:
    return data_identity(load_config(["teacher=diffuseq", f"data.path={folder}"], command="pretrain"))


def test_the_digest_is_the_training_split_s_bytes_wherever_the_folder_lives(tmp_path):
    seq2seq_folder(tmp_path / "a" / "mine", toy_pairs("a"))
    digest = hashlib.sha256((tmp_path / "a" / "mine" / "train.jsonl").read_bytes()).hexdigest()
    assert identity_of(tmp_path / "a" / "mine") == {"name": "mine", "digest": digest}
    shutil.copytree(tmp_path / "a" / "mine", tmp_path / "b" / "mine")      # the same data in another folder
    shutil.move(tmp_path / "a" / "mine", tmp_path / "c" / "mine")          # and moved
    args = ["teacher=diffuseq", "diffuseq.bertscore=false"]
    names = {run_folder_name(load_config([*args, f"data.path={tmp_path / w / 'mine'}"], command="pretrain"))
             for w in "bc"}
    assert names == {f"diffuseq-mine-small-data-{digest[:6]}"}
    rows = {row_suffix(load_config(["method=copy_source", f"data.path={tmp_path / w / 'mine'}"])) for w in "bc"}
    assert rows == {f"-data-{digest[:6]}"}
    # the folder's name is the data's name unless data.name= gives it
    shutil.copytree(tmp_path / "b" / "mine", tmp_path / "renamed")
    assert identity_of(tmp_path / "renamed")["digest"] == digest
    assert row_suffix(load_config(["method=copy_source", f"data.path={tmp_path / 'renamed'}", "data.name=mine"])) \
        == f"-data-{digest[:6]}"
    # the valid and test splits are not the training data; a changed training file is other data
    (tmp_path / "renamed" / "test.jsonl").write_text('{"src": "x", "trg": "y"}\n')
    assert identity_of(tmp_path / "renamed")["digest"] == digest
    (tmp_path / "renamed" / "train.jsonl").write_text('{"src": "x", "trg": "y"}\n')
    assert identity_of(tmp_path / "renamed")["digest"] != digest


def test_a_teacher_trained_on_other_data_is_refused_naming_both(tmp_path, monkeypatch, capsys):
    seq2seq_folder(tmp_path / "a", toy_pairs("a"))
    seq2seq_folder(tmp_path / "b", toy_pairs("b"))
    teacher = teacher_trained_on(tmp_path / "teacher", identity_of(tmp_path / "b"))
    run = ["teacher=diffuseq", f"teacher_path={teacher}", f"results_dir={tmp_path / 'out'}"]
    code, out = call_cli("experiments.run", [*run, f"data.path={tmp_path / 'a'}"], monkeypatch, capsys)
    assert code == 2 and re.match(REFUSED.format(name="b", given=A_GIVEN), out.err), out.err
    # trained on B, run on the embedded task
    code, out = call_cli("experiments.run", run, monkeypatch, capsys)
    embedded = r"the embedded task 'qqp' \(sha256 "
    assert code == 2 and re.match(REFUSED.format(name="b", given=embedded), out.err), out.err
    assert not (tmp_path / "out").exists()
    # on its own data it runs; told to, on other data too, and its rows say so
    from experiments.rows import identity_fields

    assert "data_mismatch" not in identity_fields(load_config([*run, f"data.path={tmp_path / 'b'}"]))
    fields = identity_fields(load_config([*run, f"data.path={tmp_path / 'a'}", "data.allow_mismatch=true"]))
    assert fields["data_mismatch"] is True and fields["data"]["name"] == "a"


def test_folders_made_before_the_data_was_recorded_count_as_their_embedded_data(tmp_path, monkeypatch, capsys):
    # the committed teacher names no data: it was trained on the embedded qqp, so a copy of qqp is its data
    for split in ("train", "valid", "test"):
        shutil.copy(REPO_ROOT / "data" / "seq2seq" / "qqp" / f"{split}.jsonl.gz", tmp_path / f"{split}.jsonl.gz")
    assert load_config(["teacher=diffuseq", f"teacher_path={QQP_TEACHER}", f"data.path={tmp_path}"])
    assert load_config(["teacher=diffuseq"])   # and the embedded task itself
    seq2seq_folder(tmp_path / "a", toy_pairs("a"))
    code, out = call_cli("experiments.run", ["teacher=diffuseq", f"teacher_path={QQP_TEACHER}",
                                             f"data.path={tmp_path / 'a'}"], monkeypatch, capsys)
    assert code == 2 and re.match(REFUSED.format(name="qqp", given=A_GIVEN), out.err), out.err
    # one trained on a data.path of then: its data cannot be known now, so nothing is refused
    old = teacher_trained_on(tmp_path / "old", None, "python -m experiments.pretrain teacher=diffuseq data.path=/x")
    assert load_config(["teacher=diffuseq", f"teacher_path={old}", f"data.path={tmp_path / 'a'}"])


def test_rows_record_no_absolute_path_outside_the_repository(tmp_path):
    from experiments.naming import repo_relative
    from experiments.rows import identity_fields

    seq2seq_folder(tmp_path / "data" / "mine", toy_pairs("m"))
    fields = identity_fields(load_config(["method=copy_source", f"data.path={tmp_path / 'data' / 'mine'}"]))
    assert fields["data_path"] == ".../data/mine" and str(tmp_path) not in json.dumps(fields)
    assert fields["data"] == identity_of(tmp_path / "data" / "mine")
    assert repo_relative(f"reference-ar:{REPO_ROOT}/runs/ar/pretrained") == "reference-ar:runs/ar/pretrained"
    assert repo_relative("reference-ar:/srv/models/ar/pretrained") == "reference-ar:.../ar/pretrained"
    assert repo_relative("../my data") == "../my data" and repo_relative("gpt2-large") == "gpt2-large"


def saved_state(run_dir, cfg):
    (run_dir / "checkpoint").mkdir(parents=True)
    state = {"step": 5, "config": {"run": saved_run_config(cfg)}}
    (run_dir / "checkpoint" / "trainer.json").write_text(json.dumps(state))


def test_a_run_resumes_on_its_data_moved_and_is_refused_on_other_data(tmp_path, monkeypatch, capsys):
    seq2seq_folder(tmp_path / "a" / "mine", toy_pairs("a"))
    args = ["teacher=diffuseq", f"run_dir={tmp_path / 'run'}"]
    saved_state(tmp_path / "run", load_config([*args, f"data.path={tmp_path / 'a' / 'mine'}"], command="pretrain"))
    shutil.move(tmp_path / "a" / "mine", tmp_path / "b" / "mine")
    assert load_config([*args, f"data.path={tmp_path / 'b' / 'mine'}"], command="pretrain")   # resumable
    seq2seq_folder(tmp_path / "other", toy_pairs("other"))
    code, out = call_cli("experiments.pretrain", [*args, f"data.path={tmp_path / 'other'}"], monkeypatch, capsys)
    assert code == 2 and re.fullmatch(r"error: \S+/run holds a run on data.path=\S+/a/mine \(sha256 [0-9a-f]{12}\), "
                                      r"not on data.path=\S+/other \(sha256 [0-9a-f]{12}\): it cannot be resumed as "
                                      r"this run; .*\n", out.err), out.err


@pytest.fixture
def no_gpt2_large():
    from huggingface_hub import try_to_load_from_cache

    if isinstance(try_to_load_from_cache("gpt2-large", "config.json"), str):
        pytest.skip("gpt2-large is cached here: it is the evaluator")


def test_the_evaluator_trained_on_the_data_is_found_or_its_command_named(tmp_path, monkeypatch, capsys,
                                                                         no_gpt2_large):
    from tests.own_data import lm_folder

    monkeypatch.setattr("core.paths.RUNS_DIR", tmp_path / "runs")
    monkeypatch.setattr("experiments.setup.RUNS_DIR", tmp_path / "runs")
    lm_folder(tmp_path / "stories", {s: ["Tom saw a cat. Ann met the dog."] * 3 for s in ("train", "valid", "test")})
    args = ["method=real_text", f"data.path={tmp_path / 'stories'}", f"results_dir={tmp_path / 'out'}"]
    code, out = call_cli("experiments.run", args, monkeypatch, capsys)
    tag = identity_of(tmp_path / 'stories')['digest'][:6]
    assert code == 2 and out.err == (
        f"error: GenPPL needs an evaluator: gpt2-large is not in the local Hugging Face cache and no reference AR "
        f"model was trained on data.path={tmp_path / 'stories'} (none at runs/ar-stories-small-data-{tag}/"
        f"pretrained); train it with `python -m experiments.pretrain teacher=ar corpus=shakespeare "
        f"data.path={tmp_path / 'stories'}`, or pass eval.evaluator=<a model folder>\n")
    # what that command writes: runs/<its run folder>/pretrained
    from experiments.loading import reference_evaluator

    pretrain = load_config(["teacher=ar", f"data.path={tmp_path / 'stories'}"], command="pretrain")
    exported = tmp_path / "runs" / run_folder_name(pretrain) / "pretrained"
    shutil.copytree(CHECKPOINTS_DIR / "ar-shakespeare-small", exported)
    assert run_folder_name(pretrain) == f"ar-stories-small-data-{tag}"
    assert reference_evaluator(load_config(args)) == exported
