"""AR baselines: KV-cached decoding equals full recomputation, its per-step cost is constant, left-padded prefixes
see their trained positions, seq2seq rows keep DiffuSeq's layout, and the commands train and score both baselines."""
import json
import shutil
import subprocess
import sys

import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

from teachers.ar import decode_ar, sample_unconditional, seq2seq_decode
from core.errors import ConfigError
from core.evaluate.reference_ar import ar_config, build_ar_model
from core.paths import CHECKPOINTS_DIR, REPO_ROOT
from experiments.ar_baseline import refuse_evaluator
from experiments.config import load_config
from experiments.naming import run_name

V, EOS = 20, 19


@pytest.fixture(scope="module")
def tiny():
    torch.manual_seed(0)
    return build_ar_model(ar_config("tiny", V, 32, eos_id=EOS)).eval()


@pytest.mark.parametrize("top_p", [1.0, 0.9])
def test_kv_cached_sampling_draws_exactly_the_tokens_of_full_recomputation(tiny, top_p):
    draws = []
    for cache in (True, False):
        torch.manual_seed(3)
        ids, calls = sample_unconditional(tiny, batch_size=4, length=32, bos_id=EOS, device="cpu", top_p=top_p,
                                          cache=cache)
        draws.append(ids)
    assert calls == 31 and draws[0].shape == (4, 32) and (draws[0][:, 0] == EOS).all()
    assert torch.equal(draws[0], draws[1])
    assert len(set(map(tuple, draws[0].tolist()))) == 4   # real draws, not a constant sequence


def per_call_costs(model, cache: bool, new_tokens: int = 24):
    """(input length, matmul FLOPs) of every network call of one decode."""
    costs, original = [], model.forward

    def counted(*args, **kwargs):
        with FlopCounterMode(display=False) as counter:
            out = original(*args, **kwargs)
        matmuls = sum(n for op, n in counter.get_flop_counts()["Global"].items() if "mm" in str(op))
        costs.append((kwargs["input_ids"].shape[1], matmuls))
        return out
    model.forward = counted
    try:
        decode_ar(model, torch.full((2, 1), EOS), new_tokens=new_tokens, cache=cache)
    finally:
        del model.forward
    return costs


def test_kv_cached_step_cost_does_not_grow_with_the_prefix(tiny):
    cached = per_call_costs(tiny, cache=True)
    assert [n for n, _ in cached] == [1] * 24                       # one new token per call
    assert len({flops for _, flops in cached}) == 1                 # projections + MLP + head: the same every step
    full = per_call_costs(tiny, cache=False)
    assert [n for n, _ in full] == list(range(1, 25))
    assert full[-1][1] == 24 * cached[-1][1]                        # recomputation grows linearly with the prefix


def test_left_padded_prefix_decodes_as_the_prefix_alone(tiny):
    prefix = torch.randint(0, EOS, (2, 6))
    mask = torch.ones_like(prefix)
    mask[0, :3] = 0                                                  # row 0: a 3-token prefix, left-padded
    padded, _ = decode_ar(tiny, prefix, mask, new_tokens=8, greedy=True)
    alone, _ = decode_ar(tiny, prefix[:1, 3:], new_tokens=8, greedy=True)
    assert torch.equal(padded[0], alone[0])


def test_decoding_stops_once_every_row_has_the_stop_token():
    class Scripted(torch.nn.Module):   # row 0 says token 5 at once, row 1 at its third token
        config = type("C", (), {"n_positions": 16})()

        def forward(self, input_ids, attention_mask, position_ids, use_cache, **_):
            n = attention_mask.shape[1] - 2                       # tokens generated so far
            logits = torch.zeros(2, input_ids.shape[1], 8)
            logits[0, -1, 5] = 1.0
            logits[1, -1, 5 if n >= 2 else 1] = 1.0
            return type("O", (), {"logits": logits, "cache": None, "past_key_values": None})()
    new, calls = decode_ar(Scripted(), torch.zeros(2, 2, dtype=torch.long), new_tokens=10, greedy=True, stop_id=5,
                           cache=False)
    assert calls == 3 and new.tolist() == [[5, 5, 5], [1, 1, 5]]


def test_seq2seq_decode_writes_the_continuation_after_the_condition(tiny):
    ids = torch.tensor([[1, 7, 8, 2, 2, 0, 0, 0], [1, 9, 2, 2, 0, 0, 0, 0]])   # [CLS] src [SEP] [SEP] [PAD]...
    target = torch.tensor([[0, 0, 0, 0, 1, 1, 1, 1], [0, 0, 0, 1, 1, 1, 1, 1]])
    out, calls = seq2seq_decode(tiny, {"input_ids": ids, "input_mask": target}, pad_id=0, sep_id=2, seq_len=8)
    assert out.shape == (2, 1, 8) and torch.equal(out[0, 0, :4], ids[0, :4]) and torch.equal(out[1, 0, :3], ids[1, :3])
    alone, _ = decode_ar(tiny, ids[1:, :3], new_tokens=5, greedy=True, stop_id=2)
    assert out[1, 0, 3:3 + alone.shape[1]].tolist() == alone[0].tolist()[: 5]
    assert 1 <= calls <= 5


