"""python -m experiments.reports on synthetic rows: matched-entropy interpolation, mismatch markers, the Markdown / CSV
contents and the figures (stale rows: tests/test_provenance.py)."""
import csv
import json
import math

import pytest

from core.errors import DataError
from core.evaluate.results import git_commit
from core.evaluate.temperature_match import genppl_at_entropy
from experiments.reports.__main__ import main as reports_main
from experiments.reports.comparison import comparison_tables
from experiments.reports.kinds import load_rows
from experiments.reports.provenance import Mismatches, source_paths


def test_genppl_at_entropy_interpolates_log_genppl_between_the_bracketing_temperatures():
    # (temperature, entropy, GenPPL), given out of temperature order
    sweep = [(1.2, 3.4, 80.0), (0.8, 3.0, 10.0), (1.0, 3.2, 40.0)]
    value, a, b = genppl_at_entropy(sweep, 3.1)             # halfway from (3.0, 10) to (3.2, 40): sqrt(10 * 40)
    assert value == pytest.approx(20.0) and {a, b} == {1, 2}
    assert genppl_at_entropy(sweep, 3.35)[0] == pytest.approx(math.exp(math.log(40) + 0.75 * math.log(2)))
    assert genppl_at_entropy(sweep, 3.2) == (40.0, 2, 2)    # a point exactly at H*
    assert genppl_at_entropy(sweep, 3.5) is None and genppl_at_entropy(sweep, 2.9) is None   # never extrapolated
    assert genppl_at_entropy([(1.0, 3.1, 9.0)], 3.0) is None


def test_a_non_monotone_sweep_uses_the_first_bracketing_pair_along_temperature():
    sweep = [(0.8, 3.0, 10.0), (0.9, 3.2, 20.0), (1.0, 3.1, 30.0)]
    assert genppl_at_entropy(sweep, 3.15)[1:] == (0, 1)
    assert genppl_at_entropy(sweep, 3.15)[0] == pytest.approx(10 * 2 ** 0.75)


def _row(file, **fields):
    row = {"method": "sample", "teacher": "mdlm", "corpus": "toy", "steps": 8, "nfe": 8, "temperature": 1.0,
           "n_samples": 64, "seed": 0, "evaluator": "ar-toy", "device": "cpu", "seconds_per_sample": 0.5,
           "commit": "unknown", "command": f"python -m experiments.run {file}",
           "metrics": {"gen_ppl": 20.0, "entropy": 3.0}}
    metrics = fields.pop("metrics", {})
    row.update(fields)
    row["metrics"] = {**row["metrics"], **metrics}
    row["metrics"]["gen_ppl_ci95"] = [0.9 * row["metrics"]["gen_ppl"], 1.1 * row["metrics"]["gen_ppl"]]
    return file, row


def _seq2seq(file, method, steps, seconds, bleu, candidates=1, **fields):
    metrics = {"single": {"bleu": bleu, "bleu_ci95": [bleu - 0.01, bleu + 0.01], "rouge_l": 0.3, "bertscore": 0.5,
                          "dist1": 0.9, "copy_source_bleu": 0.22, "output_source_bleu": 0.4, "avg_len": 9.5,
                          **({"self_bleu": 0.2, "div4": 0.8} if candidates > 1 else {})}}
    if candidates > 1:
        metrics["mbr"] = {"bleu": bleu + 0.05, "rouge_l": 0.4, "bertscore": 0.6, "dist1": 0.95}
    return file, {"method": method, "teacher": "diffuseq", "task": "qqp", "steps": steps, "nfe": steps,
                  "candidates": candidates, "n_samples": 64, "seed": 0, "evaluator": "bleu", "device": "cpu",
                  "seconds_per_sample": seconds, "commit": "unknown", "command": f"python -m experiments.run {file}",
                  "metrics": metrics, **fields}


