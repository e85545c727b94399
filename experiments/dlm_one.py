"""`python -m experiments.run method=dlm_one task=qqp|qg|ts`: distil the DiffuSeq teacher with DLM-One, then evaluate.

1. load the teacher (committed `checkpoints/diffuseq-<task>-<preset>`, or teacher_path=), frozen;
2. stage 1, then stage 2 (DLM-One Table 5, `dlm_one/stages.py`; `dlm_one.stages`), each on the core loop and
   resumable in runs/dlm_one-diffuseq-<task>-<preset>/stage<s>; the best student by validation BLEU (1 step, valid
   split) is exported HF-style to .../stage<s>/student, the latest to .../stage<s>/last. Stage 2 starts θ from stage
   1's best student and ψ from the teacher. A stage stopped by distill.max_minutes is not followed by the next one:
   its best-so-far student is evaluated and a rerun of the same command resumes it. A finished stage is not rerun.
   Or evaluate `student_path=<folder>` without training;
3. rows: every stage's student at dlm_one.steps (k = diffuseq.candidates, [PAD] insertion dlm_one.pad_prob) on the
   test sources with DiffuSeq's metric set, the speed-up and paired per-source BLEU gaps against the teacher's rows
   of the task (rows/diffuseq-<task>-<preset>-steps<n>-k1.json, made by method=sample, of results_dir or else
   results/).
"""
from __future__ import annotations

import json
import time
from dataclasses import replace
from pathlib import Path

import torch
from omegaconf import OmegaConf

from core import distributed
from core.checkpoint import atomic_write_json, atomic_write_text
from core.distill import DistillSettings, RoleSettings, distill
from core.evaluate.bootstrap import mean_interval
from core.evaluate.results import write_result
from core.discriminator import FakeScoreNetwork
from core.networks import copy_for_training
from core.paths import RESULTS_DIR, rows_dir
from core.seeding import derived_rng, validation_seed
from dlm_one.generator import student_generate
from dlm_one.method import VOCABULARY, DLMOneSettings, dlm_one_method
from dlm_one.stages import PaperStage, paper_stage, paper_stage_count
from experiments.data_identity import run_provenance, saved_run_config
from experiments.data_lengths import warn_truncation
from experiments.naming import (committed_student_suffix, data_label, method_run_dir, repo_relative, results_dir,
                               row_suffix, run_name)
from experiments.rows import seq2seq_evaluation, seq2seq_test_examples, timed_seq2seq
from experiments.seq2seq import encode_pairs, quick_bleu, train_pairs_and_examples, viewed_references
from experiments.setup import global_batch, teacher_folder
from teachers import registry
from teachers.diffuseq_checkpoint import save_pretrained
from teachers.diffuseq_decode import decode_candidates, tokenizer_from_spec

TEACHER_STEPS = (1, 10, 100, 1000, 2000)   # the teacher rows a student row is paired with, when they exist
DONE_FILE = "done.json"


def stage_settings(cfg, paper: PaperStage, steps: int) -> tuple[DistillSettings, DLMOneSettings]:
    """Loop and loss settings of one stage: Table 5's row, with the CPU-scale overrides of the `dlm_one` block.
    No lr warm-up and constant lr, as the SiD codes."""
    o, d = cfg.dlm_one, cfg.distill

    def role(lr: float) -> RoleSettings:
        return RoleSettings(lr=lr, betas=tuple(o.betas), weight_decay=0.0, warmup_steps=0, grad_clip=o.grad_clip)
    loop = DistillSettings(max_steps=steps, fake_steps=d.fake_steps, generator=role(o.lr or paper.lr),
                           fake=role(o.fake_lr or paper.fake_lr), ema_decay=o.ema_decay, ema_warmup=d.ema_warmup,
                           precision=o.precision, eval_every=o.eval_every, save_every=d.save_every,
                           log_every=d.log_every, max_minutes=d.max_minutes, micro_batch=d.batch_size, seed=cfg.seed)
    losses = paper.losses if o.adversarial else replace(paper.losses, b_adv_fake=0.0, b_adv_generator=0.0)
    return loop, DLMOneSettings(t_init=o.t_init, t_min=o.t_min, t_max=o.t_max, stage=losses)


def student_sampler(process, student, cfg, *, t_init: int, steps: int, candidates: int, pad_prob: float,
                    pad_id: int):
    """sample_ids(batch, seeds) -> ids [B, k, L] (core.contracts.CandidateSampler) for
    teachers.diffuseq_decode.decode_candidates; decoded as the teacher's rows are (diffuseq.clamp)."""
    def sample_ids(batch, seeds):
        return student_generate(process, student, batch, t_init=t_init, steps=steps, k_candidates=candidates,
                                seeds=seeds, pad_prob=pad_prob, pad_id=pad_id, clamp=cfg.diffuseq.clamp)
    return sample_ids


