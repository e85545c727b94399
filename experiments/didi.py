"""`python -m experiments.run method=didi teacher=mdlm steps=K`: DiDi-Instruct, then the student's rows with controls.

1. load the MDLM teacher (committed, or teacher_path=), frozen;
2. distil it with DiDi-Instruct on the core loop (didi/; resumable in runs/didi-<teacher>-<corpus>-<preset>; a
   finished run is not retrained): the student and a discriminator (the loop's fake role) from the teacher's weights,
   one 2-step rollout per micro-batch feeding a discriminator step and then a student step. The best student is kept
   by validation GenPPL at `didi.val_steps` among checkpoints whose entropy stays at least
   `didi.select_min_entropy_ratio` x the teacher's (as IDLM; the authors score checkpoints at 16 steps). Each export
   writes the student (EMA weights) and, beside it, the discriminator (`<folder>-discriminator`); or evaluate
   `student_path=<folder>` without training;
3. write the student's row beside its controls (experiments.controls, as IDLM), sampled with the teacher's ancestral
   sampler or, with didi.rgas=true, with the reward-guided sampler (didi/sampler.py) and the exported discriminator.
"""
from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path

import torch
from omegaconf import OmegaConf

from core import distributed
from core.cost import RunCost
from core.networks import copy_for_training
from didi.discriminator import Discriminator, discriminator_folder, load_discriminator, save_discriminator
from didi.method import DiDiSettings, didi_method
from didi.sampler import rgas_sample
from experiments.data_identity import run_provenance
from experiments.naming import method_run_dir, repo_relative
from experiments.setup import corpus_blocks
from experiments.students import (block_batches, distil_and_write_rows, distill_settings, run_alternating,
                                  selecting_validation)

METHOD_KEYS = ("group_size", "tau", "tau_min", "tau_max", "t_end", "label_smoothing", "reward_clip", "advantage_clip",
               "weight_min", "weight_max", "kl_beta", "entropy_beta")   # the didi block's keys DiDiSettings takes


def didi_distill_settings(cfg):
    """The loop's settings: distill.* as IDLM's, with the per-role optimiser, clipping and EMA warm-up of the didi
    block (the code: student and discriminator learn and clip differently)."""
    d, base = cfg.didi, distill_settings(cfg)
    return replace(base, generator=replace(base.generator, lr=d.lr, grad_clip=d.grad_clip, warmup_steps=d.warmup_steps),
                   fake=replace(base.fake, lr=d.discriminator_lr, grad_clip=d.discriminator_grad_clip,
                                warmup_steps=d.warmup_steps),
                   ema_warmup=d.ema_warmup)


def distill_student(cfg, teacher, teacher_folder: Path, device, evaluator) -> Path:
    """Run (or resume) DiDi-Instruct; returns the folder of the best student (its discriminator beside it)."""
    from teachers.registry import save_teacher

    run_dir = method_run_dir(cfg)
    best_folder, last_folder = run_dir / "student", run_dir / "last"
    train_blocks, _, _ = corpus_blocks(OmegaConf.merge(cfg, {"data": {"seq_len": teacher.seq_len}}),
                                       teacher.tokenizer_name)
    validate_and_select, reference = selecting_validation(cfg, teacher, teacher.process, device, evaluator,
                                                          steps=cfg.didi.val_steps, samples=cfg.didi.val_samples,
                                                          min_entropy_ratio=cfg.didi.select_min_entropy_ratio)
    settings = DiDiSettings(**{k: cfg.didi[k] for k in METHOD_KEYS})
    method = didi_method(teacher.process, teacher.network, settings, validate=validate_and_select,
                         select_key="select")
    provenance = run_provenance(cfg, method="didi", corpus=cfg.corpus, distilled_from=repo_relative(teacher_folder),
                                run_dir=repo_relative(run_dir), teacher_validation=reference,
                                didi=OmegaConf.to_container(cfg.didi), distill=OmegaConf.to_container(cfg.distill))
    cost = RunCost()
    torch.manual_seed(cfg.seed)
    student = copy_for_training(teacher.network, dropout=cfg.distill.dropout)
    discriminator = Discriminator.from_teacher(teacher.network, trainable_blocks=cfg.didi.discriminator_blocks,
                                               dropout=cfg.distill.dropout)

    def export(generator, ema, step: int, best: bool):
        folder = best_folder if best else last_folder
        record = {**provenance, "distill_step": step, "best": best,
                  "cost": cost.summary(step, distributed.world_size()), "exported": time.strftime("%Y-%m-%d %H:%M:%S")}
        # the discriminator first: a student folder never names a discriminator older than itself
        save_discriminator(discriminator_folder(folder), discriminator, provenance=record)
        save_teacher(folder, family=teacher.family, network=generator, process_config=teacher.process.student_config(),
                     tokenizer_name=teacher.tokenizer_name, seq_len=teacher.seq_len,
                     state=ema.full_state_dict(generator), dtype=cfg.train.export_dtype,
                     provenance={**record, "discriminator": repo_relative(discriminator_folder(folder))})

    return run_alternating(cfg, run_dir, settings=didi_distill_settings(cfg), device=device, generator=student,
                           fake=discriminator, method=method,
                           get_batch=block_batches(cfg, train_blocks, device, "didi"),   # one batch, one rollout
                           on_checkpoint=export, cost=cost)


def rgas_sampler(cfg, student_folder: Path, device):
    """The student's sampler for its rows with didi.rgas=true: RGAS with the discriminator exported beside it."""
    discriminator = load_discriminator(discriminator_folder(student_folder), device=device)
    d = cfg.didi

    def sample(model, *, batch_size: int, steps: int, sampling, device, temperature=None):
        return rgas_sample(model.process, model.network, discriminator, batch_size=batch_size, length=model.seq_len,
                           steps=steps, device=device, guidance=(d.guidance_start, d.guidance_end),
                           rerank_fraction=d.rerank_fraction, candidates=d.candidates)
    return sample


def run_didi(cfg, device) -> Path | None:
    return distil_and_write_rows(
        cfg, device, distill_student, sampler_for=(lambda folder: rgas_sampler(cfg, folder, device)) if cfg.didi.rgas
        else None, fields=lambda provenance: {"predictor": "rgas" if cfg.didi.rgas else cfg.sampling.predictor,
                                              "discriminator": provenance.get("discriminator")})
