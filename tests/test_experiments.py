"""End-to-end commands on tiny models: pretrain → run → entropy-matched control → table, and their bad inputs."""
import json
import subprocess
import sys

import pytest

from core.paths import CHECKPOINTS_DIR, REPO_ROOT


def run(module, *args):
    return subprocess.run([sys.executable, "-m", module, *args], cwd=REPO_ROOT, capture_output=True, text=True,
                          env={"OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1", "PATH": "/usr/bin:/bin"})


TINY = ["preset=tiny", "threads=1", "train.max_steps=3", "train.save_every=3", "train.eval_every=3",
        "train.eval_batches=1", "train.batch_size=4", "data.seq_len=32"]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    root = tmp_path_factory.mktemp("runs")
    for teacher in ("mdlm", "ar"):
        out = run("experiments.pretrain", f"teacher={teacher}", f"run_dir={root / teacher}", *TINY)
        assert out.returncode == 0, out.stderr[-2000:]
    return root


@pytest.mark.e2e   # pretrains tiny teachers and runs the commands: the second tier
def test_pretrain_writes_resumable_state_and_pretrained_folder(trained):
    assert (trained / "mdlm" / "checkpoint" / "trainer.json").is_file()
    config = json.loads((trained / "mdlm" / "pretrained" / "config.json").read_text())
    assert config["family"] == "mdlm" and config["tokenizer"] == "char" and config["provenance"]["train_step"] == 3
    assert "teacher=mdlm" in config["provenance"]["command"]
    out = run("experiments.pretrain", "teacher=mdlm", f"run_dir={trained / 'mdlm'}", *TINY[:-1], "data.seq_len=32",
              "train.max_steps=4")
    assert out.returncode == 0 and "resumed from" in out.stdout


@pytest.mark.e2e   # pretrains tiny teachers and runs the commands: the second tier
def test_run_writes_result_row_table_and_matched_control(trained, tmp_path):
    ar = trained / "ar" / "pretrained"
    out = run("experiments.run", "teacher=mdlm", f"teacher_path={trained / 'mdlm' / 'pretrained'}", "steps=4",
              f"eval.evaluator={ar}", "sampling.num_samples=8", "sampling.batch_size=4", f"results_dir={tmp_path}",
              "threads=1")
    assert out.returncode == 0, out.stderr[-2000:]
    # 8 samples (fewer than the default) from a teacher other than the committed one: both named in the row's name
    [path] = (tmp_path / "rows").glob("mdlm-shakespeare-small-steps4-n8-from-pretrained-*.json")
    row = json.loads(path.read_text())
    for key in ("gen_ppl", "entropy"):
        assert row["metrics"][key] > 0
    low, high = row["metrics"]["gen_ppl_ci95"]
    assert low <= row["metrics"]["gen_ppl"] <= high
    assert row["n_samples"] == 8 and row["steps"] == 4 and row["evaluator"].startswith("reference-ar")
    assert row["command"].startswith("python -m experiments.run") and len(row["commit"]) >= 7
    assert path.with_suffix(".config.yaml").is_file()
    assert_distribution_metrics(path, 8)
    assert "mdlm" in (tmp_path / "README.md").read_text()


def assert_distribution_metrics(path, n):
    """The row carries the char corpus's default distribution metrics and keeps its n sample texts beside it."""
    from core.evaluate.results import load_samples

    row = json.loads(path.read_text())
    diversity = row["metrics"]["diversity"]
    assert 0 < diversity["distinct_1"] <= 1 and 0 <= diversity["valid_word_fraction"] <= 1
    assert diversity["types_per_600_valid"] is None          # n samples of 32 characters hold fewer valid words
    assert 0 <= row["metrics"]["mauve_ar"] <= 1 and "mauve" not in row["metrics"]
    texts = load_samples(path)
    assert len(texts) == row["n_samples"] == n and texts[:len(row["samples"])] == row["samples"]


def test_run_missing_teacher_is_one_clear_error(tmp_path):
    out = run("experiments.run", f"teacher_path={tmp_path / 'nothing'}", f"results_dir={tmp_path}")
    assert out.returncode == 2 and "no pretrained model found" in out.stderr and "Traceback" not in out.stderr
    assert not list(tmp_path.rglob("*.json"))  # nothing half-written