def run_stage(stage: int, steps: int, cfg, teacher, process, spec: dict, data: dict, device, init_folder) -> dict:
    """Distil one stage (or resume it); returns {"finished", "student"} with the folder of its best student."""
    stage_dir = method_run_dir(cfg) / f"stage{stage}"
    best_folder, last_folder = stage_dir / "student", stage_dir / "last"
    if (stage_dir / DONE_FILE).is_file():
        print(f"stage {stage}: finished earlier ({stage_dir / DONE_FILE}); not rerun")
        return {"finished": True, "student": best_folder}
    paper = paper_stage(cfg.task, stage)
    loop, settings = stage_settings(cfg, paper, steps)
    tokenizer, seq_len = data["tokenizer"], spec["seq_len"]

    def validate(network) -> dict:
        sample_ids = student_sampler(process, network, cfg, t_init=settings.t_init, steps=1, candidates=1,
                                     pad_prob=0.0, pad_id=tokenizer.pad_id)
        texts = decode_candidates(sample_ids, data["val_examples"], tokenizer, seq_len=seq_len, candidates=1,
                                  batch_size=cfg.sampling.batch_size, device=device, seed=validation_seed(cfg.seed))
        bleu = quick_bleu(texts, data["val_refs"])
        return {"bleu": bleu, "neg_bleu": -bleu}   # the loop keeps the LOWEST select value

    method = dlm_one_method(process, teacher, teacher.get_embeds, settings, validate=validate, select_key="neg_bleu")
    provenance = run_provenance(cfg, method="dlm_one", stage=stage, distilled_from=str(data["teacher_folder"]),
                                initialised_from=str(init_folder), run_dir=str(stage_dir),
                                dlm_one=OmegaConf.to_container(cfg.dlm_one), losses=vars(settings.stage),
                                lr=loop.generator.lr, fake_lr=loop.fake.lr)

    def export(generator, ema, step: int, best: bool):
        save_pretrained(generator, process, best_folder if best else last_folder, state=ema.full_state_dict(generator),
                        extra={"tokenizer": spec["tokenizer"], "seq_len": seq_len, "task": cfg.task,
                               "student": {"method": "dlm_one", "stage": stage, "t_init": settings.t_init},
                               "provenance": {**provenance, "distill_step": step, "best": best,
                                              "exported": time.strftime("%Y-%m-%d %H:%M:%S")}})

    rows = data["train_rows"]

    def get_batch(step: int, k: int) -> dict:
        g = derived_rng(cfg.seed, f"dlm-one-stage{stage}-batch-{step}-{k}")
        pick = torch.randint(len(rows["input_ids"]), (global_batch(cfg.distill),), generator=g)   # all processes' rows
        return {key: value[pick].to(device) for key, value in rows.items()}

    torch.manual_seed(cfg.seed + stage)
    generator = copy_for_training(registry.load_teacher(init_folder, device).network, dropout=cfg.dlm_one.dropout,
                                  keep_frozen=VOCABULARY)
    # ψ always restarts from the teacher
    fake = FakeScoreNetwork(copy_for_training(teacher, dropout=cfg.dlm_one.dropout, keep_frozen=VOCABULARY),
                            readout=cfg.dlm_one.readout)
    print(f"stage {stage}: θ from {init_folder}, ψ from the teacher; {steps} steps, losses {vars(settings.stage)}, "
          f"lr θ {loop.generator.lr:g} ψ {loop.fake.lr:g}")
    summary = distill(generator=generator, fake=fake, method=method, get_batch=get_batch, run_dir=stage_dir,
                      settings=loop, config=saved_run_config(cfg), device=device, on_checkpoint=export)
    print(f"stage {stage}: step {summary['step']} (finished={summary['finished']}), best {summary['best']}")
    if summary["finished"] and distributed.is_main():
        atomic_write_json(stage_dir / DONE_FILE, summary)
    return {"finished": summary["finished"], "student": best_folder if (best_folder / "config.json").is_file()
            else last_folder}


def distill_stages(cfg, device) -> list[Path]:
    """Every stage's student folder, in order (stops after a stage that did not finish)."""
    source = teacher_folder(cfg)
    loaded = registry.load_teacher(source, device)                          # frozen, never detached from its input
    teacher, process, spec = loaded.network, loaded.process, loaded.config
    tokenizer = tokenizer_from_spec(spec["tokenizer"])
    train_pairs, valid_examples = train_pairs_and_examples(cfg)
    warn_truncation(cfg, "train", spec["seq_len"], teacher=True)
    val_examples = valid_examples[: cfg.dlm_one.val_sources]
    data = {"tokenizer": tokenizer, "teacher_folder": source, "val_examples": val_examples,
            "val_refs": viewed_references(val_examples, tokenizer),
            "train_rows": encode_pairs(train_pairs, tokenizer, spec["seq_len"])}
    stages = cfg.dlm_one.stages or paper_stage_count(cfg.task)
    if cfg.data.path:   # Table 5 is tuned per task: on other data it is a starting point, said so
        print(f"dlm_one: the stage count and losses (DLM-One Table 5) are those tuned for task={cfg.task}, applied "
              f"to data {data_label(cfg)!r} as they are (task= picks another task's; dlm_one.* set them)")
    students, init = [], source
    for stage in range(1, stages + 1):
        steps = cfg.dlm_one.stage1_steps if stage == 1 else cfg.dlm_one.stage2_steps
        outcome = run_stage(stage, steps, cfg, teacher, process, spec, data, device, init)
        students.append(outcome["student"])
        if not outcome["finished"]:
            print(f"stage {stage} stopped before {steps} steps (distill.max_minutes); rerun the command to resume")
            break
        init = outcome["student"]
    return students


