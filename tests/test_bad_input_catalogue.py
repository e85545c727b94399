"""The bad-input catalogue: every command answers a bad input with one line naming the key or file and what is wrong,
exit code 2, before any model loads, and nothing written or changed (each case runs the command's CLI entry).
Bad files and run folders of another run: tests/test_bad_input_files.py."""
import re
import subprocess
import sys

import pytest

from core.paths import CHECKPOINTS_DIR, REPO_ROOT
from tests.bad_input import MDLM_TEACHER, QG_TEACHER, SEDD_TEACHER, call_cli, listing

# the old name of the Duo model after DCD is refused with the new one, never read as an alias
RENAMED_DCD = r"^error: teacher=dcd: the Duo model after DCD is teacher=duo_distilled \(method=dcd is the DCD method\)$"
RUN_CASES = [
    (["sampling.num_samples=-5"], r"sampling.num_samples=-5 is out of range: it must be a positive integer"),
    (["sampling.num_samples=0"], r"sampling.num_samples=0 is out of range"),
    (["sampling.batch_size=0"], r"sampling.batch_size=0 is out of range"),
    (["sampling.temperature=0"], r"sampling.temperature=0 is out of range: it must be > 0"),
    (["sampling.temperature=-1.5"], r"sampling.temperature=-1.5 is out of range"),
    (["sampling.top_p=2"], r"sampling.top_p=2 is out of range: it must be in \(0, 1\]"),
    (["sampling.top_p=0"], r"sampling.top_p=0 is out of range"),
    (["threads=-1"], r"threads=-1 is out of range: it must be >= 0"),
    (["teacher=diffuseq", "diffuseq.candidates=0"], r"diffuseq.candidates=0 is out of range"),
    (["teacher=diffuseq", "steps=2500"], r"steps=2500 is more than the 2000 diffusion steps of .*diffuseq-qqp-small"),
    (["steps=0"], r"'steps' must be a positive integer"),
    (["steps=abc"], r"'steps' expects int"),
    (["sampling.top_p=abc"], r"'sampling.top_p' expects float"),
    (["steps"], r"not of the form key=value"),
    (["teacher=ar"], r"teacher=ar is the reference GenPPL evaluator"),
    (["teacher=gpt"], r"'teacher' = 'gpt' is not one of"),
    (["sampling.num_sample=5"], r"unknown config key\(s\) \['sampling.num_sample'\] \(sampling.num_sample: did you "
                                r"mean sampling.num_samples\?\)"),
    (["method=copy_source", "teacher=mdlm"], r"teacher=mdlm has no effect here: method=copy_source scores the source"),
    (["method=real_text", "teacher=diffuseq", "task=qg"], r"teacher=diffuseq has no effect here: method=real_text"),
    (["method=real_text", "steps=8"], r"steps=8 has no effect here: method=real_text"),
    (["teacher=mdlm", "task=qg"], r"task=qg has no effect here: teacher=mdlm is trained on a corpus"),
    (["teacher=diffuseq", "corpus=english"], r"corpus=english has no effect here: a seq2seq run reads its task"),
    (["teacher=mdlm", "diffuseq.candidates=2"], r"diffuseq.candidates=2 has no effect here"),
    (["student_path=checkpoints/idlm-mdlm-shakespeare-small"], r"student_path=.* has no effect here: method=sample"),
    (["idlm.val_steps=4"], r"idlm.val_steps=4 has no effect here: idlm.\* keys apply to method=idlm only"),
    (["method=idlm", "sdtt.steps_per_round=4"], r"sdtt.steps_per_round=4 has no effect here: sdtt.\* keys apply to "
                                                r"method=sdtt only"),
    (["dcd.base_steps=64"], r"dcd.base_steps=64 has no effect here: dcd.\* keys apply to method=dcd \(and "
                            r"experiments.pretrain teacher=duo_distilled\) only"),
    (["teacher=dcd"], RENAMED_DCD),
    (["method=idlm", "teacher=dcd"], RENAMED_DCD),
    (["method=sample", "distill.max_steps=3"], r"^error: distill.max_steps=3 has no effect here: method=sample distils "
                                               r"nothing; distill.\* keys apply to method=idlm\|didi\|sdtt\|dcd\|dlm_one$"),
    (["method=didi", "teacher=duo"], r"^error: method=didi distils the MDLM teacher \(teacher=mdlm\), not teacher=duo$"),
    (["method=didi", "distill.fake_lr=1e-3"], r"method=didi sets it per role: use didi.discriminator_lr$"),
    (["method=didi", "distill.batch_size=6"], r"distill.batch_size=6 must be a multiple of didi.group_size=4"),
    (["method=didi", "didi.candidates=2"], r"didi.candidates=2 has no effect here: it is an option of didi.rgas=true"),
    (["method=didi", "didi.rgas=true", "sampling.top_p=0.9"], r"the reward-guided sampler does not read it"),
    (["method=dlm_one", "distill.lr=1e-3"], r"^error: distill.lr=0.001 has no effect here: method=dlm_one sets it per "
                                            r"stage \(Table 5 and the dlm_one block\): use dlm_one.lr$"),
    (["method=dlm_one", "distill.max_steps=5"], r"use dlm_one.stage1_steps / dlm_one.stage2_steps$"),
    (["method=dlm_one", "distill.budget=100"], r"distill.budget=100 has no effect here: .*, with no key for it$"),
    (["method=dlm_one", "steps=4"], r"^error: steps=4 has no effect here: method=dlm_one samples its student at "
                                    r"dlm_one.steps \(1 = one step\)$"),
    (["distill.batch_size=8"], r"^error: distill.batch_size=8 has no effect here: method=sample distils nothing; "
                               r".*; did you mean sampling.batch_size\?$"),
    (["method=real_text", "distill.lr=1e-3"], r"distill.lr=0.001 has no effect here: method=real_text distils nothing"),
    (["method=copy_source", "distill.max_minutes=1"], r"distill.max_minutes=1 has no effect here: method=copy_source"),
    (["dlm_one.steps=4"], r"dlm_one.steps=4 has no effect here: dlm_one.\* keys apply to method=dlm_one only; did you "
                          r"mean steps\?$"),
    (["method=sdtt", f"student_path={SEDD_TEACHER}"], r"student_path=.*sedd-shakespeare-small holds a 'sedd' model"),
    (["teacher=sedd", "sampling.cache=false"], r"sampling.cache=false has no effect with teacher=sedd"),
    (["method=dlm_one", "teacher=mdlm"], r"^error: method=dlm_one distils a DiffuSeq teacher, not teacher=mdlm$"),
    (["method=idlm", "teacher=diffuseq"], r"method=idlm distils a discrete diffusion teacher"),
    (["teacher=diffuseq", "task=qqp", f"teacher_path={QG_TEACHER}"],
     r"teacher_path=.*diffuseq-qg-small was trained on task qg, not task=qqp \(pass task=qg\)"),
    (["teacher=mdlm", f"teacher_path={SEDD_TEACHER}"], r"teacher_path=.*sedd-shakespeare-small holds a 'sedd' model"),
    (["teacher=mdlm", "corpus=english", f"teacher_path={MDLM_TEACHER}"],
     r"holds a model on the 'char' tokenizer, but corpus=english uses 'small_bpe'"),
    (["teacher=diffuseq", "data.path={tmp}/data"], r"data.path=.* needs the teacher trained on it: pass teacher_path="),
    (["results_dir={tmp}/afile"], r"results_dir=.*afile is a file, not a folder"),
    (["data.name=mine"], r"^error: data.name=mine has no effect here: it names a data.path= folder \(the embedded "
                         r"data are named after their corpus or task\)$"),
    (["method=real_text", "data.allow_mismatch=true"], r"^error: data.allow_mismatch=true has no effect here: this "
                                                       r"command loads no trained model whose data could differ"),
    (["results_dir={tmp}/afile/rows"], r"results_dir=.*afile/rows cannot be created: .*afile is a file"),
    (["eval.evaluator={tmp}/empty"], r"eval.evaluator=.*empty: the folder has no config.json"),
    (["eval.evaluator={tmp}/afile"], r"eval.evaluator=.*afile is a file, not a model folder"),
    ([f"eval.evaluator={MDLM_TEACHER}"], r"^error: eval.evaluator=\S*mdlm-shakespeare-small holds a mdlm diffusion "
                                         r"model \(its config.json\), not an AR evaluator; pass a causal LM folder"),
    ([f"eval.evaluator={QG_TEACHER}"], r"diffuseq-qg-small holds a diffuseq diffusion model"),
    (["eval.evaluator=no-such-model-xyz"], r"eval.evaluator=no-such-model-xyz is neither a model folder nor a model "
                                           r"in the local Hugging Face cache"),
    (["method=idlm", "run_dir={tmp}/afile"], r"run_dir=.*afile is a file, not a folder"),
    (["method=idlm", "distill.betas=[2.0,3.0]"], r"^error: distill.betas=\[2.0, 3.0\] is out of range: it must be two "
                                                 r"numbers in \[0, 1\) \(AdamW's beta1, beta2\)$"),
    (["method=idlm", "distill.betas=abc"], r"^error: config key 'distill.betas' expects a list of 2 numbers like "
                                           r"\[0.9, 0.999\], got abc$"),
    (["method=idlm", "distill.betas=[0.9]"], r"'distill.betas' expects a list of 2 numbers"),
    (["method=idlm", "eval.frontier_temperatures=[0.8,-1]"], r"^error: eval.frontier_temperatures=\[0.8, -1\] is out "
                                                            r"of range: it must be a list of temperatures, each > 0"),
    (["method=idlm", "eval.frontier_temperatures=abc"], r"'eval.frontier_temperatures' expects a list of numbers like"),
    (["method=dlm_one", "dlm_one.betas=[0.5,1]"], r"^error: dlm_one.betas=\[0.5, 1\] is out of range: it must be two"),
    (["method=dlm_one", "dlm_one.t_min=1990", "dlm_one.t_max=10"],
     r"^error: dlm_one.t_min=1990 is out of range: it must be < dlm_one.t_max=10 \(the loss levels are "
     r"t ~ randint\(t_min, t_max\), t_max exclusive\)$"),
    (["method=dlm_one", "dlm_one.t_init=-1"], r"^error: dlm_one.t_init=-1 is out of range: it must be >= 0"),
    (["method=sdtt", "sdtt.steps_per_round=0"], r"^error: sdtt.steps_per_round=0 is out of range: it must be a "
                                                r"positive integer$"),
    (["method=dcd", "teacher=duo", "dcd.update_teacher_every=0"], r"^error: dcd.update_teacher_every=0 is out of "
                                                                  r"range"),
    (["method=idlm", "idlm.select_min_entropy_ratio=5"], r"^error: idlm.select_min_entropy_ratio=5 is out of range: "
                                                         r"it must be in \(0, 1.5\]"),
    (["method=idlm", "idlm.select_min_entropy_ratio=0"], r"idlm.select_min_entropy_ratio=0 is out of range"),
    (["method=idlm", "distill.global_batch=-32"], r"^error: distill.global_batch=-32 is out of range: it must be >= 0"),
    (["method=dlm_one", "dlm_one.t_init=5000"], r"^error: dlm_one.t_init=5000 is more than the 2000 diffusion steps of "
                                                r"\S*checkpoints/diffuseq-qqp-small allow: it must be at most 1999$"),
    (["method=dlm_one", "dlm_one.t_max=2001"], r"dlm_one.t_max=2001 is more than the 2000 diffusion steps of .* it "
                                               r"must be at most 2000$"),
    (["method=dlm_one", "task=qg", f"student_path={CHECKPOINTS_DIR / 'dlm_one-qqp-small-stage2'}"],
     r"^error: student_path=\S*dlm_one-qqp-small-stage2 was trained on task qqp, not task=qg \(pass task=qqp\)$"),
    (["method=idlm", f"student_path={CHECKPOINTS_DIR / 'sdtt-mdlm-shakespeare-small'}"],
     r"^error: student_path=\S*sdtt-mdlm-shakespeare-small holds a student made by method=sdtt \(its config.json\), "
     r"not by method=idlm; evaluate it with method=sdtt$"),
    (["method=sdtt", f"student_path={CHECKPOINTS_DIR / 'idlm-mdlm-shakespeare-small'}"], r"made by method=idlm"),
    (["method=dcd", "teacher=duo", f"student_path={CHECKPOINTS_DIR / 'idlm-duo_distilled-shakespeare-small'}"],
     r"made by method=idlm \(its config.json\), not by method=dcd"),
]
PRETRAIN_CASES = [
    (["train.max_steps=-1"], r"train.max_steps=-1 is out of range: it must be a positive integer"),
    (["train.batch_size=0"], r"train.batch_size=0 is out of range"),
    (["train.save_every=0"], r"train.save_every=0 is out of range"),
    (["train.max_minutes=-2"], r"train.max_minutes=-2 is out of range"),
    (["teacher=mdlm", "task=qg"], r"task=qg has no effect here"),
    (["teacher=diffuseq", "corpus=english"], r"corpus=english has no effect here"),
    (["teacher=mdlm", f"teacher_path={MDLM_TEACHER}"], r"teacher_path=.* has no effect here: teacher=mdlm is "
                                                       r"pretrained from scratch"),
    (["sampling.temperature=0.5"], r"sampling.temperature=0.5 has no effect here: pretraining neither samples"),
    (["sdtt.loss=mse"], r"sdtt.loss=mse has no effect here: pretraining neither samples"),
    (["distill.max_steps=5"], r"^error: distill.max_steps=5 has no effect here: pretraining neither samples nor "
                              r"evaluates; this key belongs to experiments.run; did you mean train.max_steps\?$"),
    (["results_dir={tmp}/rows"], r"results_dir=.* has no effect here: pretraining"),
    (["teacher=duo_distilled", f"teacher_path={MDLM_TEACHER}"], r"holds a 'mdlm' model .*, not a "
                                                                r"teacher=duo_distilled model"),
    (["teacher=dcd"], RENAMED_DCD),
    (["teacher=ar", "preset=base"], r"preset=base has no reference AR model size"),
    (["run_dir={tmp}/afile"], r"run_dir=.*afile is a file, not a folder"),
    (["teacher=mdlm", "data.allow_mismatch=true"], r"data.allow_mismatch=true has no effect here: this command loads"),
    (["train.lrr=1"], r"unknown config key\(s\) \['train.lrr'\] \(train.lrr: did you mean train.lr\?\)"),
]


