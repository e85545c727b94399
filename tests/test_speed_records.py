"""The speed benchmark's records per seq2seq task: benchmark_speed writes another task's seq2seq samplers to
speed-<task>.json, and the seq2seq tables read each task's speed-ups from its own record."""
import json

import pytest

from experiments.reports.seq2seq import load_benchmarks, sampler_times


def speed_record(task: str, per_step: float) -> dict:
    rows = [{"name": f"diffuseq-{task}-teacher-10steps", "batch_size": 32, "steps": 10,
             "seconds_per_sample": 10 * per_step},
            {"name": f"dlm_one-{task}-student-1step", "batch_size": 32, "steps": 1, "seconds_per_sample": 0.02}]
    return {"kind": "speed_benchmark", "task": task, "command": "c", "commit": "0123456789", "rows": rows}


def test_each_task_reads_its_own_speed_record(tmp_path):
    folder = tmp_path / "benchmarks"
    folder.mkdir()
    (folder / "speed.json").write_text(json.dumps(speed_record("qqp", 0.01)))
    (folder / "speed-qg.json").write_text(json.dumps(speed_record("qg", 0.03)))
    benchmarks = load_benchmarks(tmp_path)
    assert sorted(benchmarks) == ["qg", "qqp"]
    assert sampler_times(benchmarks, "qg")["diffuseq_per_step"] == pytest.approx(0.03)
    assert sampler_times(benchmarks, "qqp")["diffuseq_per_step"] == pytest.approx(0.01)
    assert sampler_times(benchmarks, "ts") is None
    (folder / "speed-qqp.json").write_text(json.dumps(speed_record("qqp", 0.02)))   # wins over speed.json's qqp
    assert sampler_times(load_benchmarks(tmp_path), "qqp")["diffuseq_per_step"] == pytest.approx(0.02)
    assert load_benchmarks(tmp_path / "elsewhere") == {}


def test_another_task_times_only_its_seq2seq_samplers_into_its_own_record(tmp_path):
    from experiments.benchmark_speed import main
    assert main(["--task", "qg", "--batch-sizes", "1", "--repeats", "1", "--results-dir", str(tmp_path)]) == 0
    record = json.loads((tmp_path / "benchmarks" / "speed-qg.json").read_text())
    assert [r["name"] for r in record["rows"]] == ["dlm_one-qg-student-1step", "diffuseq-qg-teacher-10steps",
                                                   "ar_seq2seq-qg-greedy-kv-cache"]
    assert record["task"] == "qg" and record["rows"][0]["tokens_per_second"] > 0
    # the rounding samplers say how many of their rounded positions needed the full scan; the AR rounds nothing
    student, teacher, ar = record["rows"]
    assert student["rounding_rows"] > 0 and 0.0 <= student["rounding_full_scan_fraction"] <= 1.0
    assert teacher["rounding_rows"] == 10 * student["rounding_rows"]   # 10 steps, each rounding every target row
    assert student["vocabulary_size"] == teacher["vocabulary_size"] > 10_000 and "rounding_rows" not in ar
    text = (tmp_path / "benchmarks" / "speed-qg.md").read_text()
    assert "DLM-One student (1 step) vs DiffuSeq at batch 1" in text and "IDLM" not in text
    assert f"* dlm_one-qg-student-1step at batch 1: {student['rounding_full_scan_fraction']:.1%} of its " in text
    assert not (tmp_path / "benchmarks" / "README.md").exists()
