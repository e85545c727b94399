"""Measure one distillation update at the papers' model size on this machine; count its FLOPs; estimate GPU time.

    python -m experiments.benchmark_step method=idlm teacher=mdlm corpus=openwebtext preset=base distill.batch_size=1 \
        distill.global_batch=512 distill.max_steps=100000 results_dir=results
    python -m experiments.benchmark_step method=dlm_one task=qqp preset=base distill.batch_size=4 \
        distill.global_batch=128 distill.max_steps=50000 results_dir=results

Random weights and random token ids (the cost of a step does not depend on either). One update = the fake step and
the generator step of core/distill.py at micro-batch distill.batch_size, timed after one warm-up update. FLOPs are
counted by torch's FlopCounterMode on one update (matrix products and attention, forward and backward); the time is the
median of TIMED_UPDATES further updates, under the loop's autocast (`distill.precision`, auto by default).

Writes <results_dir>/benchmarks/benchmark-*.json. The row holds the measurement and the estimates derived from it,
stated as estimates: the FLOPs of the whole run
(distill.global_batch × distill.max_steps) divided by a GPU's throughput (`GPU`, an assumed utilisation), and the
memory of the trained state (weights, gradients, AdamW moments, EMA; frozen teacher) plus the activations of one
micro-batch, read as the growth of this process's resident memory during the measured update.
"""
from __future__ import annotations

import os
import resource
import statistics
import time
from pathlib import Path

import torch
from torch.utils.flop_counter import FlopCounterMode

from core.checkpoint import atomic_write_json
from core.evaluate.results import current_command, git_commit, utc_timestamp
from core.paths import BENCHMARKS, RESULTS_DIR
from core.precision import announce_precision, native_bf16
from core.training import autocast_context
from experiments.cli import run_cli
from experiments.config import parse_args
from experiments.setup import corpus_tokenizer_name, global_batch, resolve_device

# A100 80GB: dense TF32 tensor-core peak; 35% of it is a typical sustained fraction for a 12-layer transformer
GPU = {"name": "A100-80GB", "peak_flops": 156e12, "assumed_utilisation": 0.35}
TIMED_UPDATES = 5


def idlm_models(cfg):
    from core.networks.dit import DiT, dit_config
    from core.tokenizers import load_tokenizer
    from core.networks import copy_for_training
    from idlm.method import IDLMSettings, idlm_method
    from teachers.registry import build_process

    process = build_process(cfg.teacher, {"vocab_size": load_tokenizer(corpus_tokenizer_name(cfg.corpus)).vocab_size})
    teacher = DiT(dit_config(cfg.preset, process.network_vocab_size)).eval().requires_grad_(False)
    batch = torch.randint(process.vocab_size, (cfg.distill.batch_size, cfg.data.seq_len))
    student, fake = (copy_for_training(teacher, dropout=cfg.distill.dropout) for _ in range(2))   # as experiments.idlm
    return idlm_method(process, teacher, IDLMSettings()), teacher, student, fake, batch


