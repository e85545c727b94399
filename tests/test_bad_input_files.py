"""The bad-input catalogue, files and folders: a corpus, weights or config.json that cannot be read, a model folder of
another family, tokenizer, corpus or method, and a run folder holding another run are one line each, exit code 2, and
nothing changed (tests/test_bad_input_catalogue.py holds the keys and values)."""
import json
import re

import pytest

from core.paths import REPO_ROOT
from tests.bad_input import MDLM_TEACHER, QG_TEACHER, call_cli, listing


def teacher_copy(folder, *, config=None, weights=None):
    """A copy of the committed MDLM teacher with its config.json or model.safetensors replaced."""
    import shutil

    shutil.copytree(MDLM_TEACHER, folder)
    if config is not None:
        (folder / "config.json").write_text(config)
    if weights is not None:
        (folder / "model.safetensors").write_bytes(weights)
    return folder


def corpus_folder(folder, name, content: bytes):
    folder.mkdir()
    for split in ("train", "valid", "test"):
        (folder / f"{split}{name}").write_bytes(content)
    return folder


def mdlm_config(**changes):
    config = json.loads((MDLM_TEACHER / "config.json").read_text())
    return json.dumps({**config, **changes})


LATIN1_TXT = "café au lait".encode("latin-1")
LATIN1_JSONL = b'{"text": "ok"}\n' + '{"text": "café"}'.encode("latin-1")
SNOWMAN_TXT = "To be\nor ☃ not".encode()
NOT_GZIP = b"plain text, not gzip"
ENGLISH_STUDENT = mdlm_config(provenance={"method": "idlm", "corpus": "english"})   # the char tokenizer, another corpus

LOADER_CASES = [   # (command, make(tmp) -> args, message)
    ("experiments.pretrain", lambda t: [f"data.path={corpus_folder(t / 'c', '.txt', LATIN1_TXT)}"],
     r"c/train.txt:1: not UTF-8 text \(byte 0xe9\); save the file as UTF-8"),
    ("experiments.pretrain", lambda t: [f"data.path={corpus_folder(t / 'c', '.jsonl', LATIN1_JSONL)}"],
     r"c/train.jsonl:2: not UTF-8 text"),
    ("experiments.pretrain", lambda t: [f"data.path={corpus_folder(t / 'c', '.txt.gz', NOT_GZIP)}"],
     r"c/train.txt.gz: not a gzip file .*; rename it without .gz if it is plain text"),
    ("experiments.pretrain", lambda t: [f"data.path={corpus_folder(t / 'c', '.txt', SNOWMAN_TXT)}"],
     r"c/train.txt: line 2: character '☃' is not in the char alphabet \(char is the tokenizer of "
     r"corpus=shakespeare; corpus=shakespeare selects char, corpus=english selects small_bpe, which encodes any text\)"),
    ("experiments.run", lambda t: [f"teacher_path={teacher_copy(t / 'm', weights=(MDLM_TEACHER / 'model.safetensors').read_bytes()[:5000])}"],
     r"m/model.safetensors: not a readable safetensors file, truncated or corrupt"),
    ("experiments.run", lambda t: [f"teacher_path={teacher_copy(t / 'm', weights=b'garbage')}"],
     r"m/model.safetensors: not a readable safetensors file"),
    ("experiments.run", lambda t: [f"teacher_path={teacher_copy(t / 'm', config='not json')}"],
     r"m/config.json:1: invalid JSON"),
    ("experiments.run", lambda t: [f"teacher_path={REPO_ROOT / 'checkpoints' / 'ar-shakespeare-small'}"],
     r"ar-shakespeare-small holds a 'gpt2' model \(its config.json\), not a teacher=mdlm model"),
    ("experiments.run", lambda t: [f"teacher_path={REPO_ROOT / 'checkpoints' / 'diffuseq-qqp-small'}"],
     r"diffuseq-qqp-small holds a 'diffuseq' model"),
    ("experiments.run", lambda t: ["method=idlm", f"student_path={REPO_ROOT / 'checkpoints' / 'ar-shakespeare-small'}"],
     r"student_path=.*ar-shakespeare-small holds a 'gpt2' model"),
    ("experiments.run", lambda t: ["method=idlm", f"student_path={teacher_copy(t / 'm', config=ENGLISH_STUDENT)}"],
     r"student_path=.*m was trained on corpus english, not corpus=shakespeare \(pass corpus=english\)"),
    ("experiments.run", lambda t: [f"teacher_path={teacher_copy(t / 'm', config=mdlm_config(tokenizer='bert'))}"],
     r"m/config.json: the tokenizer 'bert' has 30522 tokens, but the model's vocabulary has 66: they do not fit"),
    ("experiments.run", lambda t: [f"teacher_path={teacher_copy(t / 'm', config=mdlm_config(tokenizer='nope'))}"],
     r"m/config.json: unknown tokenizer 'nope'"),
    ("experiments.run", lambda t: ["method=real_text", "corpus=english"],
     r"GenPPL needs an evaluator: gpt2-large is not in the local Hugging Face cache and corpus=english has no "
     r"reference AR model .*; train it with `python -m experiments.pretrain teacher=ar corpus=english`"),
]