def synthetic_rows():
    return dict([
        _row("text.json", method="real_text", teacher="none", steps=0, nfe=0, seconds_per_sample=0.0,
             n_samples=256, metrics={"entropy": 3.1, "gen_ppl": 5.0, "mauve_ar": 0.95,
                                     "diversity": {"types_per_600_valid": 306, "top50_share": 0.46,
                                                   "self_bleu": 0.012, "distinct_1": 0.3}}),
        _row("mdlm8-T0.9.json", temperature=0.9, metrics={"entropy": 3.0, "gen_ppl": 10.0}),
        _row("mdlm8.json", metrics={"entropy": 3.2, "gen_ppl": 40.0}),
        _row("mdlm8-T1.1.json", temperature=1.1, metrics={"entropy": 3.3, "gen_ppl": 60.0}),
        _row("mdlm1024.json", steps=1024, nfe=1024, seconds_per_sample=20.0, n_samples=256,
             metrics={"entropy": 3.05, "gen_ppl": 12.0}),
        _row("idlm8.json", method="idlm", student_path="checkpoints/idlm-mdlm-toy",
             metrics={"entropy": 2.9, "mauve_ar": 0.4, "diversity": {"types_per_600_valid": 174, "top50_share": 0.69,
                                                                    "self_bleu": 0.02}},
             frontier={"teacher_1024": {"ratio": 0.95}, "teacher_at_K": {"ratio": None}},
             training_cost={"updates": 3000, "sequence_passes": 672000, "cpu_minutes": 250.4, "hardware": "cpu"}),
        _row("idlm8-matched.json", method="teacher (entropy-matched)", temperature=0.85,
             metrics={"entropy": 2.9, "gen_ppl": 9.0}),
        _row("sdtt8.json", method="sdtt", student_path="checkpoints/sdtt-mdlm-toy", evaluator="gpt2-large"),
        _row("dcd8.json", teacher="duo_distilled"),
        _row("didi8.json", method="didi", student_path="checkpoints/didi-mdlm-toy"),
        _seq2seq("d2000.json", "sample", 2000, 10.0, 0.07),
        _seq2seq("d10.json", "sample", 10, 0.1, 0.06),
        _seq2seq("d100.json", "sample", 100, 1.0, 0.065),                  # not in the paper's layout
        _seq2seq("d1.json", "sample", 1, 0.01, 0.04),
        _seq2seq("d10-mbr.json", "sample", 10, 1.0, 0.06, candidates=10),
        _seq2seq("one-s2.json", "dlm_one", 1, 0.01, 0.09, stage=2, device="cuda"),
        _seq2seq("one-s1.json", "dlm_one", 1, 0.01, 0.08, stage=1),
        _seq2seq("one-pad.json", "dlm_one", 1, 0.01, 0.08, stage=2, pad_prob=0.1),
        _seq2seq("ar.json", "sample", 12, 0.02, 0.1, teacher="ar_seq2seq"),
        _row("arlm.json", teacher="ar_lm", steps=128, nfe=128, metrics={"entropy": 3.15, "gen_ppl": 8.0}),
    ])


def _write(folder, rows):
    """The rows as a results folder holds them, in <folder>/rows/."""
    (folder / "rows").mkdir(parents=True, exist_ok=True)
    for name, row in rows.items():
        (folder / "rows" / name).write_text(json.dumps(row))


def test_mismatched_rows_carry_a_marker_and_a_note():
    rows = [dict(r, _file=name) for name, r in synthetic_rows().items()]
    marks = Mismatches([r for r in rows if "task" not in r])
    by_file = {r["_file"]: r for r in rows}
    text, teacher, sdtt = by_file["text.json"], by_file["mdlm8.json"], by_file["sdtt8.json"]
    assert marks.marker(teacher) == "" and marks.marker(text) == "¹" and marks.marker(sdtt) == "²"
    assert marks.marker(teacher, text) == "¹"                   # a number made from several rows: their differences
    assert marks.describe(sdtt) == "evaluator=gpt2-large"
    assert marks.notes()[-3:] == ["* ¹ n_samples = 256", "* ² evaluator = gpt2-large", ""]
    assert "n_samples = 64, seed = 0, evaluator = ar-toy, device = cpu" in marks.notes()[0]


def speed_benchmark() -> dict:
    """A benchmark_speed record for qqp: DiffuSeq 0.01 s per step (20 s at 2000 steps), DLM-One 0.02 s, AR 0.04 s at
    batch 32; the batch-1 times must not be used."""
    rows = [{"name": "diffuseq-qqp-teacher-10steps", "batch_size": 32, "steps": 10, "seconds_per_sample": 0.1},
            {"name": "dlm_one-qqp-student-1step", "batch_size": 32, "steps": 1, "seconds_per_sample": 0.02},
            {"name": "ar_seq2seq-qqp-greedy-kv-cache", "batch_size": 32, "steps": 7, "seconds_per_sample": 0.04},
            {"name": "dlm_one-qqp-student-1step", "batch_size": 1, "steps": 1, "seconds_per_sample": 5.0}]
    return {"kind": "speed_benchmark", "task": "qqp", "command": "python -m experiments.benchmark_speed",
            "commit": "0123456789", "rows": rows}