def test_config_names_and_refusals():
    assert run_name(load_config(["teacher=ar_seq2seq", "task=qg"])) == "ar_seq2seq-qg-small"
    assert run_name(load_config(["teacher=ar_lm"])) == "ar_lm-shakespeare-small"
    assert load_config(["teacher=ar_seq2seq"]).data.seq_len == 64
    with pytest.raises(ConfigError, match=r"^steps=8 has no effect with teacher=ar_lm"):
        load_config(["teacher=ar_lm", "steps=8"])
    with pytest.raises(ConfigError, match=r"^sampling.top_p=0.9 has no effect with teacher=ar_seq2seq"):
        load_config(["teacher=ar_seq2seq", "sampling.top_p=0.9"])
    with pytest.raises(ConfigError, match="method=idlm distils a discrete diffusion teacher"):
        load_config(["method=idlm", "teacher=ar_lm"])
    evaluator = CHECKPOINTS_DIR / "ar-shakespeare-small"
    with pytest.raises(ConfigError, match="is the GenPPL evaluator itself"):
        refuse_evaluator(evaluator, f"reference-ar:{REPO_ROOT}/checkpoints/../checkpoints/ar-shakespeare-small")
    refuse_evaluator(CHECKPOINTS_DIR / "ar_lm-shakespeare-small", str(evaluator))   # another model: fine


def run(module, *args):
    return subprocess.run([sys.executable, "-m", module, *args], cwd=REPO_ROOT, capture_output=True, text=True,
                          env={"OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1", "PATH": "/usr/bin:/bin"})


TRAIN = ["preset=tiny", "threads=1", "train.max_steps=2", "train.save_every=2", "train.eval_every=2",
         "train.eval_batches=1", "train.batch_size=4"]


def test_unconditional_baseline_trains_apart_from_the_evaluator_and_writes_a_row(tmp_path):
    for teacher, seed in (("ar", 0), ("ar_lm", 1)):   # same seed, same weights: the evaluator would score itself
        out = run("experiments.pretrain", f"teacher={teacher}", f"seed={seed}", f"run_dir={tmp_path / teacher}",
                  "data.seq_len=32", *TRAIN)
        assert out.returncode == 0, out.stderr[-2000:]
    shutil.copytree(tmp_path / "ar" / "pretrained", tmp_path / "copy")
    with pytest.raises(ConfigError, match="is the GenPPL evaluator itself"):   # a copy of its weights is refused too
        refuse_evaluator(tmp_path / "copy", f"reference-ar:{tmp_path / 'ar' / 'pretrained'}")
    out = run("experiments.run", "teacher=ar_lm", "preset=tiny", f"teacher_path={tmp_path / 'ar_lm' / 'pretrained'}",
              f"eval.evaluator={tmp_path / 'ar' / 'pretrained'}", "sampling.num_samples=4", "sampling.batch_size=2",
              "sampling.top_p=0.9", f"results_dir={tmp_path / 'res'}")
    assert out.returncode == 0, out.stderr[-2000:]
    (path,) = (tmp_path / "res" / "rows").glob("ar_lm-shakespeare-tiny-p0.9-n4-*.json")   # top_p, 4 samples, own model
    row = json.loads(path.read_text())
    assert row["teacher"] == "ar_lm" and row["steps"] == row["nfe"] == 31 and row["n_samples"] == 4
    assert row["predictor"] == "kv_cache" and row["top_p"] == 0.9 and row["metrics"]["gen_ppl"] > 0
    card = (tmp_path / "ar_lm" / "pretrained" / "README.md").read_text()
    assert "another seed than the reference GenPPL evaluator" in card


def test_seq2seq_baseline_trains_and_writes_a_row_with_the_diffuseq_metrics(tmp_path):
    out = run("experiments.pretrain", "teacher=ar_seq2seq", "task=qqp", f"run_dir={tmp_path / 's2s'}", *TRAIN)
    assert out.returncode == 0, out.stderr[-2000:]
    out = run("experiments.run", "teacher=ar_seq2seq", "task=qqp", "preset=tiny",
              f"teacher_path={tmp_path / 's2s' / 'pretrained'}", "sampling.num_samples=4", "sampling.batch_size=2",
              "diffuseq.bertscore=false", f"results_dir={tmp_path / 'res'}")
    assert out.returncode == 0, out.stderr[-2000:]
    (path,) = (tmp_path / "res" / "rows").glob("ar_seq2seq-qqp-tiny-greedy-*.json")   # fewer samples, its own model
    row = json.loads(path.read_text())
    assert row["task"] == "qqp" and row["teacher"] == "ar_seq2seq" and row["candidates"] == 1 and row["nfe"] >= 1
    assert {"bleu", "rouge_l", "dist1"} <= set(row["metrics"]["single"]) and len(row["outputs"]) == 4
    card = (tmp_path / "s2s" / "pretrained" / "README.md").read_text()
    assert "restricted to the task's training ids" in card and "| sequence length | 64 |" in card