def test_match_temperature_refuses_bad_rows(tmp_path):
    bad = tmp_path / "row.json"
    bad.write_text('{"teacher": "mdlm", "steps": 4,\n "metrics": {')
    out = run("experiments.match_temperature", str(bad))
    assert out.returncode == 2 and "row.json:2" in out.stderr
    seq2seq = {"method": "sample", "teacher": "diffuseq", "task": "qqp", "steps": 4, "nfe": 4, "n_samples": 2,
               "metrics": {"bleu": 0.1}, "seconds_per_sample": 0.1, "evaluator": "BLEU", "seed": 0, "commit": "abc",
               "command": "python -m experiments.run teacher=diffuseq"}
    bad.write_text(json.dumps(seq2seq))
    out = run("experiments.match_temperature", str(bad))
    assert out.returncode == 2 and "metrics.entropy" in out.stderr
    bad.write_text(json.dumps({"teacher": "mdlm", "steps": 4, "metrics": {"entropy": 3.0}}))
    out = run("experiments.match_temperature", str(bad))
    assert out.returncode == 2 and "row.json: missing required keys ['method', 'nfe'" in out.stderr


@pytest.mark.e2e   # pretrains tiny teachers and runs the commands: the second tier
def test_dcd_pretrain_keeps_its_frozen_teacher_in_the_resumable_state(trained, tmp_path):
    out = run("experiments.pretrain", "teacher=duo", f"run_dir={tmp_path / 'duo'}", *TINY)
    assert out.returncode == 0, out.stderr[-2000:]
    dcd = ["teacher=duo_distilled", f"teacher_path={tmp_path / 'duo' / 'pretrained'}", f"run_dir={tmp_path / 'dcd'}",
           "dcd.update_teacher_every=2", *TINY]
    out = run("experiments.pretrain", *dcd)
    assert out.returncode == 0, out.stderr[-2000:]
    assert (tmp_path / "dcd" / "checkpoint" / "dcd_frozen_teacher.state.safetensors").is_file()
    out = run("experiments.pretrain", *dcd[:-len(TINY)], *TINY[:2], "train.max_steps=4", *TINY[3:])
    assert out.returncode == 0 and "resumed from" in out.stdout, out.stderr[-2000:]
    # the same recipe as a method: rounds of dt = 1/16, 2/16, 4/16 down to K = 4, then the student's rows
    out = run("experiments.run", "method=dcd", "teacher=duo", f"teacher_path={tmp_path / 'duo' / 'pretrained'}",
              "steps=4", "dcd.base_steps=16", "dcd.update_teacher_every=1", "distill.batch_size=4",
              "distill.log_every=1", "train.eval_batches=1", f"eval.evaluator={trained / 'ar' / 'pretrained'}",
              "sampling.num_samples=8", "sampling.batch_size=8", "threads=1", f"results_dir={tmp_path}",
              f"run_dir={tmp_path / 'method'}")
    assert out.returncode == 0 and "dcd: step 3 of 3 (finished=True)" in out.stdout, out.stderr[-2000:]
    log = [json.loads(line) for line in (tmp_path / "method" / "log.jsonl").read_text().splitlines()]
    assert sorted({r["dt"] for r in log if "dt" in r}) == [1 / 16, 2 / 16, 4 / 16]
    [path] = (tmp_path / "rows").glob("dcd-duo-shakespeare-small-steps4-student-??????-n8-from-pretrained-??????.json")
    row = json.loads(path.read_text())
    assert row["method"] == "dcd" and row["teacher"] == "duo" and row["distill_step"] == 3
    assert json.loads((tmp_path / "method" / "student" / "config.json").read_text())["family"] == "duo_distilled"


def test_bleu_plot_has_one_panel_per_task_and_takes_intervals(tmp_path):
    """The figure is 5 inches (600 px at 120 dpi) per task; rows with and without `bleu_ci95` plot together."""
    import json

    from PIL import Image

    from core.evaluate.results import load_results
    from experiments.reports.figures import bleu_figure

    def row(task, steps, ci):
        single = {"bleu": 0.1 * steps, **({"bleu_ci95": [0.05, 0.2 * steps]} if ci else {})}
        return {"method": "sample", "teacher": "diffuseq", "task": task, "steps": steps, "candidates": 1,
                "metrics": {"single": single}, "command": "test", "commit": "test", "nfe": steps, "n_samples": 2,
                "seconds_per_sample": 0.1, "evaluator": "test", "seed": 0}

    for i, (task, steps, ci) in enumerate([("qqp", 1, True), ("qqp", 10, False), ("ts", 1, True)]):
        (tmp_path / f"r{i}.json").write_text(json.dumps(row(task, steps, ci)))
    out = bleu_figure(load_results(tmp_path), tmp_path / "bleu.png")
    assert Image.open(out).size[0] == 2 * 600
    assert bleu_figure([r for r in load_results(tmp_path) if r["task"] == "qqp"], tmp_path / "one.png") is not None
    assert Image.open(tmp_path / "one.png").size[0] == 600