def test_compare_writes_tables_csv_figures_and_the_readme(tmp_path):
    _write(tmp_path, synthetic_rows())
    (tmp_path / "benchmarks").mkdir()
    (tmp_path / "benchmarks" / "speed.json").write_text(json.dumps(speed_benchmark()))
    assert reports_main(["all", "--results-dir", str(tmp_path)]) == 0
    out = tmp_path / "tables"
    for name in ("genppl_vs_steps_toy.png", "frontier_toy.png", "bleu_vs_steps.png", "pareto.png"):
        assert (tmp_path / "figures" / name).stat().st_size > 10_000, name

    with open(out / "idlm_table1_toy.csv") as f:
        reader = csv.DictReader(f)
        assert reader.fieldnames == [
            "corpus", "group", "method", "model", "sampler", "student", "steps", "nfe", "temperature", "gen_ppl",
            "gen_ppl_ci95_low", "gen_ppl_ci95_high", "entropy", "mauve", "mauve_ar", "types_per_600_valid",
            "top50_share", "self_bleu", "seconds_per_sample", "matched_entropy",
            "gen_ppl_at_matched_entropy", "sweep_temperatures", "ratio_to_frontier_1024", "ratio_to_frontier_at_steps",
            "training_updates", "training_sequence_passes", "training_cpu_minutes", "training_hardware",
            "n_samples", "seed", "evaluator", "device",
            "mismatch", "status", "method_last_change", "commit", "command", "file"]
        rows = list(reader)
    # held-out text first, then the groups in the paper's order; the T != 1 rows and the control are sweep points only
    assert [(r["group"], r["file"]) for r in rows] == [
        ("held-out text", "text.json"), ("AR", "arlm.json"), ("teacher", "mdlm8.json"), ("teacher", "mdlm1024.json"),
        ("SDTT", "sdtt8.json"), ("Duo-DCD", "dcd8.json"), ("DiDi-Instruct", "didi8.json"), ("IDLM", "idlm8.json")]
    assert rows[1]["model"] == "ar_lm" and rows[1]["status"] == "unknown commit"
    teacher8 = rows[2]
    # H* = 3.1 (the held-out text) between T = 0.9 (3.0, 10) and T = 1 (3.2, 40): sqrt(10 * 40)
    assert float(teacher8["gen_ppl_at_matched_entropy"]) == pytest.approx(20.0)
    assert teacher8["sweep_temperatures"] == "0.85 0.9 1 1.1" and teacher8["matched_entropy"] == "3.1"
    assert rows[3]["gen_ppl_at_matched_entropy"] == "" and rows[7]["gen_ppl_at_matched_entropy"] == ""
    assert teacher8["command"] == "python -m experiments.run mdlm8.json" and teacher8["status"] == "unknown commit"
    assert rows[4]["mismatch"] == "evaluator=gpt2-large" and rows[3]["mismatch"] == "n_samples=256"
    # the distribution metrics where a row has them, blank where it was made before them
    assert [rows[0][c] for c in ("mauve_ar", "types_per_600_valid", "top50_share", "self_bleu")] == [
        "0.95", "306", "0.46", "0.012"]
    assert [rows[2][c] for c in ("mauve_ar", "types_per_600_valid", "top50_share", "self_bleu")] == [""] * 4

    table = (out / "idlm_table1_toy.md").read_text()
    assert "| group | model | sampler | steps | T | GenPPL ↓ [95% CI] | entropy | MAUVE (MiniLM) ↑ | MAUVE (AR) ↑ | " \
           "types / 600 ↑ | top-50 share | self-BLEU ↓ | s / sample | GenPPL at H* = 3.1 ↓ | sweep T | " \
           "÷ frontier 1024 ↓ | ÷ frontier K ↓ | budget (M passes / CPU-min) | status | commit | row |" in table
    assert "| teacher | mdlm | default | 8 | 1 | 40 [36, 44] | 3.2 | – | – | – | – | – | 0.5 | 20 | 0.85 0.9 1 1.1 | " \
           "– | – | – | **unknown commit** | `unknown` | [mdlm8.json](../rows/mdlm8.json) |" in table
    # ÷ frontier K: its row recorded none; the entropy-matched teacher row (2.9, 9) is a point of the sweep: 20 / 9
    assert "| IDLM | mdlm | default | 8 | 1 | 20 [18, 22] | 2.9 | – | 0.4 | 174 | 0.69 | 0.02 | 0.5 | – | 1 | " \
           "0.95 | 2.222 | 0.672 / 250 | " \
           "**unknown commit** |" in table
    assert "| SDTT² | mdlm |" in table and "| teacher¹ | mdlm | default | 1024 |" in table
    assert "* ² evaluator = gpt2-large" in table

    with open(out / "dlm_one_table1_qqp.csv") as f:
        seq = list(csv.DictReader(f))
    assert list(seq[0]) == [
        "task", "row", "method", "stage", "steps", "candidates", "bleu", "bleu_ci95_low", "bleu_ci95_high",
        "copy_source_bleu", "output_source_bleu", "avg_len", "rouge_l",
        "bertscore", "dist1", "self_bleu", "div4", "nfe", "seconds_per_sample", "speedup_vs_diffuseq_2000",
        "n_samples", "seed", "evaluator", "device", "mismatch", "status", "method_last_change", "commit", "command",
        "file"]
    assert [r["row"] for r in seq] == ["AR seq2seq", "DiffuSeq, 2000 steps", "DiffuSeq, 10 steps",
                                       "DiffuSeq, 1 step", "DLM-One stage 1, 1 step", "DLM-One stage 2, 1 step",
                                       "DiffuSeq, 10 steps, MBR-10"]
    # from the benchmark alone: 20 s ÷ each sampler's time (DiffuSeq n steps: n × 0.01 s; MBR-10: 10 candidates)
    assert [float(r["speedup_vs_diffuseq_2000"]) for r in seq] == pytest.approx([500, 1, 200, 2000, 1000, 1000, 20])
    assert seq[-1]["bleu"] == "0.11" and seq[-1]["self_bleu"] == "0.2"     # MBR choice; diversity of the candidates
    assert seq[5]["mismatch"] == "device=cuda"
    seq_md = (out / "dlm_one_table1_qqp.md").read_text()
    assert "| DLM-One stage 2, 1 step¹ | 0.09 [0.08, 0.1] | 0.22 | 0.4 | 9.5 | 0.3 | 0.5 | 0.9 | – | – | 1 | 0.01 | " \
           "1000× |" \
        in seq_md
    assert "both from one speed benchmark (`python -m experiments.benchmark_speed` at `0123456`, batch 32" in seq_md

    readme = (tmp_path / "README.md").read_text()
    assert readme.index("## Method comparison") < readme.index("## Unconditional generation (IDLM)")
    assert "[mdlm8.json](rows/mdlm8.json)" in readme and "![pareto.png](figures/pareto.png)" in readme
    assert "![pareto.png](../figures/pareto.png)" in (out / "README.md").read_text()
    assert "### Conditional generation, qqp (DLM-One's Table 1 layout)" in readme
    assert f"Row statuses as of commit `{git_commit()}`." in readme
    assert (out / "README.md").read_text().count("# Unconditional generation, toy") == 1