@pytest.fixture
def workspace(tmp_path):
    (tmp_path / "afile").write_text("x")
    (tmp_path / "empty").mkdir()
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "train.jsonl").write_text('{"src": "a", "trg": "b"}\n')
    return tmp_path


@pytest.mark.parametrize("module, args, message", [("experiments.run", a, m) for a, m in RUN_CASES]
                         + [("experiments.pretrain", a, m) for a, m in PRETRAIN_CASES])
def test_bad_input_is_one_line_exit_2_and_nothing_written(module, args, message, workspace, monkeypatch, capsys):
    args = [a.format(tmp=workspace) for a in args]
    if not any(a.startswith(("results_dir=", "run_dir=")) for a in args):   # where the command would write
        args.append(f"{'results_dir' if module.endswith('run') and 'method=idlm' not in args else 'run_dir'}="
                    f"{workspace / 'out'}")
    before, committed = listing(workspace), listing(REPO_ROOT / "results")
    code, out = call_cli(module, args, monkeypatch, capsys)
    assert code == 2
    assert out.err.startswith("error: ") and out.err.count("\n") == 1, out.err
    assert re.search(message, out.err), out.err
    assert listing(workspace) == before and listing(REPO_ROOT / "results") == committed


def test_the_catalogue_covers_at_least_thirty_cases():
    assert len(RUN_CASES) + len(PRETRAIN_CASES) >= 30


