"""`python -m experiments.run method=idlm teacher=mdlm|sedd|duo|duo_distilled steps=K`: distil, then evaluate with
controls.

1. load the teacher (committed, or teacher_path=), frozen;
2. distil it with IDLM on the core loop (resumable in runs/idlm-<teacher>-<corpus>-<preset>, see methods.idlm_folder_fields; a
   finished run is not retrained), keeping the best student by validation GenPPL among checkpoints whose sample entropy stays at least
   `idlm.select_min_entropy_ratio` × the teacher's; or evaluate `student_path=<folder>` without training;
3. write the student's row beside its controls (experiments.controls): the teacher's temperature sweeps at K and
   at 1024 steps, the ratios to both frontiers, and the entropy-matched teacher at K.
"""
from __future__ import annotations

import time
from pathlib import Path

import torch
from omegaconf import OmegaConf

from core import distributed
from core.cost import RunCost
from core.networks import copy_for_training
from experiments.data_identity import run_provenance
from experiments.naming import method_run_dir, repo_relative
from experiments.setup import corpus_blocks
from experiments.students import (block_batches, distil_and_write_rows, distill_settings, run_alternating,
                                  selecting_validation)
from idlm.method import IDLMSettings, fake_network, idlm_method


def distill_student(cfg, teacher, teacher_folder: Path, device, evaluator) -> Path:
    """Run (or resume) IDLM; returns the folder of the best student (HF-style, loadable with load_teacher)."""
    from teachers.registry import build_process, save_teacher

    run_dir = method_run_dir(cfg)
    best_folder, last_folder = run_dir / "student", run_dir / "last"
    # the student is trained on blocks of the teacher's own length, whatever data.seq_len says
    train_blocks, _, _ = corpus_blocks(OmegaConf.merge(cfg, {"data": {"seq_len": teacher.seq_len}}),
                                       teacher.tokenizer_name)
    student_process_config = teacher.process.student_config()
    student_process = build_process(teacher.family, student_process_config)
    validate_and_select, reference = selecting_validation(cfg, teacher, student_process, device, evaluator,
                                                          steps=cfg.idlm.val_steps, samples=cfg.idlm.val_samples,
                                                          min_entropy_ratio=cfg.idlm.select_min_entropy_ratio)
    settings = IDLMSettings(loss_time=cfg.idlm.loss_time, t_min=teacher.process.t_min, grid_steps=cfg.idlm.grid_steps,
                            adversarial=cfg.idlm.adversarial,
                            fake_weights=tuple(cfg.idlm.fake_weights),
                            generator_weights=tuple(cfg.idlm.generator_weights))
    method = idlm_method(teacher.process, teacher.network, settings, validate=validate_and_select, select_key="select")
    provenance = run_provenance(cfg, method="idlm", corpus=cfg.corpus, distilled_from=repo_relative(teacher_folder),
                                run_dir=repo_relative(run_dir), teacher_validation=reference,
                                idlm=OmegaConf.to_container(cfg.idlm), distill=OmegaConf.to_container(cfg.distill))

    cost = RunCost()

    def export(generator, ema, step: int, best: bool):
        save_teacher(best_folder if best else last_folder, family=teacher.family, network=generator,
                     process_config=student_process_config, tokenizer_name=teacher.tokenizer_name,
                     seq_len=teacher.seq_len, state=ema.full_state_dict(generator), dtype=cfg.train.export_dtype,
                     provenance={**provenance, "distill_step": step, "best": best,
                                 "cost": cost.summary(step, distributed.world_size()),
                                 "exported": time.strftime("%Y-%m-%d %H:%M:%S")})

    torch.manual_seed(cfg.seed)
    generator = copy_for_training(teacher.network, dropout=cfg.distill.dropout)
    fake = fake_network(teacher.network, settings, dropout=cfg.distill.dropout)
    return run_alternating(cfg, run_dir, settings=distill_settings(cfg), device=device, generator=generator,
                           fake=fake, method=method, get_batch=block_batches(cfg, train_blocks, device, "idlm"),
                           on_checkpoint=export, cost=cost)


def run_idlm(cfg, device) -> Path | None:
    return distil_and_write_rows(cfg, device, distill_student, fields=lambda provenance: {
        "loss_time": provenance.get("idlm", {}).get("loss_time")})