def test_tables_without_ar_sdtt_or_text_rows_still_build():
    rows = [dict(r, _file=name) for name, r in synthetic_rows().items()
            if r["method"] in ("sample", "idlm") and "task" not in r and r["teacher"] != "ar_lm"]
    [table] = comparison_tables(rows)
    assert [row["group"] for row in table.csv_rows] == ["teacher", "teacher", "Duo-DCD", "IDLM"]
    assert "GenPPL at H* ↓" in table.headers and "no held-out-text row" in table.intro[0]
    assert {row["gen_ppl_at_matched_entropy"] for row in table.csv_rows} == {None}


def test_seq2seq_speedups_need_a_benchmark_of_the_same_task():
    rows = [dict(r, _file=name) for name, r in synthetic_rows().items() if r.get("task") == "qqp"]
    [without] = comparison_tables(rows)
    assert {row["speedup_vs_diffuseq_2000"] for row in without.csv_rows} == {None}   # rows' own seconds: never
    assert "no speed benchmark of qqp" in without.intro[0]
    [other_task] = comparison_tables(rows, benchmarks={"qg": {**speed_benchmark(), "task": "qg"}})
    assert {row["speedup_vs_diffuseq_2000"] for row in other_task.csv_rows} == {None}


def test_rows_written_when_the_model_was_named_dcd_are_reported_as_duo_distilled(tmp_path):
    """Committed rows keep teacher "dcd" and the old folder names (provenance); the reports read today's names."""
    rows = synthetic_rows()
    rows["dcd8.json"].update(teacher="dcd", teacher_path="checkpoints/dcd-shakespeare-small")
    rows["idlm-dcd8.json"] = dict(rows["idlm8.json"], teacher="dcd",
                                  student_path="checkpoints/idlm-dcd-shakespeare-small")
    _write(tmp_path, rows)
    loaded = {r["_file"]: r for r in load_rows(tmp_path)}
    sampled, student = loaded["dcd8.json"], loaded["idlm-dcd8.json"]
    assert sampled["teacher"] == student["teacher"] == "duo_distilled"
    assert sampled["teacher_path"] == "checkpoints/duo_distilled-shakespeare-small"
    assert student["student_path"] == "checkpoints/idlm-duo_distilled-shakespeare-small"
    assert json.loads((tmp_path / "rows" / "dcd8.json").read_text())["teacher"] == "dcd"   # the file as written
    assert "baselines/dcd.py" in source_paths(sampled) and "baselines/dcd.py" in source_paths(student)
    table = next(t for t in comparison_tables(list(loaded.values())) if t.name == "idlm_table1_toy")
    assert {(r["group"], r["model"], r["student"]) for r in table.csv_rows if "dcd" in r["file"]} == {
        ("Duo-DCD", "duo_distilled", None), ("IDLM", "duo_distilled", "idlm-duo_distilled-shakespeare-small")}