@pytest.mark.parametrize("args", [
    ["method=dlm_one", "task=qqp", f"student_path={CHECKPOINTS_DIR / 'dlm_one-qqp-small-stage2'}"],
    ["method=dlm_one", "task=qqp", f"student_path={CHECKPOINTS_DIR / 'diffuseq-qqp-small'}"],   # the teacher's own map
    ["method=sdtt", f"student_path={CHECKPOINTS_DIR / 'sdtt-mdlm-shakespeare-small'}"],
    ["method=dcd", "teacher=duo", f"student_path={CHECKPOINTS_DIR / 'dcd-duo-shakespeare-small'}"],
    # folders saved as family "dcd" before the model was named duo_distilled
    ["method=idlm", "teacher=duo_distilled", f"student_path={CHECKPOINTS_DIR / 'idlm-duo_distilled-shakespeare-small'}"],
])
def test_a_student_is_accepted_under_the_method_and_task_that_made_it(args, tmp_path):
    from experiments.config import load_config

    assert load_config([*args, f"results_dir={tmp_path}"]).student_path == args[-1].split("=", 1)[1]


def test_a_fractional_time_limit_is_accepted():
    from experiments.config import load_config

    assert load_config(["train.max_minutes=0.2"], command="pretrain").train.max_minutes == 0.2
    assert load_config(["method=idlm", "distill.max_minutes=0.5"]).distill.max_minutes == 0.5