def dlm_one_models(cfg):
    from core.networks.diffuseq_net import DiffuSeqNet, diffuseq_config
    from core.discriminator import FakeScoreNetwork
    from core.networks import copy_for_training
    from dlm_one.method import VOCABULARY, DLMOneSettings, dlm_one_method
    from dlm_one.stages import PAPER_T_INIT, paper_stage
    from teachers.diffuseq import DiffuSeqProcess

    seq_len, vocab = 128, 30522                    # DiffuSeq's QQP / Quasar-T / Wiki-Auto setting, full BERT vocab
    teacher = DiffuSeqNet(diffuseq_config(cfg.preset, vocab, max_position_embeddings=512)).eval().requires_grad_(False)
    settings = DLMOneSettings(t_init=PAPER_T_INIT, stage=paper_stage(cfg.task, 1).losses)
    method = dlm_one_method(DiffuSeqProcess(2000), teacher, teacher.get_embeds, settings)
    m = cfg.distill.batch_size
    batch = {"input_ids": torch.randint(vocab, (m, seq_len)),
             "input_mask": torch.cat([torch.zeros(m, seq_len // 2), torch.ones(m, seq_len // 2)], 1).long()}
    return method, teacher, copy_for_training(teacher, keep_frozen=VOCABULARY), \
        FakeScoreNetwork(copy_for_training(teacher, keep_frozen=VOCABULARY), "linear"), batch


MODELS = {"idlm": idlm_models, "dlm_one": dlm_one_models}


def update(method, generator, fake, optimizers, batch, autocast) -> None:
    """One fake step then one generator step, as core.distill does them (ψ frozen in the generator step; the
    generator's forward under the loop's autocast)."""
    with torch.no_grad(), autocast():
        sample = method.generate(generator, batch)

    def generator_loss():
        with autocast():
            sample = method.generate(generator, batch)
        return method.generator_loss(fake, sample, batch)[0]
    for model, loss_of, optimizer in ((fake, lambda: method.fake_loss(fake, sample, batch)[0], optimizers[1]),
                                      (generator, generator_loss, optimizers[0])):
        fake.requires_grad_(model is fake)
        optimizer.zero_grad(set_to_none=True)
        loss_of().backward()
        optimizer.step()
    fake.requires_grad_(True)


def resident_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize()


def main(argv: list[str]) -> int:
    cfg = parse_args(argv)
    if cfg is None:
        return 0
    if cfg.method not in MODELS:
        raise ValueError(f"benchmark_step measures method=idlm or method=dlm_one, not {cfg.method}")
    device = resolve_device(cfg.device)
    torch.manual_seed(cfg.seed)
    method, teacher, generator, fake, batch = MODELS[cfg.method](cfg)
    for module in (teacher, generator, fake):
        module.to(device)
    batch = batch.to(device) if torch.is_tensor(batch) else {k: v.to(device) for k, v in batch.items()}
    optimizers = [torch.optim.AdamW(m.parameters(), lr=1e-6) for m in (generator, fake)]
    precision = announce_precision(cfg.distill.precision, device)

    def autocast():
        return autocast_context(device, precision)
    update(method, generator, fake, optimizers, batch, autocast)        # warm-up: allocates the AdamW moments
    before = resident_bytes()
    counter = FlopCounterMode(display=False)
    with counter:
        update(method, generator, fake, optimizers, batch, autocast)
    # timed apart from the FLOP counter (its hooks cost time); the median of a few updates
    times = []
    for _ in range(TIMED_UPDATES):
        start = time.perf_counter()
        update(method, generator, fake, optimizers, batch, autocast)
        times.append(time.perf_counter() - start)
    seconds = statistics.median(times)
    activations = max(0, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 - before)
    flops = counter.get_total_flops()
    trained = sum(p.numel() for m in (generator, fake) for p in m.parameters() if p.requires_grad)
    frozen = sum(p.numel() for p in teacher.parameters())
    # fp32: weights + gradient + two AdamW moments per trained parameter, an EMA of the generator, the teacher
    state_bytes = 4 * (4 * trained + sum(p.numel() for p in generator.parameters()) + frozen)
    rows, steps = global_batch(cfg.distill), cfg.distill.max_steps
    run_flops = flops / cfg.distill.batch_size * rows * steps
    gpu_seconds = run_flops / (GPU["peak_flops"] * GPU["assumed_utilisation"])
    record = {"method": "benchmark_step", "distill_method": cfg.method, "teacher": cfg.teacher, "preset": cfg.preset,
              "precision": precision, "precision_requested": cfg.distill.precision,
              "native_bf16": native_bf16(device), "load_average": os.getloadavg(),
              "corpus": cfg.corpus if cfg.method == "idlm" else None, "task": cfg.task if cfg.method == "dlm_one"
              else None, "micro_batch": cfg.distill.batch_size, "threads": torch.get_num_threads(),
              "measured": {"seconds_per_update": seconds, "seconds_per_update_all": times,
                           "updates_per_second": 1 / seconds, "flops_per_update": flops,
                           "flops_per_second": flops / seconds, "trained_parameters": trained,
                           "teacher_parameters": frozen, "activation_bytes_per_micro_batch": activations},
              "estimate": {"gpu": GPU, "global_batch": rows, "steps": steps, "run_flops": run_flops,
                           "gpu_hours": gpu_seconds / 3600, "cpu_hours_at_measured_rate": seconds / cfg.distill.batch_size
                           * rows * steps / 3600, "state_bytes": state_bytes,
                           "gpu_memory_bytes_at_micro_batch": state_bytes + activations}}
    where = cfg.corpus if cfg.method == "idlm" else cfg.task
    # beside the speed benchmark: a benchmark row is no sampling row of the results table
    path = Path(cfg.results_dir or RESULTS_DIR, BENCHMARKS,
                f"benchmark-{cfg.method}-{cfg.teacher}-{where}-{cfg.preset}-micro{cfg.distill.batch_size}-{precision}"
                f"-threads{torch.get_num_threads()}.json")
    record.update(commit=git_commit(), command=current_command(), timestamp=utc_timestamp(), device=device.type)
    atomic_write_json(path, record)
    print(f"{cfg.method} {cfg.preset}: {seconds:.1f} s and {flops / 1e12:.2f} TFLOP per update of "
          f"{cfg.distill.batch_size} rows on this CPU; whole run {run_flops:.3g} FLOP ≈ {gpu_seconds / 3600:.0f} "
          f"{GPU['name']}-hours (estimate); state {state_bytes / 2**30:.1f} GiB + activations "
          f"{activations / 2**30:.2f} GiB per micro-batch -> {path}")
    return 0


if __name__ == "__main__":
    run_cli(main)
