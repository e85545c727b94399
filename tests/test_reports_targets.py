"""experiments/reports/targets.py: a student's distance to the few-step target at its K, exact where the teacher's
1024-step sweep brackets its entropy and bounded where it does not."""
import math

import pytest

from experiments.reports.targets import frontier_distance, meets, target_entries, target_lines

SAME = {"teacher": "mdlm", "teacher_path": "checkpoints/mdlm-shakespeare-small", "float64_sampling": True,
        "evaluator": "ar", "seed": 0, "corpus": "shakespeare"}


def teacher(temperature, entropy, gen_ppl, steps=1024):
    return {"method": "sample", "steps": steps, "temperature": temperature, "n_samples": 256,
            "metrics": {"entropy": entropy, "gen_ppl": gen_ppl}, "_file": f"t{temperature}.json", **SAME}


def student(steps, entropy, gen_ppl, name="s.json"):
    return {"method": "idlm", "steps": steps, "temperature": 1.0, "n_samples": 256,
            "metrics": {"entropy": entropy, "gen_ppl": gen_ppl}, "_file": name, **SAME}


# the teacher at 1024 steps: GenPPL 4 at entropy 2.9 (T 0.8), 8 at 3.0 (T 0.9), 10 at 3.1 (T 1)
SWEEP = [teacher(0.8, 2.9, 4.0), teacher(0.9, 3.0, 8.0), teacher(1.0, 3.1, 10.0)]


def test_a_bracketed_entropy_gives_the_exact_ratio():
    # at entropy 2.95 the frontier is the geometric mean of 4 and 8 (log GenPPL linear in entropy)
    found = frontier_distance(student(2, 2.95, 4 * math.sqrt(2) * 3), [*SWEEP, student(2, 2.95, 1.0)])
    assert found == {"ratio": pytest.approx(3.0), "bound": "="}


def test_outside_the_sweep_the_ratio_is_bounded_by_its_end_points():
    assert frontier_distance(student(1, 2.5, 40.0), SWEEP) == {"ratio": 10.0, "bound": "≥"}   # ÷ 4, at least
    assert frontier_distance(student(1, 3.3, 40.0), SWEEP) == {"ratio": 4.0, "bound": "≤"}    # ÷ 10, at most
    # a sweep whose GenPPL does not rise with entropy bounds nothing
    bent = [teacher(0.8, 2.9, 4.0), teacher(0.9, 3.0, 3.0), teacher(1.0, 3.1, 10.0)]
    assert frontier_distance(student(1, 2.5, 40.0), bent) == {"ratio": None, "bound": None}


def test_a_bound_settles_the_target_only_on_its_side():
    assert meets({"ratio": 3.5, "bound": "≥"}, 3.0) is False      # at least 3.5: missed
    assert meets({"ratio": 2.5, "bound": "≥"}, 3.0) is None       # at least 2.5: could be either
    assert meets({"ratio": 2.5, "bound": "≤"}, 3.0) is True       # at most 2.5: met
    assert meets({"ratio": 2.9, "bound": "="}, 3.0) is True
    assert meets({"ratio": None, "bound": None}, 3.0) is None
    # K = 8 also asks for entropy: a ratio below 1 at too low an entropy is a miss
    assert meets({"ratio": 0.9, "bound": "="}, 1.0, entropy=0.95, least_entropy=0.97) is False
    assert meets({"ratio": 0.9, "bound": "="}, 1.0, entropy=0.98, least_entropy=0.97) is True


def test_the_best_row_at_each_k_and_every_row_are_listed():
    rows = [*SWEEP, student(8, 3.05, 9.0 * 0.99, "a8.json"), student(8, 2.95, 4 * math.sqrt(2) * 0.9, "b8.json"),
            student(1, 2.5, 40.0, "c1.json")]
    entries = target_entries(rows)
    assert [e["record"]["_file"] for e in entries] == ["b8.json", "a8.json", "c1.json"]
    # b8 beats the frontier (0.9) but its entropy is 2.95 / 3.1 = 0.952 of the teacher's at T = 1: missed
    assert [e["met"] for e in entries] == [False, True, False]
    lines = target_lines(rows)
    # the best row at K is one that meets the target, the closest one otherwise
    assert "| 8 | ≤ 1, H ÷ teacher@1024 ≥ 0.97 | a8.json | 0.996 | met | 2 | 1 |" in lines
    assert "| 1 | ≤ 3 | c1.json | ≥ 10 | missed | 1 | 0 |" in lines


def test_a_fast_student_is_set_beside_the_ar_at_its_entropy():
    from experiments.reports.targets import speed_lines

    def ar(temperature, entropy, gen_ppl, mauve):
        return {"method": "sample", "teacher": "ar_lm", "temperature": temperature, "n_samples": 256, "steps": 127,
                "metrics": {"entropy": entropy, "gen_ppl": gen_ppl, "mauve_ar": mauve}, "_file": f"ar{temperature}.json"}

    one_step = {**student(1, 2.95, 50.0, "idlm1.json"), "student_path": "checkpoints/idlm-mdlm-shakespeare-small"}
    one_step["metrics"]["mauve_ar"] = 0.01
    rows = [ar(0.8, 2.9, 4.0, 0.5), ar(0.9, 3.0, 16.0, 0.7), {**ar(0.9, 3.0, 1.0, 0.0), "top_p": 0.9}, one_step]
    benchmark = {"rows": [{"name": "ar_lm-kv-cache", "batch_size": 32, "seconds_per_sample": 0.06},
                          {"name": "idlm-mdlm-student-1step", "batch_size": 32, "seconds_per_sample": 0.02},
                          {"name": "idlm-mdlm-student-8steps", "batch_size": 32, "seconds_per_sample": 0.2},
                          {"name": "idlm-mdlm-student-1step", "batch_size": 1, "seconds_per_sample": 0.01}]}
    # 3× faster; the AR at entropy 2.95 (top-p rows left out): the geometric mean of 4 and 16
    assert speed_lines(rows, benchmark)[2:] == [
        "| idlm-mdlm-student-1step | 3× | 50 | 2.95 | 0.01 | 8 | 0.5 (T 0.8) / 0.7 (T 0.9) | idlm1.json |"]
    assert speed_lines(rows, {"rows": []}) == []