@pytest.mark.parametrize("module, args", [
    ("experiments.run", ["sampling.num_samples=-5"]),
    ("experiments.pretrain", ["train.max_steps=-1", "teacher=mdlm", "preset=tiny"]),
])
def test_a_real_process_exits_2_without_a_traceback_and_writes_nothing(module, args, tmp_path):
    where = "results_dir" if module.endswith("run") else "run_dir"
    out = subprocess.run([sys.executable, "-m", module, *args, f"{where}={tmp_path / 'out'}"], cwd=REPO_ROOT,
                         capture_output=True, text=True, env={"PATH": "/usr/bin:/bin", "HF_HUB_OFFLINE": "1"})
    assert out.returncode == 2 and "Traceback" not in out.stderr and out.stderr.count("\n") == 1, out.stderr
    assert out.stdout == "" and not (tmp_path / "out").exists()


REFUSED_BEFORE_TORCH = """import sys
from experiments.cli import run_cli
from experiments.run import main
sys.argv = ["experiments.run", *sys.argv[1:]]
try:
    run_cli(main)
except SystemExit as stop:
    print(stop.code, "torch" in sys.modules)
"""


@pytest.mark.parametrize("args", [["some.typo=1"], ["sampling.top_p=2"], ["distill.max_steps=3"], ["teacher=dcd"]])
def test_a_config_error_is_refused_before_torch_is_imported(args):
    """torch and transformers take seconds to import: the arguments are read first."""
    out = subprocess.run([sys.executable, "-c", REFUSED_BEFORE_TORCH, *args], cwd=REPO_ROOT, capture_output=True,
                         text=True, env={"PATH": "/usr/bin:/bin", "HF_HUB_OFFLINE": "1"})
    assert out.stdout.split() == ["2", "False"] and out.stderr.startswith("error: "), out.stderr


