"""Result JSON schema, table generation, speed benchmark and temperature matching."""
import json
import math
import os

import pytest
import torch

os.environ["HF_HUB_OFFLINE"] = "1"

from core.errors import DataError  # noqa: E402
from core.evaluate.results import (SAMPLE_TEXTS, load_results, load_samples, samples_path,  # noqa: E402
                                   validate_result, write_result)
from core.evaluate.speed import benchmark  # noqa: E402
from core.evaluate.temperature_match import match_temperature  # noqa: E402
from experiments.reports.__main__ import main as reports_main  # noqa: E402
from experiments.reports.readme import write_readme  # noqa: E402


def unconditional_record():
    return {"method": "idlm", "teacher": "mdlm", "steps": 4, "nfe": 4, "n_samples": 8, "seconds_per_sample": 0.25,
            "evaluator": "reference-ar:runs/ar", "seed": 1,
            "metrics": {"gen_ppl": 41.5, "gen_ppl_ci95": [38.25, 45.0], "entropy": 5.1, "mauve": 0.62},
            "samples": ["first | sample", "second sample", "third", "fourth is not shown"]}


def seq2seq_record():
    return {"method": "dlm_one", "task": "qqp", "stage": 1, "steps": 1, "nfe": 1, "n_samples": 8,
            "seconds_per_sample": 0.01,
            "evaluator": "all-MiniLM-L6-v2", "seed": 2,
            "metrics": {"single": {"bleu": 0.21, "sacrebleu": 18.2, "rouge_l": 0.5, "bertscore": 0.8, "dist1": 0.97}},
            "samples": [{"source": "how do i learn?", "reference": "how to learn?", "generated": "how learn?"}]}


def test_write_result_adds_provenance_and_round_trips(tmp_path):
    path = write_result(unconditional_record(), tmp_path, "idlm_mdlm_4steps")
    record = json.loads(path.read_text())
    for key in ("commit", "command", "timestamp", "device"):
        assert record[key]
    assert record["load_average"] == round(record["load_average"], 2) >= 0
    assert record["command"].startswith("python ")
    assert [p.name for p in (tmp_path / "rows").iterdir()] == ["idlm_mdlm_4steps.json"]   # no temp file left behind
    assert load_results(tmp_path)[0]["metrics"]["gen_ppl"] == 41.5


def test_a_row_of_another_student_is_not_written_over(tmp_path):
    """Two students whose rows share a name: the second is refused with both folders named and the first row kept;
    the same student's row is rewritten."""
    first = write_result(dict(seq2seq_record(), student_path="checkpoints/dlm_one-qg-small-stage1"), tmp_path, "row")
    kept = first.read_text()
    with pytest.raises(DataError, match="holds the row of the student checkpoints/dlm_one-qg-small-stage1, and this "
                                        "row's student is runs/other/stage1/student"):
        write_result(dict(seq2seq_record(), student_path="runs/other/stage1/student"), tmp_path, "row")
    assert first.read_text() == kept
    again = write_result(dict(seq2seq_record(), student_path="checkpoints/dlm_one-qg-small-stage1", n_samples=7),
                         tmp_path, "row")
    assert json.loads(again.read_text())["n_samples"] == 7


def test_every_sample_text_is_kept_beside_the_row(tmp_path):
    texts = ["First Citizen:\nBefore we proceed", "  spaces, \"quotes\" and ünïcode  ", ""]
    path = write_result({**unconditional_record(), SAMPLE_TEXTS: texts}, tmp_path, "row")
    record = json.loads(path.read_text())
    assert SAMPLE_TEXTS not in record and record["samples_file"] == "row.samples.json.gz"
    assert samples_path(path) == tmp_path / "rows" / "row.samples.json.gz" and load_samples(path) == texts
    assert [r["_file"] for r in load_results(tmp_path)] == ["row.json"]     # the samples file is not a row
    write_result(record, tmp_path, "row")                                     # rewritten without texts: kept
    assert load_samples(path) == texts
    with pytest.raises(DataError, match=r"no stored samples \(other.samples.json.gz\)"):
        load_samples(tmp_path / "other.json")
    samples_path(path).write_bytes(b"not gzip")
    with pytest.raises(DataError, match=r"row.samples.json.gz: unreadable samples file"):
        load_samples(path)


def test_rows_written_under_the_old_sampling_name_read_as_the_cli_name(tmp_path):
    for name, method in (("old", "teacher"), ("old_matched", "teacher (entropy-matched)"), ("new", "sample")):
        write_result(dict(unconditional_record(), method=method), tmp_path, name)
    assert [r["method"] for r in load_results(tmp_path)] == ["sample", "sample", "sample (entropy-matched)"]


