"""`python -m experiments.run method=sdtt teacher=mdlm steps=K`: SDTT (baselines/sdtt.py) of the MDLM teacher from
`sdtt.base_steps` down to K steps, then the student's rows beside the controls (experiments/rounds.py).

The recipe on the pretraining loop: at the start of every round of `sdtt.steps_per_round` optimizer steps the frozen
teacher takes the student's raw weights (the public code) and dt doubles; the loss is `sdtt.loss` between the
student's one step and the teacher's two (`sdtt.teacher_grid`). Validation: the SDTT loss at the current dt on fixed
held-out rows (`train.eval_batches` batches), every `distill.eval_every` steps.
"""
from __future__ import annotations

from omegaconf import OmegaConf

from experiments.naming import repo_relative
from experiments.recipe import Recipe
from experiments.setup import corpus_blocks


def sdtt_settings(cfg):
    from baselines.sdtt import SDTTSettings

    s = cfg.sdtt
    return SDTTSettings(base_steps=s.base_steps, final_steps=cfg.steps, steps_per_round=s.steps_per_round,
                        loss=s.loss, teacher_grid=s.teacher_grid)


def sdtt_recipe(cfg, mdlm, mdlm_folder, provenance: dict, export_dir) -> Recipe:
    """SDTT of a loaded MDLM model `mdlm` (a registry.Teacher whose network is the trainable student)."""
    from baselines.rounds import refresh_round_teacher, round_starts
    from baselines.sdtt import sdtt_loss, sdtt_step_size
    from core.networks import copy_for_training
    from teachers.registry import save_teacher

    student = mdlm.network
    frozen = copy_for_training(student, frozen=True)
    settings = sdtt_settings(cfg)
    # the student is trained on blocks of the teacher's own length, whatever data.seq_len says
    train_blocks, valid_blocks, _ = corpus_blocks(OmegaConf.merge(cfg, {"data": {"seq_len": mdlm.seq_len}}),
                                                  mdlm.tokenizer_name)
    dt_now = {"dt": 0.0}

    def before_step(step, model, ema):
        if round_starts(step, settings.steps_per_round):
            refresh_round_teacher(frozen, model)       # the public code: raw weights, not the EMA
        dt_now["dt"] = sdtt_step_size(step, settings)

    def loss_fn(model, batch):
        x0, _ = batch
        return sdtt_loss(mdlm.process, model, frozen, x0, dt=dt_now["dt"], settings=settings)

    def export(model, ema, step):
        save_teacher(export_dir, family=mdlm.family, network=model, process_config=mdlm.process.config(),
                     tokenizer_name=mdlm.tokenizer_name, seq_len=mdlm.seq_len, state=ema.full_state_dict(model),
                     dtype=cfg.train.export_dtype,
                     provenance={**provenance, "train_step": step, "distilled_from": repo_relative(mdlm_folder),
                                 "rounds": settings.rounds})

    # the frozen teacher is part of the training state: a resumed run must not restart from the original MDLM
    return Recipe(student, loss_fn, train_blocks, valid_blocks, export, "sdtt_loss", before_step=before_step,
                  stateful={"sdtt_frozen_teacher": frozen})


def run_sdtt(cfg, device):
    from experiments.rounds import run_round_method

    return run_round_method(cfg, device, sdtt_recipe, total_steps=sdtt_settings(cfg).total_steps)