TORCHRUN_CASES = [
    ("experiments.run", ["method=idlm", "distill.global_batch=48"],
     r"^error: distill.global_batch=48 does not split over 2 process\(es\) of distill.batch_size=32 rows: it must be "
     r"a multiple of 64 \(distill.batch_size x processes; the rest is gradient accumulation\)$"),
    ("experiments.pretrain", ["train.global_batch=96"], r"^error: train.global_batch=96 does not split over 2 process"),
    ("experiments.run", ["method=idlm", "distill.global_bach=64"], r"^error: unknown config key\(s\) "
                                                                   r"\['distill.global_bach'\]"),
]


@pytest.mark.parametrize("rank", [0, 1])
@pytest.mark.parametrize("module, args, message", TORCHRUN_CASES)
def test_under_torchrun_rank_0_alone_says_it_and_every_rank_exits_2(module, args, message, rank, tmp_path,
                                                                     monkeypatch, capsys):
    """torchrun starts every rank with the same arguments: each refuses them before the process group exists."""
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("RANK", str(rank))
    code, out = call_cli(module, [*args, f"run_dir={tmp_path / 'out'}"], monkeypatch, capsys)
    assert code == 2 and out.out == "" and not (tmp_path / "out").exists()
    if rank == 0:
        assert out.err.count("\n") == 1 and re.search(message, out.err), out.err
    else:
        assert out.err == ""