def test_missing_keys_are_named(tmp_path):
    record = unconditional_record()
    del record["nfe"], record["teacher"]
    with pytest.raises(ValueError, match=r"missing required keys \['nfe', 'teacher or task'\]"):
        write_result(record, tmp_path, "bad")
    assert not list(tmp_path.iterdir())
    with pytest.raises(ValueError, match="bad.json: missing required keys"):
        (tmp_path / "bad.json").write_text(json.dumps({"method": "x"}))
        load_results(tmp_path)
    with pytest.raises(ValueError, match="'commit'"):
        validate_result({k: v for k, v in unconditional_record().items()}, "x")


def test_table_from_two_results(tmp_path):
    write_result(unconditional_record(), tmp_path, "a_uncond")
    write_result(seq2seq_record(), tmp_path, "b_seq2seq")
    out = write_readme(tmp_path)
    text = out.read_text()
    assert "| idlm | mdlm | 4 | 4 | 41.5 | [38.25, 45] | 5.1 | 0.62 | 0.25 | 8 | reference-ar:runs/ar | a_uncond.json |" in text
    assert "| dlm_one | qqp | 1 | 1 | 0.21 | 18.2 | 0.5 | 0.8 | 0.97 | 0.01 | 8 | b_seq2seq.json |" in text
    assert "first | sample" in text and "third" in text and "fourth is not shown" not in text
    assert "generated: how learn?" in text
    # the command writes the same file; a broken row stops it, naming the row, before anything is written
    (tmp_path / "README.md").unlink()
    assert reports_main(["tables", "--results-dir", str(tmp_path)]) == 0
    assert (tmp_path / "README.md").read_text() == text
    assert {p.name for p in (tmp_path / "tables").iterdir()} == {"README.md", "dlm_one.md", "dlm_one_table1_qqp.md",
                                                                 "dlm_one_table1_qqp.csv", "idlm_table1_?.md",
                                                                 "idlm_table1_?.csv"}
    (tmp_path / "rows" / "c.json").write_text("{broken")
    (tmp_path / "README.md").unlink()
    with pytest.raises(DataError, match=r"rows/c\.json:1"):
        reports_main(["tables", "--results-dir", str(tmp_path)])
    assert not (tmp_path / "README.md").exists()


def test_rows_are_written_to_rows_and_read_from_there_or_from_a_flat_folder(tmp_path):
    from core.evaluate.results import load_result
    from core.paths import row_file

    path = write_result(unconditional_record(), tmp_path, "new")
    assert path == tmp_path / "rows" / "new.json"
    # a folder from before rows/ existed keeps its rows flat: both are read, a name in rows/ wins
    (tmp_path / "old.json").write_text(json.dumps({**json.loads(path.read_text()), "steps": 2}))
    (tmp_path / "new.json").write_text(json.dumps({**json.loads(path.read_text()), "steps": 3}))
    assert [(r["_file"], r["steps"]) for r in load_results(tmp_path)] == [("new.json", 4), ("old.json", 2)]
    # a row named by its old path results/<name>.json is found in rows/
    write_result(unconditional_record(), tmp_path, "moved")
    assert row_file(tmp_path / "moved.json") == tmp_path / "rows" / "moved.json"
    assert load_result(tmp_path / "moved.json")["steps"] == 4
    assert row_file(tmp_path / "old.json") == tmp_path / "old.json"
    assert row_file(tmp_path / "absent.json") == tmp_path / "absent.json"


def test_seq2seq_examples_come_from_the_most_steps_single_candidate_row(tmp_path):
    def row(steps, candidates, tag):
        record = seq2seq_record()
        record.update(steps=steps, nfe=steps, candidates=candidates,
                      samples=[{"source": f"s{i}", "reference": f"r{i}", "generated": f"{tag}{i}"} for i in range(7)])
        return record
    write_result(row(10, 1, "ten-"), tmp_path, "a")
    write_result(row(100, 1, "hundred-"), tmp_path, "b")
    write_result(row(1000, 10, "mbr-"), tmp_path, "c")   # k > 1 rows are not the showcase
    text = write_readme(tmp_path).read_text()
    shown = [line for line in text.splitlines() if line.startswith("generated: ")]
    assert shown == [f"generated: hundred-{i}" for i in range(5)]


def test_teacher_gap_table_is_computed_from_rows(tmp_path):
    def row(method, steps, ppl, teacher="mdlm", ci=None):
        record = unconditional_record()
        record.update(method=method, teacher=teacher, corpus="shakespeare", steps=steps, nfe=steps, temperature=1.0,
                      metrics={"gen_ppl": ppl, "entropy": 3.0, **({"gen_ppl_ci95": ci} if ci else {})})
        return record
    write_result(row("real_text", 0, 5.0, teacher="none", ci=[4.0, 6.25]), tmp_path, "real")
    write_result(row("teacher", 8, 30.0), tmp_path, "m8")
    write_result(row("teacher", 1024, 10.0, ci=[9.0, 12.0]), tmp_path, "m1024")
    write_result(row("teacher", 1024, 12.0, teacher="sedd"), tmp_path, "s1024")   # no 8-step row: no gap line
    text = write_readme(tmp_path).read_text()
    gaps = text.split("Teacher gaps")[1].split("##")[0]
    assert "| mdlm | shakespeare | 2 | [1.44, 3] | 3 |" in gaps and "sedd" not in gaps   # 9 / 6.25, 12 / 4