def test_forward_timer_splits_network_time_from_the_loop_around_it(tiny):
    from core.evaluate.speed import ForwardTimer
    import time
    with ForwardTimer(tiny) as timer:
        for _ in range(3):
            tiny(input_ids=torch.zeros(1, 4, dtype=torch.long))
            time.sleep(0.02)                                         # "sampler" work outside the network
    assert timer.calls == 3 and 0 < timer.seconds < 0.06
    tiny(input_ids=torch.zeros(1, 4, dtype=torch.long))
    assert timer.calls == 3                                          # hooks removed on exit


def test_benchmark_targets_read_the_batch32_rows():
    from experiments.benchmark_speed import table, targets
    rows = [{"name": "idlm-mdlm-student-8steps", "batch_size": 32, "seconds_per_sample": 0.01,
             "overhead_fraction_of_network": 0.04},
            {"name": "ar_lm-kv-cache", "batch_size": 32, "seconds_per_sample": 0.06,
             "overhead_fraction_of_network": 0.5},
            {"name": "dlm_one-qqp-student-1step", "batch_size": 1, "seconds_per_sample": 0.01,
             "overhead_fraction_of_network": 0.12},
            {"name": "idlm-mdlm-student-1step", "steps": 1, "batch_size": 32, "seconds_per_sample": 0.003,
             "overhead_fraction_of_network": 0.02},
            {"name": "idlm-mdlm-student-2steps", "steps": 2, "batch_size": 32, "seconds_per_sample": 0.004,
             "overhead_fraction_of_network": 0.02},
            {"name": "diffuseq-qqp-teacher-10steps", "steps": 10, "batch_size": 1, "seconds_per_sample": 0.5,
             "overhead_fraction_of_network": 0.3}]
    t = targets(rows)
    # DiffuSeq's 0.05 s per step: 0.5 s at 10 steps, 100 s at 2000, against the student's 0.01 s; no pair at batch 32
    assert t["dlm_one_vs_diffuseq"] == [{"batch_size": 1, "teacher_steps_timed": 10,
                                         "vs_steps10": pytest.approx(50.0), "vs_steps2000": pytest.approx(10000.0)}]
    assert t["fastest_le2step_student_batch32"] == "idlm-mdlm-student-1step"
    assert t["fastest_le2step_vs_ar_kv_speedup_batch32"] == pytest.approx(20.0)
    assert t["student8_vs_ar_kv_speedup_batch32"] == pytest.approx(6.0) and t["speedup_met"]
    assert t["idlm_max_overhead_fraction"] == 0.04 and t["idlm_overhead_met"]   # the AR loop is not a target
    assert t["dlm_one_max_overhead_fraction"] == 0.12 and not t["dlm_one_overhead_met"]
    for r in rows:
        r.update(steps=8, network_calls=8, tokens_per_second=1.0, seconds_per_step=0.1, seconds_per_network_call=0.1)
    record = {"command": "c", "commit": "abc", "created": "now", "threads": 1, "device": "cpu",
              "loadavg_before": [0.5, 0, 0], "loadavg_after": [0.7, 0, 0], "rows": rows, "targets": t}
    text = table(record)
    assert "| ar_lm-kv-cache | 32 | 8 | 8 | 0.0600 |" in text and "6.00× (target ≥ 5×: met)" in text
    assert "dlm_one sampler overhead: 12.0% of network time (target ≤ 10%: not met)" in text
    assert "(idlm-mdlm-student-1step) vs KV-cached AR at batch 32: 20.00× (> 1: faster than the AR)" in text
    assert "DLM-One student (1 step) vs DiffuSeq at batch 1: 50× over 10 steps, 10000× over 2000 steps (200 × the " \
           "10-step time; target ≥ 500×: met)" in text


def test_benchmark_measures_only_the_configurations_asked_for(tmp_path):
    from experiments.benchmark_speed import main
    out = tmp_path / "speed.json"
    assert main(["--only", "dlm_one", "--batch-sizes", "1", "--repeats", "1", "--out", str(out)]) == 0
    record = json.loads(out.read_text())
    assert [r["name"] for r in record["rows"]] == ["dlm_one-qqp-student-1step"] and record["device"] == "cpu"
    row = record["rows"][0]
    assert row["network_calls"] == 1 and row["overhead_fraction_of_network"] > -1
    assert "dlm_one sampler overhead" in (tmp_path / "README.md").read_text()