def test_a_global_batch_that_splits_over_the_processes_is_accepted(monkeypatch):
    from experiments.config import load_config

    monkeypatch.setenv("WORLD_SIZE", "2")
    assert load_config(["train.global_batch=128"], command="pretrain").train.global_batch == 128
    monkeypatch.setenv("WORLD_SIZE", "1")
    with pytest.raises(ValueError, match=r"train.global_batch=48 does not split over 1 process\(es\)"):
        load_config(["train.global_batch=48"], command="pretrain")


REPORT_CASES = [   # the commands that read result rows and write beside them: (module, args, message)
    *(("experiments.reports.__main__", [command, "--results-dir", "{tmp}/missing"], r"^error: \S*missing: no such results "
                                                                        r"folder$")
      for command in ("all", "figures", "tables", "dlm-one")),
    ("experiments.reports.__main__", ["all"], r"^error: \S*scratch: no such results folder$"),   # not results/
    ("experiments.reports.__main__", ["cards", "{tmp}/missing"], r"^error: \S*missing: not a folder$"),
]


@pytest.mark.parametrize("module, args, message", REPORT_CASES)
def test_a_report_of_a_missing_results_folder_is_one_line_and_writes_nothing(module, args, message, tmp_path,
                                                                            monkeypatch, capsys):
    monkeypatch.setattr("core.paths.SCRATCH_RESULTS_DIR", tmp_path / "scratch")   # the default folder
    committed = listing(REPO_ROOT / "results")
    code, out = call_cli(module, [a.format(tmp=tmp_path) for a in args], monkeypatch, capsys)
    assert code == 2 and out.err.count("\n") == 1 and re.search(message, out.err), out.err
    assert listing(tmp_path) == [] and listing(REPO_ROOT / "results") == committed


def test_tables_and_compare_write_to_the_scratch_folder_unless_results_is_named(tmp_path, monkeypatch, capsys):
    import shutil

    scratch = tmp_path / "scratch"
    scratch.mkdir()
    (scratch / "rows").mkdir(parents=True)
    shutil.copy(REPO_ROOT / "results" / "rows" / "real-text-shakespeare-test.json", scratch / "rows")
    monkeypatch.setattr("core.paths.SCRATCH_RESULTS_DIR", scratch)
    committed = listing(REPO_ROOT / "results") + listing(CHECKPOINTS_DIR)
    assert call_cli("experiments.reports.__main__", ["tables"], monkeypatch, capsys)[0] == 0
    assert call_cli("experiments.reports.__main__", ["all"], monkeypatch, capsys)[0] == 0
    assert (scratch / "README.md").is_file() and (scratch / "tables" / "README.md").is_file()
    assert listing(REPO_ROOT / "results") + listing(CHECKPOINTS_DIR) == committed