def paired_gaps(student_bleus: list[float], cfg, out_dir: Path) -> dict:
    """Per teacher row of the task: mean per-source BLEU (student − teacher) on shared sources, its bootstrap 95%
    interval, and the teacher's seconds/sample ÷ the student's."""
    gaps = {}
    for steps in TEACHER_STEPS:
        # the teacher row with the same sources, seed and data (row_suffix), from the rows being written or else the
        # committed set
        name = f"{run_name(cfg)}-steps{steps}-k1{row_suffix(cfg)}.json"
        path = next((p for p in (rows_dir(out_dir) / name, rows_dir(RESULTS_DIR) / name) if p.is_file()), None)
        if path is None:
            continue
        row = json.loads(path.read_text())
        teacher_bleus = row["metrics"]["single"].get("sentence_bleu")
        if not teacher_bleus:
            continue
        n = min(len(teacher_bleus), len(student_bleus))
        diff = [a - b for a, b in zip(student_bleus[:n], teacher_bleus[:n])]
        gaps[f"teacher_steps{steps}"] = {"row": path.name, "sources": n, "bleu_gap": sum(diff) / n,
                                         "bleu_gap_ci95": list(mean_interval(diff)),
                                         "teacher_bleu": row["metrics"]["single"]["bleu"],
                                         "teacher_seconds_per_sample": row["seconds_per_sample"]}
    return gaps


def evaluate_student(folder: Path, cfg, device) -> Path:
    loaded = registry.load_teacher(folder, device)
    student, process, spec = loaded.network, loaded.process, loaded.config
    tokenizer, seq_len = tokenizer_from_spec(spec["tokenizer"]), spec["seq_len"]
    info, o, k = spec.get("student", {}), cfg.dlm_one, cfg.diffuseq.candidates
    t_init = info.get("t_init", o.t_init)
    sample_ids = student_sampler(process, student, cfg, t_init=t_init, steps=o.steps, candidates=k,
                                 pad_prob=o.pad_prob, pad_id=tokenizer.pad_id)
    examples = seq2seq_test_examples(cfg)

    def texts_of(chunk):
        return decode_candidates(sample_ids, chunk, tokenizer, seq_len=seq_len, candidates=k,
                                 batch_size=cfg.sampling.batch_size, device=device, seed=cfg.seed)
    candidates, speed = timed_seq2seq(texts_of, examples, cfg, device, seq_len=seq_len, nfe=o.steps)
    evaluation = seq2seq_evaluation(candidates, examples, tokenizer, cfg, device)
    selection = "mbr" if "mbr" in evaluation["metrics"] else "single"
    out = results_dir(cfg)
    gaps = paired_gaps(evaluation["metrics"][selection]["sentence_bleu"], cfg, out)
    for gap in gaps.values():
        gap["speedup"] = gap.pop("teacher_seconds_per_sample") / speed["seconds_per_sample"]
    provenance = spec.get("provenance", {})
    stage = info.get("stage", 0)
    record = {"method": "dlm_one", "teacher": "diffuseq", "task": data_label(cfg), "preset": cfg.preset, "steps": o.steps,
              "nfe": o.steps, "candidates": k, "stage": stage, "t_init": t_init, "pad_prob": o.pad_prob,
              "distill_step": provenance.get("distill_step"), "student_path": repo_relative(folder),
              "teacher_path": repo_relative(provenance.get("distilled_from", "")),
              "seconds_per_sample": speed["seconds_per_sample"], "speed": speed, "paired_gaps": gaps, **evaluation}
    # stage 0 = a folder that is no student (e.g. the teacher itself, its one-step map at t_init); t_init is named
    # when it is not the teacher's own one-step level T − 1, the student when it is not a committed folder
    name = f"dlm_one-{run_name(cfg)}-stage{stage}-steps{o.steps}-k{k}" + (f"-pad{o.pad_prob:g}" if o.pad_prob else "") \
        + (f"-tinit{t_init}" if t_init != process.num_steps - 1 else "") + committed_student_suffix(folder) \
        + row_suffix(cfg)
    return write_result(record, out, name)


def run_dlm_one(cfg, device) -> Path:
    students = [Path(cfg.student_path)] if cfg.student_path else distill_stages(cfg, device)
    if not distributed.is_main():   # under torchrun rank 0 alone evaluates and writes the rows
        return None
    paths = [evaluate_student(folder, cfg, device) for folder in students]
    for path in paths[:-1]:   # experiments.run writes the last row's config beside it
        atomic_write_text(path.with_suffix(".config.yaml"), OmegaConf.to_yaml(cfg))
        print(f"wrote {path}")
    return paths[-1]