@pytest.mark.parametrize("module, make, message", LOADER_CASES)
def test_a_bad_file_is_one_line_naming_it(module, make, message, tmp_path, monkeypatch, capsys):
    from huggingface_hub import try_to_load_from_cache

    if "GenPPL" in message and isinstance(try_to_load_from_cache("gpt2-large", "config.json"), str):
        pytest.skip("gpt2-large is cached here: the evaluator exists")
    args = make(tmp_path) + ["preset=tiny", "train.max_steps=1"] * (module == "experiments.pretrain")
    out_dir = tmp_path / "out"
    args.append(f"{'run_dir' if module.endswith('pretrain') or 'method=idlm' in args else 'results_dir'}={out_dir}")
    code, out = call_cli(module, args, monkeypatch, capsys)
    assert code == 2 and out.err.startswith("error: ") and out.err.count("\n") == 1, out.err
    assert re.search(message, out.err), out.err
    assert not out_dir.exists()


def saved_run(run_dir, args, command="pretrain", state="checkpoint"):
    """A run folder as a pretraining (or distillation) run of `args` leaves it: its state's trainer.json and config."""
    from omegaconf import OmegaConf

    from experiments.config import load_config

    (run_dir / state).mkdir(parents=True)
    config = OmegaConf.to_container(load_config(args, command=command))
    (run_dir / state / "trainer.json").write_text(json.dumps({"step": 5, "config": {"run": config}}))
    (run_dir / "config.yaml").write_text("saved\n")
    return run_dir


@pytest.mark.parametrize("saved_args, args, message", [
    (["teacher=mdlm"], ["teacher=sedd"], r"holds a run with teacher=mdlm, not teacher=sedd"),
    (["teacher=mdlm"], ["teacher=mdlm", "preset=tiny"], r"holds a run with preset=small, not preset=tiny"),
    (["teacher=mdlm"], ["teacher=mdlm", "data.seq_len=64"], r"holds a run with data.seq_len=128, not data.seq_len=64"),
    (["teacher=diffuseq", "task=qqp"], ["teacher=diffuseq", "task=qg"], r"holds a run with task=qqp, not task=qg"),
    (["teacher=diffuseq", "data.path={tmp}/a"], ["teacher=diffuseq", "data.path={tmp}/b"],
     r"holds a run with data.path=.*/a, not data.path=.*/b: it cannot be resumed as this run"),
    (["teacher=diffuseq"], ["teacher=diffuseq", "diffuseq.vocab=bert"], r"diffuseq.vocab=task, not diffuseq.vocab=bert"),
])
def test_a_resume_of_another_run_is_refused_before_the_folder_changes(saved_args, args, message, tmp_path,
                                                                      monkeypatch, capsys):
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "train.jsonl").write_text(json.dumps({"src": f"from {name}", "trg": "to"}) + "\n")
    run_dir = saved_run(tmp_path / "run", [a.format(tmp=tmp_path) for a in saved_args])
    before = listing(run_dir)
    code, out = call_cli("experiments.pretrain", [a.format(tmp=tmp_path) for a in args] + [f"run_dir={run_dir}"],
                         monkeypatch, capsys)
    assert code == 2 and out.err.count("\n") == 1 and re.search(message, out.err), out.err
    assert listing(run_dir) == before