@pytest.mark.e2e   # pretrains tiny teachers and runs the commands: the second tier
def test_idlm_distils_then_writes_the_student_beside_its_controls(trained, tmp_path):
    ar, teacher = trained / "ar" / "pretrained", trained / "mdlm" / "pretrained"
    common = ["method=idlm", "teacher=mdlm", f"teacher_path={teacher}", "steps=4", f"eval.evaluator={ar}",
              "sampling.num_samples=8", "sampling.batch_size=8", f"results_dir={tmp_path}", "threads=1",
              "idlm.val_samples=4", "eval.frontier_temperatures=[0.5,1.5]"]
    out = run("experiments.run", *common, f"run_dir={tmp_path / 'run'}", "distill.max_steps=2",
              "distill.eval_every=1", "distill.batch_size=4")
    assert out.returncode == 0, out.stderr[-2000:]
    # the student is a fresh distillation (named by its folder's hash); its teacher's controls are rows of the teacher
    [path] = (tmp_path / "rows").glob("idlm-mdlm-shakespeare-small-steps4-student-??????-n8-from-pretrained-??????.json")
    student, suffix = json.loads(path.read_text()), path.stem.split("-steps4-student-")[1][6:]
    assert student["method"] == "idlm" and student["distill_step"] in (1, 2) and student["loss_time"] == "coupled"
    assert (tmp_path / "rows" / f"mdlm-shakespeare-small-steps4{suffix}.json").is_file()       # the teacher at K
    assert (tmp_path / "rows" / f"mdlm-shakespeare-small-steps1024{suffix}.json").is_file()    # the teacher at 1024
    assert (tmp_path / "rows" / f"mdlm-shakespeare-small-steps1024-T0.5{suffix}.json").is_file()   # ... and its sweep
    for sweep in ("teacher_at_K", "teacher_1024"):   # read against each frontier, or the entropy range it missed
        frontier = student["frontier"][sweep]
        assert frontier["ratio"] is None or frontier["ratio"] == pytest.approx(
            student["metrics"]["gen_ppl"] / frontier["genppl_at_entropy"])
        assert frontier["ratio"] is not None or "sweep_entropy_range" in frontier
    assert student["training_cost"]["updates"] == student["distill_step"]
    assert student["training_cost"]["sequence_passes"] == student["distill_step"] * 7 * 4   # core/cost.py
    for row in (path, tmp_path / "rows" / f"mdlm-shakespeare-small-steps4{suffix}.json",
                tmp_path / "rows" / f"mdlm-shakespeare-small-steps1024{suffix}.json"):
        assert_distribution_metrics(row, 8)
    matched = list(path.parent.glob(f"{path.stem}-matched-T*.json"))
    if matched:   # a 3-step tiny teacher's entropy may lie outside every temperature's: then it says so
        assert json.loads(matched[0].read_text())["matched_to"] == path.name
        assert_distribution_metrics(matched[0], 8)
    else:
        assert f"no entropy-matched teacher row for {path.name}" in out.stdout
    folder = tmp_path / "run" / student["student_path"].split("/")[-1]
    config = json.loads((folder / "config.json").read_text())
    assert config["family"] == "mdlm" and config["provenance"]["method"] == "idlm"
    assert "Distilled students and their controls" in (tmp_path / "README.md").read_text()
    # a saved student is evaluated without training; a folder that is not a student is one clear error
    out = run("experiments.run", *common, f"student_path={folder}", "steps=2")
    assert out.returncode == 0 and "resumed" not in out.stdout, out.stderr[-2000:]
    out = run("experiments.run", *common, f"student_path={tmp_path / 'nothing'}")
    assert out.returncode == 2 and "Traceback" not in out.stderr and "nothing" in out.stderr


@pytest.mark.e2e   # pretrains tiny teachers and runs the commands: the second tier
def test_didi_distils_exports_its_discriminator_and_writes_rows(trained, tmp_path):
    ar, teacher = trained / "ar" / "pretrained", trained / "mdlm" / "pretrained"
    common = ["method=didi", "teacher=mdlm", f"teacher_path={teacher}", "steps=4", f"eval.evaluator={ar}",
              "sampling.num_samples=8", "sampling.batch_size=8", f"results_dir={tmp_path}", "threads=1",
              "didi.val_samples=4", "didi.discriminator_blocks=1", "eval.frontier_temperatures=[0.5,1.5]"]
    out = run("experiments.run", *common, f"run_dir={tmp_path / 'run'}", "distill.max_steps=2",
              "distill.eval_every=1", "distill.batch_size=4")
    assert out.returncode == 0, out.stderr[-2000:]
    [path] = (tmp_path / "rows").glob("didi-mdlm-shakespeare-small-steps4-student-??????-n8-from-pretrained-??????.json")
    student = json.loads(path.read_text())
    assert student["method"] == "didi" and student["distill_step"] in (1, 2) and student["predictor"] == "default"
    # one update: rollout 2B, discriminator 2 x 2B, student 2 x 2B, teacher 2B, reward B (core/cost.py)
    assert student["training_cost"]["sequence_passes"] == student["distill_step"] * 13 * 4
    folder = tmp_path / "run" / student["student_path"].split("/")[-1]
    assert json.loads((folder / "config.json").read_text())["provenance"]["method"] == "didi"
    discriminator = folder.with_name(folder.name + "-discriminator")
    assert json.loads((discriminator / "config.json").read_text())["kind"] == "didi-discriminator"
    assert (tmp_path / "README.md").is_file()
    out = run("experiments.run", *common, f"student_path={folder}", "didi.rgas=true", "didi.candidates=2")
    assert out.returncode == 0, out.stderr[-2000:]
    [rgas] = (tmp_path / "rows").glob("didi-mdlm-shakespeare-small-steps4-rgas-student-??????-n8-from-pretrained-??????.json")
    assert json.loads(rgas.read_text())["predictor"] == "rgas"