def test_a_broken_row_writes_nothing(tmp_path):
    rows = synthetic_rows()
    del rows["d10.json"]["nfe"]
    _write(tmp_path, rows)
    for command in ("all", "figures", "tables"):
        with pytest.raises(DataError, match=r"d10\.json: missing required keys \['nfe'\]"):
            reports_main([command, "--results-dir", str(tmp_path)])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rows"]
    with pytest.raises(DataError, match="nowhere: no such results folder"):
        reports_main(["all", "--results-dir", str(tmp_path / "nowhere")])



def test_a_students_frontier_ratio_is_read_off_every_committed_teacher_row_of_its_sweep():
    from experiments.reports.students import frontier_ratios, sweep_rows

    same = {"teacher_path": "checkpoints/mdlm-toy", "float64_sampling": True}
    student = _row("s.json", method="idlm", n_samples=256, metrics={"entropy": 3.25, "gen_ppl": 30.0},
                   frontier={"teacher_at_K": {"ratio": None}, "teacher_1024": {"ratio": 0.5}}, **same)[1]
    teacher = [_row(f"t{t}.json", temperature=t, n_samples=256, metrics={"entropy": h, "gen_ppl": g}, **same)[1]
               for t, h, g in ((1.0, 3.2, 40.0), (1.2, 3.3, 90.0))]
    fewer = _row("few.json", temperature=1.2, metrics={"entropy": 3.3, "gen_ppl": 1.0}, **same)[1]   # 64 samples
    other_seed = _row("s1.json", temperature=1.1, seed=1, n_samples=256, metrics={"entropy": 3.25}, **same)[1]
    rows = [student, *teacher, fewer, other_seed]
    assert sweep_rows(student, rows, 8) == teacher
    # 3.25 halfway from (3.2, 40) to (3.3, 90): the frontier is sqrt(40 * 90) = 60
    ratios = frontier_ratios(student, rows)
    assert ratios["teacher_at_K"]["ratio"] == pytest.approx(0.5)
    assert ratios["teacher_at_K"]["bracket_temperatures"] == [1.0, 1.2]
    assert ratios["teacher_1024"] == {"ratio": 0.5}       # no 1024-step rows here: the row's own record
    assert frontier_ratios(student, [student, teacher[0]])["teacher_at_K"] == {"ratio": None}