def test_a_resume_after_a_kill_inside_the_swap_is_checked_too(tmp_path, monkeypatch, capsys):
    run_dir = saved_run(tmp_path / "run", ["teacher=mdlm"], state=".checkpoint.old")
    code, out = call_cli("experiments.pretrain", ["teacher=duo", f"run_dir={run_dir}"], monkeypatch, capsys)
    assert code == 2 and "holds a run with teacher=mdlm, not teacher=duo" in out.err
    assert (run_dir / ".checkpoint.old").is_dir() and not (run_dir / "checkpoint").exists()


def test_a_distillation_run_of_another_teacher_is_refused(tmp_path, monkeypatch, capsys):
    run_dir = saved_run(tmp_path / "run", ["method=idlm", "teacher=mdlm"], command="run")
    code, out = call_cli("experiments.run", ["method=idlm", "teacher=sedd", f"run_dir={run_dir}"], monkeypatch, capsys)
    assert code == 2 and "holds a run with teacher=mdlm, not teacher=sedd" in out.err


@pytest.mark.parametrize("method", [["method=sdtt"], ["method=dcd", "teacher=duo"]])
def test_a_round_method_run_for_another_step_count_is_refused(method, tmp_path, monkeypatch, capsys):
    run_dir = saved_run(tmp_path / "run", [*method, "steps=8"], command="run")
    before = listing(run_dir)
    code, out = call_cli("experiments.run", [*method, "steps=16", f"run_dir={run_dir}", f"results_dir={tmp_path}"],
                         monkeypatch, capsys)
    assert code == 2 and out.err.count("\n") == 1, out.err
    assert re.search(r"^error: \S*run holds a run with steps=8, not steps=16: it cannot be resumed as "
                                   r"this run", out.err), out.err
    assert listing(run_dir) == before


def test_the_default_run_folder_is_named_after_the_data(tmp_path):
    import hashlib

    from experiments.config import load_config
    from experiments.naming import run_folder_name

    (tmp_path / "qqp2").mkdir()
    (tmp_path / "qqp2" / "train.jsonl").write_bytes(b'{"src": "a", "trg": "b"}\n')
    assert run_folder_name(load_config(["teacher=diffuseq"], command="pretrain")) == "diffuseq-qqp-small"
    cfg = load_config(["teacher=diffuseq", f"data.path={tmp_path / 'qqp2'}"], command="pretrain")
    digest = hashlib.sha256(b'{"src": "a", "trg": "b"}\n').hexdigest()
    assert run_folder_name(cfg) == f"diffuseq-qqp2-small-data-{digest[:6]}"
    named = load_config(["teacher=diffuseq", f"data.path={tmp_path / 'qqp2'}", "data.name=my_qqp"], command="pretrain")
    assert run_folder_name(named) == f"diffuseq-my_qqp-small-data-{digest[:6]}"


def test_a_run_on_other_data_uses_the_teacher_pretrained_on_it(tmp_path, monkeypatch):
    """run teacher=diffuseq data.path=A: refused without a teacher trained on A; with `pretrain data.path=A`'s export
    in its default run folder, that teacher is the one used (and named on stdout)."""
    from core.errors import ConfigError
    from experiments.config import load_config
    from experiments.naming import run_folder_name
    from experiments.setup import teacher_folder

    from experiments.data_identity import data_identity

    monkeypatch.setattr("core.paths.RUNS_DIR", tmp_path / "runs")
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "train.jsonl").write_text('{"src": "a", "trg": "b"}\n')
    args = ["teacher=diffuseq", f"data.path={tmp_path / 'a'}", f"results_dir={tmp_path / 'out'}"]
    with pytest.raises(ConfigError, match=r"needs the teacher trained on it: pass teacher_path=.*\(none at .*runs/"
                                          r"diffuseq-a-small-data-[0-9a-f]{6}/pretrained"):
        load_config(args)
    exported = tmp_path / "runs" / run_folder_name(load_config(args[:2], command="pretrain")) / "pretrained"
    exported.mkdir(parents=True)
    config = json.loads((QG_TEACHER / "config.json").read_text())
    # what `pretrain data.path=A` records
    config["provenance"]["data"] = data_identity(load_config(args[:2], command="pretrain"))
    (exported / "config.json").write_text(json.dumps(config))
    monkeypatch.setattr("experiments.setup.RUNS_DIR", tmp_path / "runs")
    cfg = load_config(args)
    assert teacher_folder(cfg) == exported