def test_benchmark_reports_median_per_sample():
    calls = []
    result = benchmark(lambda: calls.append(1), batch_size=4, n_warmup=2, n_repeat=3, tokens_per_sample=16, nfe=8)
    assert len(calls) == 5
    assert result["nfe"] == 8 and result["batch_size"] == 4 and result["device"] == "cpu"
    assert result["threads"] == torch.get_num_threads()
    assert result["tokens_per_second"] == pytest.approx(16 / result["seconds_per_sample"])


def categorical_entropy(logits, temperature):
    """Exact entropy of softmax(logits / T): increases with T."""
    probs = torch.softmax(torch.tensor(logits, dtype=torch.float64) / temperature, dim=0)
    return float(-(probs * probs.log()).sum())


def test_match_temperature_recovers_known_temperature():
    logits = [3.0, 1.0, 0.5, 0.0, -1.0]
    target = categorical_entropy(logits, 0.8)
    temperature, entropy = match_temperature(lambda t: categorical_entropy(logits, t), target, tol=1e-4, max_iter=30)
    assert temperature == pytest.approx(0.8, abs=1e-3)
    assert abs(entropy - target) <= 1e-4
    with pytest.raises(ValueError, match="outside"):
        match_temperature(lambda t: categorical_entropy(logits, t), math.log(5) + 1)


def test_match_temperature_needs_few_probes_at_the_controls_tolerance():
    """Each probe of the entropy-matched control draws a full sample set, so the search must be frugal: on a smooth
    H(T) the interpolating bracket reaches 0.01 nats in at most 6 probes, the two ends included (this H(T) rises
    about 1.2 nats per unit of T; halving [0.5, 1.5] needs up to 8 probes for these targets)."""
    logits = [3.0, 1.0, 0.5, 0.0, -1.0]
    for wanted in (0.62, 0.8, 1.07, 1.4):
        probes = []

        def entropy(t):
            probes.append(t)
            return categorical_entropy(logits, t)
        target = categorical_entropy(logits, wanted)
        _, entropy_reached = match_temperature(entropy, target, tol=0.01)
        assert abs(entropy_reached - target) <= 0.01 and len(probes) <= 6, (wanted, probes)


def test_paired_step_gap_table_is_the_mean_per_source_difference(tmp_path):
    """Rows pair on their shared prefix of sources: the 2000-step row (4 sources) against a 10-step row (3 sources)
    gives gaps 0.5, 0.5, 0.5 (no spread: interval [0.5, 0.5]); against the MBR row, gaps 0.25, -0.25, 0, 0, whose
    resampled mean is -0.25 with probability 4^-4 ≈ 0.004 and ≤ -0.1875 with 0.035: the 2.5% quantile is -0.1875."""
    def row(steps, candidates, bleus, selection="single"):
        record = seq2seq_record()
        record.update(method="teacher", steps=steps, nfe=steps, candidates=candidates, n_samples=len(bleus),
                      metrics={selection: {"bleu": sum(bleus) / len(bleus), "sentence_bleu": bleus}})
        return record
    write_result(row(2000, 1, [0.75, 0.5, 0.5, 0.25]), tmp_path, "top")
    write_result(row(10, 1, [0.25, 0.0, 0.0]), tmp_path, "ten")
    write_result(row(10, 10, [0.5, 0.75, 0.5, 0.25], selection="mbr"), tmp_path, "ten_mbr")
    gaps = write_readme(tmp_path).read_text().split("Paired step gaps")[1].split("##")[0]
    assert "| qqp | 10 | 2000 | 3 | 0.5 | [0.5, 0.5] |" in gaps
    assert "| qqp | 10, MBR-10 | 2000 | 4 | 0 | [-0.1875, 0.1875] |" in gaps
    assert "| qqp | 2000 |" not in gaps


def test_git_commit_is_dirty_for_code_changes_but_not_for_the_commands_outputs(tmp_path):
    import subprocess

    from core.evaluate.results import git_commit

    def git(*args):
        subprocess.run(["git", *args], cwd=tmp_path, check=True, capture_output=True)
    git("init", "-q")
    (tmp_path / "results").mkdir()
    (tmp_path / "results" / "README.md").write_text("table\n")
    (tmp_path / "code.py").write_text("x = 1\n")
    git("add", ".")
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "init")
    head = git_commit(tmp_path)
    assert len(head) == 40
    (tmp_path / "results" / "README.md").write_text("table, rebuilt by a command\n")
    assert git_commit(tmp_path) == head
    (tmp_path / "code.py").write_text("x = 2\n")
    assert git_commit(tmp_path) == head + "+dirty"