def test_the_final_print_keeps_whole_lines():
    from experiments.run import head_lines

    text = "".join(f"line {i}\n" for i in range(10))
    assert head_lines(text, 1000) == text.rstrip("\n")
    assert head_lines(text, 20) == "line 0\nline 1\n... (8 more lines in the file)"


def test_sampling_shows_a_progress_bar_with_its_eta(capsys):
    from core.evaluate.speed import benchmark

    benchmark(lambda: None, batch_size=2, n_warmup=1, n_repeat=2, tokens_per_sample=4, nfe=1,
              progress="sampling 6 at 8 steps")
    err = capsys.readouterr().err
    assert "sampling 6 at 8 steps" in err and "3/3" in err


def test_loading_the_reference_evaluator_draws_no_progress_bar(capfd):
    from core.evaluate.reference_ar import load_ar

    load_ar(CHECKPOINTS_DIR / "ar-shakespeare-small")
    assert "Loading weights" not in capfd.readouterr().err


@pytest.mark.e2e   # pretrains tiny teachers and runs the commands: the second tier
def test_sdtt_distils_round_by_round_then_writes_the_student_beside_its_controls(trained, tmp_path):
    ar, teacher = trained / "ar" / "pretrained", trained / "mdlm" / "pretrained"
    common = ["method=sdtt", f"teacher_path={teacher}", f"eval.evaluator={ar}", "sampling.num_samples=8",
              "sampling.batch_size=8", f"results_dir={tmp_path}", "threads=1", "sdtt.base_steps=16",
              "sdtt.steps_per_round=2", "distill.batch_size=4", "distill.eval_every=2", "distill.log_every=1",
              "train.eval_batches=1"]
    out = run("experiments.run", *common, "steps=4", f"run_dir={tmp_path / 'run'}")   # 2 rounds: 16 -> 8 -> 4
    assert out.returncode == 0, out.stderr[-2000:]
    # a fresh distillation is named by its student folder's hash, its teacher's controls by the teacher's
    [path] = (tmp_path / "rows").glob("sdtt-mdlm-shakespeare-small-steps4-student-??????-n8-from-pretrained-??????.json")
    student, suffix = json.loads(path.read_text()), path.stem.split("-steps4-student-")[1][6:]
    assert student["method"] == "sdtt" and student["distill_step"] == 4 and student["steps"] == 4
    assert (tmp_path / "rows" / f"mdlm-shakespeare-small-steps1024{suffix}.json").is_file()    # the teacher at 1024
    assert (tmp_path / "run" / "checkpoint" / "sdtt_frozen_teacher.state.safetensors").is_file()
    log = [json.loads(line) for line in (tmp_path / "run" / "log.jsonl").read_text().splitlines()]
    assert sorted({r["dt"] for r in log if "dt" in r}) == pytest.approx([(1 - 1e-5) / 16, 2 * (1 - 1e-5) / 16])
    config = json.loads((tmp_path / "run" / "student" / "config.json").read_text())
    assert config["family"] == "mdlm" and config["provenance"]["method"] == "sdtt"
    assert config["provenance"]["sdtt"]["loss"] == "kl-bwd" and config["provenance"]["rounds"] == 2
    # its learning curve is on IDLM's scale: GenPPL and entropy at the target K, against the sequence passes spent
    curve = [json.loads(line) for line in (tmp_path / "training" / "run.log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in curve] == [2, 4] and all("val/gen_ppl" in r and "val/entropy" in r for r in curve)
    assert curve[1]["sequence_passes"] == 2 * curve[0]["sequence_passes"] > 0
    assert "sdtt: step 4 of 4 (finished=True)" in out.stdout
