"""The seq2seq targets section of results/tables/dlm_one.md: verdicts read off rows and the speed benchmark."""
from experiments.reports import kinds
from experiments.reports.seq2seq_targets import reported_student, target_lines, teacher_ratios


def teacher(folder, bleu, n=64, steps=2000, task="qqp"):
    return {"method": "sample", "teacher": "diffuseq", "task": task, "preset": "small", "steps": steps,
            "candidates": 1, "n_samples": n, "teacher_path": f"checkpoints/{folder}",
            "metrics": {"single": {"bleu": bleu}}}


def student(stage, one, full, path="checkpoints/dlm_one-qqp-small-more-stage{s}", pad=0.0):
    gaps = {"teacher_steps1": {"bleu_gap": one[0], "bleu_gap_ci95": one[1:]},
            "teacher_steps2000": {"bleu_gap": full[0], "bleu_gap_ci95": full[1:]}}
    return {"method": "dlm_one", "teacher": "diffuseq", "task": "qqp", "preset": "small", "stage": stage, "steps": 1,
            "candidates": 1, "pad_prob": pad, "student_path": path.format(s=stage),
            "teacher_path": "checkpoints/diffuseq-qqp-more", "paired_gaps": gaps, "metrics": {"single": {}}}


BENCHMARK = {"qqp": {"targets": {"seq2seq_speedup_target": 500.0, "overhead_target": 0.1,
                                 "dlm_one_max_overhead_fraction": 0.226,
                                 "dlm_one_vs_diffuseq": [{"vs_steps2000": 1953.3}, {"vs_steps2000": 1885.2}]}}}


def test_the_best_teacher_folder_is_judged_against_the_first_on_the_same_sources():
    rows = [teacher("diffuseq-qqp-small", 0.08), teacher("diffuseq-qqp-more", 0.12),
            teacher("diffuseq-qqp-mid", 0.10), teacher("diffuseq-qqp-other", 0.5, n=32),   # other sources: left out
            teacher("diffuseq-qqp-more", 0.3, steps=10)]
    assert [(f, round(r, 3)) for f, _, r in teacher_ratios(rows, "qqp")] == [
        ("diffuseq-qqp-more", 1.5), ("diffuseq-qqp-mid", 1.25), ("diffuseq-qqp-small", 1.0)]
    assert teacher_ratios(rows[1:], "qqp") == []          # no first teacher at 2000 steps: nothing to judge
    line = target_lines(rows, {})[-2]
    assert line.startswith("| qqp | diffuseq-qqp-more | 0.1200 | 1.50× | met | – |") and line.endswith("| – | – |")
    # qqp also asks BLEU >= 0.12: 1.5x of a first teacher at 0.06 is not enough
    low = [teacher("diffuseq-qqp-small", 0.06), teacher("diffuseq-qqp-more", 0.09)]
    assert "| 1.50× | missed |" in target_lines(low, {})[-2]
    # another task has no BLEU floor
    qg = [teacher("diffuseq-qg-small", 0.02, task="qg"), teacher("diffuseq-qg-more", 0.031, task="qg")]
    assert "| 1.55× | met |" in target_lines(qg, {})[-2]


def test_the_reported_teachers_last_committed_student_is_judged_on_both_gaps(monkeypatch):
    monkeypatch.setitem(kinds.REPORTED_TEACHERS, "diffuseq-qqp-small", "diffuseq-qqp-more")
    within = (-0.002, -0.015, 0.009)
    rows = [teacher("diffuseq-qqp-small", 0.08), teacher("diffuseq-qqp-more", 0.1),
            student(1, (0.01, -0.001, 0.02), within), student(2, (0.02, 0.015, 0.027), within),
            student(3, (0.05, 0.04, 0.06), (0.0, -0.01, 0.01), path="runs/x/stage{s}/student"),   # not committed
            student(3, (0.05, 0.04, 0.06), (0.0, -0.01, 0.01), pad=0.1)]                       # [PAD] inserted
    assert reported_student(rows, "qqp")["stage"] == 2
    line = target_lines(rows, BENCHMARK)[-2]
    assert line == ("| qqp | diffuseq-qqp-more | 0.1000 | 1.25× | missed | dlm_one-qqp-small-more-stage2 | "
                    "+0.0200 [+0.0150, +0.0270] | -0.0020 [-0.0150, +0.0090] | met | 1885×, met | 22.6%, missed |")
    below = student(2, (0.02, 0.015, 0.027), (-0.015, -0.029, -0.006))      # the 2000-step interval below 0
    assert "| missed | 1885×" in target_lines(rows[:2] + [below], BENCHMARK)[-2]
    tied = student(2, (0.001, -0.001, 0.003), within)                           # does not beat the 1-step teacher
    assert "| missed | 1885×" in target_lines(rows[:2] + [tied], BENCHMARK)[-2]
    # a student of a candidate teacher is not the reported teacher's
    monkeypatch.setitem(kinds.REPORTED_TEACHERS, "diffuseq-qqp-small", "diffuseq-qqp-small")
    assert reported_student(rows, "qqp") is None
