"""method=sample: sample a pretrained teacher at `steps` and score it. A discrete teacher (MDLM, SEDD, Duo,
duo_distilled) on unconditional text (GenPPL under the evaluator, entropy, the distribution metrics, seconds per
sample), DiffuSeq on its seq2seq task with DiffuSeq's metric set, the AR baselines by their own recipes
(experiments.ar_baseline)."""
from __future__ import annotations

from pathlib import Path

from experiments.naming import data_label, repo_relative, results_dir, row_suffix, run_name, sample_row_name
from experiments.rows import score_model, seq2seq_evaluation, seq2seq_test_examples, teacher_row, timed_seq2seq


def run_teacher(cfg, device) -> Path:
    from experiments import ar_baseline

    runner = {"diffuseq": run_seq2seq, "ar_lm": ar_baseline.run_lm, "ar_seq2seq": ar_baseline.run_seq2seq}
    return runner.get(cfg.teacher, run_sample)(cfg, device)


def run_sample(cfg, device) -> Path:
    from core.evaluate.results import write_result
    from experiments.loading import load_checked_teacher

    teacher, folder = load_checked_teacher(cfg, device)
    return write_result(teacher_row(cfg, folder, score_model(teacher, cfg, device)), results_dir(cfg),
                        sample_row_name(cfg))


def run_seq2seq(cfg, device) -> Path:
    """Sample the DiffuSeq teacher on the task's test sources at `steps` and compute DiffuSeq's metric set."""
    from core.evaluate.results import write_result
    from experiments.data_lengths import warn_truncation
    from teachers.diffuseq_decode import generate_texts, tokenizer_from_spec
    from experiments.setup import teacher_folder
    from teachers.registry import load_teacher

    folder = teacher_folder(cfg)
    teacher = load_teacher(folder, device)
    model, process = teacher.network, teacher.process
    tokenizer, seq_len = tokenizer_from_spec(teacher.tokenizer_name), teacher.seq_len
    examples = seq2seq_test_examples(cfg)
    warn_truncation(cfg, "test", seq_len, teacher=True)

    def texts_of(chunk):
        return generate_texts(process, model, chunk, tokenizer, seq_len=seq_len, steps=cfg.steps,
                              candidates=cfg.diffuseq.candidates, sampler=cfg.diffuseq.sampler,
                              respace=cfg.diffuseq.respace, clamp=cfg.diffuseq.clamp,
                              batch_size=cfg.sampling.batch_size, device=device, seed=cfg.seed)
    candidates, speed = timed_seq2seq(texts_of, examples, cfg, device, seq_len=seq_len, nfe=cfg.steps)
    record = {"method": "sample", "teacher": "diffuseq", "task": data_label(cfg), "preset": cfg.preset, "steps": cfg.steps,
              "nfe": cfg.steps, "candidates": cfg.diffuseq.candidates, "sampler": cfg.diffuseq.sampler,
              "respace": cfg.diffuseq.respace, "clamp": cfg.diffuseq.clamp,
              "seconds_per_sample": speed["seconds_per_sample"], "speed": speed,
              "teacher_path": repo_relative(folder),
              **seq2seq_evaluation(candidates, examples, tokenizer, cfg, device)}
    name = f"{run_name(cfg)}-steps{cfg.steps}-k{cfg.diffuseq.candidates}{row_suffix(cfg)}"
    return write_result(record, results_dir(cfg), name)