def test_quality_against_compute_divides_each_validation_by_the_teachers_frontier(tmp_path):
    from experiments.reports.comparison_figures import compute_curves, compute_figure

    training = tmp_path / "training"
    training.mkdir()
    curve = [{"step": 100, "sequence_passes": 2.24e6, "val/gen_ppl": 12.0, "val/entropy": 2.85, "val/steps": 8},
             {"step": 200, "sequence_passes": 4.48e6, "val/gen_ppl": 9.0, "val/entropy": 2.85, "val/steps": 8}]
    (training / "idlm-mdlm-shakespeare-small.log.jsonl").write_text("".join(json.dumps(r) + "\n" for r in curve))
    (training / "idlm-adversarial-mdlm-shakespeare-small.log.jsonl").write_text(json.dumps(curve[0]) + "\n")
    (training / "idlm-sedd-shakespeare-small.log.jsonl").write_text(json.dumps(curve[0]) + "\n")   # no sweep
    (training / "old-mdlm-run.log.jsonl").write_text(json.dumps({"step": 1, "val/gen_ppl": 5.0}) + "\n")
    # validated with another sampler: divided by that sampler's sweep, never by the default one's
    latent = {**curve[0], "val/steps": 1, "val/predictor": "latent"}
    (training / "idlm-duo-shakespeare-small-val1-grid1.log.jsonl").write_text(json.dumps(latent) + "\n")
    sweep = [{"method": "sample", "teacher": teacher, "steps": 8, "temperature": t, "variant": v,
              "metrics": {"entropy": h, "gen_ppl": p}}
             for teacher in ("mdlm", "duo")
             for t, h, p, v in ((0.8, 2.8, 10.0, "-T0.8"), (0.9, 2.9, 12.0, "-T0.9"), (0.85, 2.85, 99.0, "-T0.85-seed1"))]
    sweep += [{"method": "sample", "teacher": "duo", "steps": 1, "temperature": t, "variant": v,
               "metrics": {"entropy": h, "gen_ppl": p}} for t, h, p, v in ((0.8, 2.8, 30.0, "-latent-T0.8"),
                                                                          (1.0, 2.9, 40.0, "-latent"))]
    # entropy 2.85 lies halfway between T = 0.8 and 0.9: the frontier there is sqrt(10 * 12); the seed-1 row and the
    # curve logged without passes stay out
    assert compute_curves(sweep, training) == {
        "idlm-mdlm-shakespeare-small": [(2.24, pytest.approx(12 / 120 ** 0.5)), (4.48, pytest.approx(9 / 120 ** 0.5))],
        "idlm-adversarial-mdlm-shakespeare-small": [(2.24, pytest.approx(12 / 120 ** 0.5))],
        "idlm-duo-shakespeare-small-val1-grid1": [(2.24, pytest.approx(12 / 1200 ** 0.5))]}
    out = compute_figure(sweep, training, tmp_path / "q.png")
    assert out is not None and out.stat().st_size > 10_000
    assert compute_figure(sweep, tmp_path / "nothing", tmp_path / "none.png") is None


def test_rows_on_own_data_get_their_own_tables():
    """A row made with data.path= records its data: it is compared with rows on the same data only."""
    own = {"name": "stories", "digest": "13e4819185c1" + "0" * 52}
    rows = [dict(r, _file=name) for name, r in synthetic_rows().items()]
    rows += [dict(r, _file=f"own-{name}", data=own) for name, r in synthetic_rows().items()]
    names = [table.name for table in comparison_tables(rows)]
    assert names == ["idlm_table1_stories-13e481", "idlm_table1_toy", "dlm_one_table1_qqp",
                     "dlm_one_table1_stories-13e481"]


def test_adversarial_and_grid_idlm_rows_form_their_own_groups():
    from experiments.reports.unconditional import group_of
    plain = {"method": "idlm", "command": "python -m experiments.run method=idlm teacher=mdlm steps=8"}
    adversarial = {**plain, "command": plain["command"] + " idlm.adversarial=true"}
    assert group_of(plain) == "IDLM"
    assert group_of(adversarial) == "IDLM + adversarial"
    assert group_of({**plain, "command": plain["command"] + " idlm.adversarial=false"}) == "IDLM"
    assert group_of({**plain, "command": plain["command"] + " idlm.adversarial=True"}) == "IDLM + adversarial"
    assert group_of({**plain, "command": plain["command"] + " 'eval.note=idlm.adversarial=true'"}) == "IDLM"
    # a student trained at the sampler's times only (idlm.grid_steps=K) is not IDLM's continuous-t student
    assert group_of({**plain, "command": plain["command"] + " idlm.grid_steps=1"}) == "IDLM, grid t"
    assert group_of({**plain, "command": plain["command"] + " idlm.grid_steps=0"}) == "IDLM"
